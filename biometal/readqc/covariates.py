"""Per-base covariates of sequencing reads: what a base-quality model sees.

One row per base (:class:`BaseFeatures`): the reported Phred quality, the machine cycle,
the mate, the read length and the bases around it (``CONTEXT`` each side), all in
*sequencing order* (the order of the FASTQ record, 5' to 3' as the instrument read it).

- :func:`read_features`: the features of every base of reads given as padded arrays
  (FASTQ order); :func:`chunk_features` the same for a flat
  :class:`~biometal.io.fastx.ReadChunk`.
- :func:`aligned_covariates`: features and an error label for every aligned base of a
  coordinate-sorted BAM (the training data of a recalibration table): a base is an error
  when it differs from the reference; positions of known variants are left out, and so
  are ``N`` bases (in the read or the reference). Reverse-strand records are turned back
  into sequencing order (reverse-complemented, cycle counted from the read's 5' end as
  sequenced, hard-clipped bases counted as cycles).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from biometal.io.encoding import ENCODE_LUT

#: Bases each side of a base in :attr:`BaseFeatures.context` (sequencing order).
CONTEXT: int = 4
#: Code of ``N`` (and of a position beyond the read) in :attr:`BaseFeatures.context`.
CODE_N = 4
#: Complement of a base code (A<->T, C<->G, N->N).
COMP_CODE = np.array([3, 2, 1, 0, 4], dtype=np.uint8)
_MIN_MAPQ = 20
_BATCH_READS = 20_000


@dataclass
class BaseFeatures:
    """Covariates of ``n`` bases, one row per base (arrays of equal length ``n``).

    ``quality``: uint8 [n] reported Phred. ``cycle``: int16 [n] 0-based machine cycle
    (position in the read as sequenced). ``mate``: uint8 [n], 0 = read 1 or single-end,
    1 = read 2. ``context``: uint8 [n, 2*CONTEXT+1] base codes (A0 C1 G2 T3, 4 = N or
    beyond the read) in sequencing order, column ``CONTEXT`` the base itself.
    ``read_length``: int16 [n] length of the read the base is in.
    """

    quality: np.ndarray
    cycle: np.ndarray
    mate: np.ndarray
    context: np.ndarray
    read_length: np.ndarray

    def __len__(self) -> int:
        return int(self.quality.shape[0])

    @property
    def base(self) -> np.ndarray:
        """uint8 [n]: the base itself (``context[:, CONTEXT]``)."""
        return self.context[:, CONTEXT]

    def take(self, index: np.ndarray | slice) -> BaseFeatures:
        """The rows ``index`` (a boolean mask, integer indices or a slice)."""
        return BaseFeatures(
            self.quality[index],
            self.cycle[index],
            self.mate[index],
            self.context[index],
            self.read_length[index],
        )

    @classmethod
    def empty(cls) -> BaseFeatures:
        """Zero rows."""
        return cls(
            np.empty(0, np.uint8),
            np.empty(0, np.int16),
            np.empty(0, np.uint8),
            np.empty((0, 2 * CONTEXT + 1), np.uint8),
            np.empty(0, np.int16),
        )

    @classmethod
    def concat(cls, parts: list[BaseFeatures]) -> BaseFeatures:
        """The rows of ``parts`` one after another."""
        if not parts:
            return cls.empty()
        return cls(
            *(
                np.concatenate([getattr(p, f) for p in parts])
                for f in ("quality", "cycle", "mate", "context", "read_length")
            )
        )


def chunk_features(
    codes: np.ndarray, quals: np.ndarray, offsets: np.ndarray, mate: int | np.ndarray = 0
) -> BaseFeatures:
    """Features of reads stored flat: read ``i`` is ``codes[offsets[i]:offsets[i+1]]``.

    ``codes`` uint8 (A0 C1 G2 T3, else N), ``quals`` uint8 Phred, ``offsets`` int64
    [n_reads + 1] (as in :class:`~biometal.io.fastx.ReadChunk`), ``mate`` 0/1 for all reads
    or uint8 [n_reads]. Rows follow the flat base order.
    """
    from biometal.readqc._kernels import base_features

    offsets = np.ascontiguousarray(offsets, dtype=np.int64)
    n = int(offsets[-1] - offsets[0]) if offsets.size else 0
    lengths = np.diff(offsets)
    if lengths.size and int(lengths.max()) > np.iinfo(np.int16).max:
        raise ValueError(f"read of {int(lengths.max())} bases: cycles above 32767 not supported")
    q = np.empty(n, np.uint8)
    cycle = np.empty(n, np.int16)
    context = np.empty((n, 2 * CONTEXT + 1), np.uint8)
    rlen = np.empty(n, np.int16)
    if n:
        base_features(
            np.ascontiguousarray(codes, dtype=np.uint8),
            np.ascontiguousarray(quals, dtype=np.uint8),
            offsets,
            CONTEXT,
            q,
            cycle,
            context,
            rlen,
        )
    if np.ndim(mate) == 0:
        mates = np.full(n, int(mate), np.uint8)
    else:
        mates = np.repeat(np.asarray(mate, dtype=np.uint8), lengths)
    return BaseFeatures(q, cycle, mates, context, rlen)


def read_features(
    codes: np.ndarray, quals: np.ndarray, lengths: np.ndarray, mate: int | np.ndarray = 0
) -> BaseFeatures:
    """Features of every base of every read, reads in order, bases in sequencing order.

    ``codes``: uint8 [n_reads, L] (A0 C1 G2 T3 N4), ``quals``: uint8 [n_reads, L] Phred,
    ``lengths``: int [n_reads] (read ``i`` is ``codes[i, :lengths[i]]``), ``mate``: 0/1 for
    every read or uint8 [n_reads]. Returns ``sum(lengths)`` rows.
    """
    codes = np.asarray(codes)
    quals = np.asarray(quals)
    lengths = np.asarray(lengths, dtype=np.int64)
    if codes.shape != quals.shape or codes.ndim != 2 or lengths.shape != (codes.shape[0],):
        raise ValueError(
            f"codes {codes.shape}, quals {quals.shape}, lengths {lengths.shape}: expected "
            "(n_reads, L), (n_reads, L), (n_reads,)"
        )
    if lengths.size and (lengths.min() < 0 or lengths.max() > codes.shape[1]):
        raise ValueError("lengths must lie in [0, L]")
    keep = np.arange(codes.shape[1])[None, :] < lengths[:, None]
    offsets = np.zeros(lengths.size + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return chunk_features(codes[keep], quals[keep], offsets, mate)


def known_positions(
    known_sites: str | os.PathLike, contigs: Mapping[str, int], reference: str | os.PathLike
) -> dict[str, np.ndarray]:
    """0-based reference positions covered by the REF allele of every VCF record, by contig
    (sorted int64 arrays)."""
    from biometal.variants.vcf_input import vcf_records

    found: dict[str, list[np.ndarray]] = {}
    for _line, rec in vcf_records(known_sites, contigs, reference):
        start = int(rec.start)
        end = max(int(rec.end), start + 1)
        found.setdefault(rec.CHROM, []).append(np.arange(start, end, dtype=np.int64))
    return {k: np.unique(np.concatenate(v)) for k, v in found.items()}


class _Batch:
    """Records of one contig, gathered for the compiled loops."""

    def __init__(self) -> None:
        self.seq: list[bytes] = []  # sequencing-order bases (ASCII, N for hard clips)
        self.qual: list[bytes] = []
        self.lead: list[int] = []  # hard-clipped bases before the stored query (BAM order)
        self.rev: list[bool] = []
        self.mate: list[int] = []
        self.start: list[int] = []
        self.ops: list[int] = []
        self.lens: list[int] = []
        self.cig_off: list[int] = [0]
        self.ref_end = 0

    def __len__(self) -> int:
        return len(self.seq)


def _batch_rows(batch: _Batch, contig: str, fa, masked: np.ndarray | None):
    from biometal.readqc._kernels import aligned_positions

    lengths = np.fromiter((len(s) for s in batch.seq), np.int64, len(batch))
    offsets = np.zeros(lengths.size + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    seq = ENCODE_LUT[np.frombuffer(b"".join(batch.seq), np.uint8)]
    qual = np.frombuffer(b"".join(batch.qual), np.uint8)
    mate = np.asarray(batch.mate, np.uint8)
    feats = chunk_features(seq, qual, offsets, mate)
    cig_ops = np.asarray(batch.ops, np.int64)
    cig_lens = np.asarray(batch.lens, np.int64)
    cig_off = np.asarray(batch.cig_off, np.int64)
    starts = np.asarray(batch.start, np.int64)
    n_max = int(cig_lens[(cig_ops == 0) | (cig_ops == 7) | (cig_ops == 8)].sum())
    r_read = np.empty(n_max, np.int64)
    r_q = np.empty(n_max, np.int64)
    r_pos = np.empty(n_max, np.int64)
    m = aligned_positions(cig_ops, cig_lens, cig_off, starts, r_read, r_q, r_pos)
    r_read, r_q, r_pos = r_read[:m], r_q[:m], r_pos[:m]
    lo = int(starts.min())
    window = ENCODE_LUT[np.frombuffer(fa.fetch(contig, lo, batch.ref_end).encode(), np.uint8)]
    rpos_rel = r_pos - lo
    ref = np.full(m, CODE_N, np.uint8)
    inside = rpos_rel < window.size
    ref[inside] = window[rpos_rel[inside]]
    lead = np.asarray(batch.lead, np.int64)[r_read]
    rev = np.asarray(batch.rev, bool)[r_read]
    idx_in_read = np.where(rev, lengths[r_read] - 1 - (lead + r_q), lead + r_q)
    row = offsets[r_read] + idx_in_read
    read_base = seq[row]
    read_base_ref = np.where(rev, COMP_CODE[np.minimum(read_base, 4)], read_base)
    keep = (read_base < 4) & (ref < 4)
    if masked is not None and masked.size:
        i = np.searchsorted(masked, r_pos)
        hit = masked[np.minimum(i, masked.size - 1)] == r_pos
        keep &= ~hit
    row = row[keep]
    return feats.take(row), read_base_ref[keep] != ref[keep]


def aligned_covariates(
    bam: str | os.PathLike,
    reference: str | os.PathLike,
    known_sites: str | os.PathLike | None = None,
    max_bases: int | None = None,
    region: str | None = None,
    *,
    min_mapq: int = _MIN_MAPQ,
    batch_reads: int = _BATCH_READS,
) -> tuple[BaseFeatures, np.ndarray]:
    """Features and error labels (bool [n]) of the aligned bases of a BAM.

    Every M/=/X base of primary, mapped, non-duplicate, QC-passed records with MAPQ >=
    ``min_mapq``, except positions in ``known_sites`` (a VCF: every reference base of a
    record's REF allele is left out) and ``N`` in the read or the reference. ``error``:
    the read base differs from the reference base. ``region`` (``"chr:1-1000"``) needs a
    BAM index; ``max_bases`` stops after that many bases (in BAM order). Rows: records in
    BAM order, bases in reference order within a record.
    """
    import pysam

    from biometal.errors import BiometalError
    from biometal.io.bam import reference_contigs

    contigs = reference_contigs(reference)
    masked = known_positions(known_sites, contigs, reference) if known_sites else {}
    parts: list[BaseFeatures] = []
    errs: list[np.ndarray] = []
    total = 0
    skip = pysam.FUNMAP | pysam.FSECONDARY | pysam.FSUPPLEMENTARY | pysam.FDUP | pysam.FQCFAIL
    try:
        af = pysam.AlignmentFile(os.fspath(bam), "rb")
    except (OSError, ValueError) as exc:
        raise BiometalError(f"{os.fspath(bam)}: cannot read the BAM ({exc})") from None
    with af, pysam.FastaFile(os.fspath(reference)) as fa:
        try:
            it = af.fetch(region=region) if region else af.fetch(until_eof=True)
        except ValueError as exc:  # no index for a region, unknown contig
            raise BiometalError(f"{os.fspath(bam)}: cannot fetch {region!r} ({exc})") from None
        batch = _Batch()
        contig = None

        def flush() -> bool:
            nonlocal batch, total
            if len(batch):
                f, e = _batch_rows(batch, contig, fa, masked.get(contig))
                if max_bases is not None and total + len(e) > max_bases:
                    take = max_bases - total
                    f, e = f.take(slice(0, take)), e[:take]
                parts.append(f)
                errs.append(e)
                total += len(e)
            batch = _Batch()
            return max_bases is not None and total >= max_bases

        for rec in it:
            if rec.flag & skip or rec.mapping_quality < min_mapq:
                continue
            seq = rec.query_sequence
            qual = rec.query_qualities
            cig = rec.cigartuples
            if seq is None or qual is None or not cig:
                continue
            if rec.reference_name != contig:
                if flush():
                    break
                contig = rec.reference_name
            lead = cig[0][1] if cig[0][0] == 5 else 0
            trail = cig[-1][1] if len(cig) > 1 and cig[-1][0] == 5 else 0
            s = b"N" * lead + seq.encode() + b"N" * trail
            q = bytes(lead) + bytes(qual) + bytes(trail)
            if rec.is_reverse:
                s = s[::-1].translate(_COMP_BYTES)
                q = q[::-1]
            batch.seq.append(s)
            batch.qual.append(q)
            batch.lead.append(lead)
            batch.rev.append(rec.is_reverse)
            batch.mate.append(1 if rec.is_read2 else 0)
            batch.start.append(rec.reference_start)
            batch.ref_end = max(batch.ref_end, rec.reference_end)
            for op, ln in cig:
                batch.ops.append(op)
                batch.lens.append(ln)
            batch.cig_off.append(len(batch.ops))
            if len(batch) >= batch_reads and flush():
                break
        else:
            flush()
    if not parts:
        return BaseFeatures.empty(), np.empty(0, bool)
    return BaseFeatures.concat(parts), np.concatenate(errs)


_COMP_BYTES = bytes.maketrans(b"ACGTNacgtn", b"TGCANtgcan")
