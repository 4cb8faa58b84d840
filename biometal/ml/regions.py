"""Multi-modal region loader: per region, sequence + pileup + variant channels as numpy arrays.

For each region of a table (a BED, windows tiled over the contigs, or windows centred on VCF
sites: :func:`region_windows`), :func:`iter_region_arrays` streams from an indexed FASTA, a
coordinate-sorted indexed BAM and an indexed VCF/BCF, with no preprocessing step, and yields
one dict of arrays per region (``L = end - start``):

- ``chrom`` str, ``start``/``end`` int (0-based half-open), ``index`` int (row of the table);
- ``sequence``: float32 [4, L] one-hot A, C, G, T (N and every other letter: all zeros;
  lower-case soft-masked bases are encoded like upper case), or with ``encoding="kmer"``
  int64 [n_tokens] DNABERT k-mer ids (:class:`biometal.ml.tokenizer.KmerTokenizer`,
  ``L - k + 1`` tokens, a k-mer with an N is ``[UNK]``; ``special_tokens=True`` adds
  ``[CLS]``/``[SEP]``); ``soft_mask`` float32 [L] (1 on lower-case bases) when asked;
- with a BAM: ``coverage`` float32 [L] (reads with a base or a deletion at the position:
  ``samtools mpileup`` depth without reference skips), ``bases`` float32 [6, L] (A, C, G, T,
  N, deletion entries), ``base_quality`` float32 [n_bins, L] (bases whose quality is in
  ``[q_i, q_{i+1})``, the last bin open, a missing QUAL ``*`` read as 255 as htslib does;
  the bins of a position sum to its A..N count);
- with a VCF: ``variants`` float32 [3, L] (is-SNP, is-indel-start, alt-allele dosage of the
  sample) and ``genotype`` int8 [L, 2] (the sample's GT allele indices, -1 where no record
  or the allele is missing).

Pileup semantics are the project's pileup engine's (:mod:`biometal.pileup`, equal to
``samtools mpileup -B -x``): the counts come from the ``pileup`` kernel
(:func:`biometal.kernels.pileup.pileup_accumulate`) on records read through the BAM index;
read filters are :class:`biometal.pileup.PileupParams` (default here: MAPQ >= ``min_mapq``,
no UNMAP/SECONDARY/QCFAIL/DUP, proper pairs unless ``count_orphans``), base filter
quality >= ``min_baseq`` (default 0: every base). The quality histogram comes from a private
numba loop over the same read table (``_regions_kernels``).

Variant channels, at position ``POS - 1`` of each record (only the record's first base is
marked): is-SNP when some ALT is a base sequence as long as REF (SNV/MNP), is-indel-start
when some ALT is a base sequence of another length; symbolic (``<DEL>``), ``*`` and ``.``
ALTs set neither. Dosage: alleles > 0 in the sample's GT (missing alleles count 0). Several
records at one position: the flags and the dosage take the maximum, the genotype is the
first record's. The sample is the VCF's first unless ``sample`` names another.

Edges. A window may start before 0 or end past its contig (windows centred on sites near an
end keep their width): those positions are padded with N (all-zero one-hot), zero coverage,
counts and variants, genotype -1. A region on a contig absent from the BAM or the VCF gets
zeros there; a contig absent from the reference is an error naming it.

Streaming. Regions are processed in chunks of ``chunk_regions`` consecutive rows of one
contig (sort the table by contig and start for the fewest reads); within a chunk, regions
closer than ``max_gap`` bp are read together as one span of at most ``MAX_SPAN`` bp (the
reference once; the BAM records that overlap a region once, from the index's first offset:
:class:`biometal.io.bam.BamIndex` and :func:`biometal.io.bam.iter_region_batches`;
the VCF once per chunk). Regions leave in table order as soon as they and the rows before
them are done. Memory: one span's count tables (~200 bytes per bp), a few BAM pieces and
the regions waiting for an earlier row of their chunk (none when the chunk is sorted by
start), whatever the number of regions. ``shard=(i, n)`` keeps chunks ``c`` with
``c % n == i`` (:class:`MultiModalRegionDataset` shards workers and ranks this way).

Bench support: :func:`peer_region_arrays` is a plain pysam + cyvcf2 + pyfaidx loader
computing the same channels (the bench peer and a test oracle), :func:`loader_throughput`
times both.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.utils.data import IterableDataset, get_worker_info

from biometal._threads import set_numba_threads
from biometal.errors import BiometalError, ConfigError
from biometal.io.bam import check_bam, iter_region_batches
from biometal.io.bam import reference_contigs as _reference_contigs
from biometal.io.encoding import ENCODE_LUT
from biometal.ml.dataset import DnaBertDataset

__all__ = [
    "BASE_CHANNELS",
    "DEFAULT_QUALITY_BINS",
    "MultiModalRegionDataset",
    "collate_regions",
    "iter_region_arrays",
    "loader_memory",
    "loader_throughput",
    "peer_region_arrays",
    "region_windows",
]

#: rows of the ``bases`` channel
BASE_CHANNELS = ("A", "C", "G", "T", "N", "del")
#: lower edges of the base-quality bins (the last bin is open)
DEFAULT_QUALITY_BINS = (0, 10, 20, 30, 40)
#: regions closer than this (bp) are read as one span
DEFAULT_MAX_GAP = 4096
#: the longest span read at once (bp); a longer run of regions is cut into several
MAX_SPAN = 1 << 17

_COLUMNS = ["chrom", "start", "end"]


# ------------------------------------------------------------------------------ region tables


def region_windows(
    reference: str | os.PathLike | None = None,
    *,
    bed: str | os.PathLike | None = None,
    tile: int | None = None,
    step: int | None = None,
    around_vcf: str | os.PathLike | None = None,
    width: int | None = None,
    contigs: Sequence[str] | None = None,
    pass_only: bool = False,
) -> pd.DataFrame:
    """The regions to load: a DataFrame with ``chrom`` (str), ``start``, ``end`` (int64,
    0-based half-open); tiles come sorted by contig (``.fai`` order) and start, BED and VCF
    rows in file order.

    Exactly one source:
    - ``bed``: the intervals of a BED file (:func:`biometal.regions.bed.read_bed`), in file order;
    - ``tile=W`` (with ``reference``): windows of W bp every ``step`` bp (default W) over each
      contig of the reference's ``.fai`` (or ``contigs``), full windows only;
    - ``around_vcf=PATH, width=W``: a window of W bp per VCF record, ``start = POS - 1 -
      W // 2`` (so the site is at offset ``W // 2``); a window may start before 0 or end
      past the contig (padded by the loader). Adds ``site`` (0-based POS), ``ref``, ``alt``.
      ``pass_only``: only records whose FILTER is PASS or ``.``.
    ``contigs``: keep only these contigs.
    """
    given = [bed is not None, tile is not None, around_vcf is not None]
    if sum(given) != 1:
        raise ConfigError("region_windows: give exactly one of bed=, tile= or around_vcf=")
    if bed is not None:
        from biometal.regions.bed import read_bed

        iv = read_bed(bed)
        df = pd.DataFrame({"chrom": iv.chrom_str(), "start": iv.start, "end": iv.end})
    elif tile is not None:
        if reference is None:
            raise ConfigError("region_windows: tile= needs the reference (its .fai lengths)")
        tile = int(tile)
        step = tile if step is None else int(step)
        if tile < 1 or step < 1:
            raise ConfigError(f"region_windows: tile and step must be >= 1, got {tile}, {step}")
        lengths = _reference_contigs(reference)
        parts = []
        for name, length in lengths.items():
            if contigs is not None and name not in contigs:
                continue
            starts = np.arange(0, max(0, length - tile) + 1, step, dtype=np.int64)
            if length < tile:
                starts = starts[:0]
            parts.append(
                pd.DataFrame(
                    {
                        "chrom": np.full(len(starts), name, object),
                        "start": starts,
                        "end": starts + tile,
                    }
                )
            )
        df = pd.concat(parts, ignore_index=True) if parts else _empty_table()
    else:
        if width is None or int(width) < 1:
            raise ConfigError("region_windows: around_vcf= needs width= >= 1")
        from biometal.io.vcf import read_vcf

        width = int(width)
        parts = []
        for ch in read_vcf(around_vcf, gt=False):
            keep = np.ones(len(ch), bool)
            if pass_only:
                keep = np.isin(ch.filter, ["PASS", "."])
            site = ch.pos[keep].astype(np.int64) - 1
            start = site - width // 2
            parts.append(
                pd.DataFrame(
                    {
                        "chrom": ch.chrom[keep],
                        "start": start,
                        "end": start + width,
                        "site": site,
                        "ref": ch.ref[keep],
                        "alt": ch.alt[keep],
                    }
                )
            )
        df = pd.concat(parts, ignore_index=True) if parts else _empty_table()
    if contigs is not None:
        df = df[df["chrom"].isin(list(contigs))].reset_index(drop=True)
    df["start"] = df["start"].astype(np.int64)
    df["end"] = df["end"].astype(np.int64)
    return df


def _empty_table() -> pd.DataFrame:
    return pd.DataFrame(
        {"chrom": np.zeros(0, object), "start": np.zeros(0, np.int64), "end": np.zeros(0, np.int64)}
    )


def _as_table(regions: Any) -> pd.DataFrame:
    """A region table from a DataFrame, a BED path or a sequence of (chrom, start, end)."""
    if isinstance(regions, pd.DataFrame):
        missing = [c for c in _COLUMNS if c not in regions.columns]
        if missing:
            raise ConfigError(f"regions: the table has no column(s) {', '.join(missing)}")
        df = regions
    elif isinstance(regions, str | os.PathLike):
        df = region_windows(bed=regions)
    else:
        rows = list(regions)
        df = pd.DataFrame(rows, columns=_COLUMNS) if rows else _empty_table()
    start = df["start"].to_numpy(np.int64)
    end = df["end"].to_numpy(np.int64)
    bad = np.flatnonzero(end <= start)
    if len(bad):
        i = int(bad[0])
        raise ConfigError(
            f"regions: row {i} ({df['chrom'].iloc[i]}:{start[i]}-{end[i]}) is empty (end <= start)"
        )
    return pd.DataFrame(
        {"chrom": df["chrom"].astype(str).to_numpy(object), "start": start, "end": end}
    )


def _chunks(chrom: np.ndarray, chunk_regions: int) -> list[tuple[int, int]]:
    """[lo, hi) row ranges: runs of one contig, at most ``chunk_regions`` rows each."""
    n = len(chrom)
    if n == 0:
        return []
    change = np.flatnonzero(chrom[1:] != chrom[:-1]) + 1
    runs = zip([0, *change.tolist()], [*change.tolist(), n], strict=True)
    return [(i, min(i + chunk_regions, b)) for a, b in runs for i in range(a, b, chunk_regions)]


def _spans(start: np.ndarray, end: np.ndarray, max_gap: int) -> list[np.ndarray]:
    """Groups of row indices (into ``start``) whose regions are read as one span."""
    order = np.argsort(start, kind="stable")
    groups: list[np.ndarray] = []
    first = 0
    lo = int(start[order[0]])
    hi = int(end[order[0]])
    for k in range(1, len(order)):
        s, e = int(start[order[k]]), int(end[order[k]])
        if s > hi + max_gap or max(hi, e) - lo > MAX_SPAN:
            groups.append(order[first:k])
            first, lo, hi = k, s, e
        else:
            hi = max(hi, e)
    groups.append(order[first:])
    return groups


def _merged(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The union of intervals [starts, ends) as sorted disjoint (starts, ends) int64."""
    order = np.argsort(starts, kind="stable")
    s = np.asarray(starts, np.int64)[order]
    e = np.maximum.accumulate(np.asarray(ends, np.int64)[order])
    new = np.ones(len(s), bool)
    new[1:] = s[1:] > e[:-1]
    first = np.flatnonzero(new)
    last = np.append(first[1:], len(s)) - 1
    return s[first], e[last]


# ------------------------------------------------------------------------------ the loader


class _Sources:
    """Open inputs of one iteration: reference, BAM header/params, VCF settings."""

    def __init__(
        self,
        reference: str | os.PathLike,
        bam: str | os.PathLike | None,
        vcf: str | os.PathLike | None,
        *,
        min_mapq: int,
        min_baseq: int,
        count_orphans: bool,
        quality_bins: Sequence[int],
        sample: str | None,
        backend: str | None,
        threads: int,
    ) -> None:
        import pysam

        self.reference = str(reference)
        self.lengths = _reference_contigs(reference)
        self.fasta = pysam.FastaFile(self.reference)
        self.bam = None if bam is None else str(bam)
        self.header = None
        if self.bam is not None:
            from biometal.io.bam import BamIndex
            from biometal.pileup.engine import PileupParams

            self.header = check_bam(self.bam, reference)
            self.index = BamIndex.read(self.bam)
            self.tids = {n: i for i, n in enumerate(self.header.names)}
            self.params = PileupParams(
                min_mapq=int(min_mapq),
                min_baseq=int(min_baseq),
                count_orphans=bool(count_orphans),
                backend=backend,
                threads=int(threads),
            )
            size = Path(self.bam).stat().st_size
            self.bytes_per_bp = size / max(1, sum(self.header.lengths))
            edges = [int(q) for q in quality_bins]
            if not edges or any(b <= a for a, b in zip(edges, edges[1:], strict=False)):
                raise ConfigError(f"quality_bins must be increasing, got {tuple(quality_bins)}")
            if edges[0] < 0 or edges[-1] > 255:
                raise ConfigError(f"quality_bins must lie in 0..255, got {tuple(quality_bins)}")
            bin_of_q = np.full(256, -1, np.int64)
            for i, lo in enumerate(edges):
                hi = edges[i + 1] if i + 1 < len(edges) else 256
                bin_of_q[lo:hi] = i
            self.bin_of_q = bin_of_q
            self.n_bins = len(edges)
        self.vcf = None if vcf is None else str(vcf)
        if self.vcf is not None:
            from biometal.io.vcf import read_vcf

            it = read_vcf(self.vcf, gt=True, chunk_records=1)
            first = next(it, None)
            it.close()
            samples = first.samples if first is not None else None
            if samples is None:  # no records: the header's samples
                samples = []
            if sample is not None and sample not in samples:
                raise ConfigError(f"{self.vcf}: sample {sample!r} is not in the VCF")
            self.sample_name = (sample or samples[0]) if samples else None

    # ---- reference

    def codes(self, chrom: str, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        """Codes uint8[hi - lo] (4 outside the contig) and the lower-case mask of [lo, hi)."""
        length = self.lengths[chrom]
        a, b = max(0, lo), min(length, hi)
        codes = np.full(hi - lo, 4, np.uint8)
        lower = np.zeros(hi - lo, bool)
        if b > a:
            raw = np.frombuffer(self.fasta.fetch(chrom, a, b).encode("ascii"), np.uint8)
            codes[a - lo : b - lo] = ENCODE_LUT[raw]
            lower[a - lo : b - lo] = raw >= 97
        return codes, lower

    # ---- BAM

    def pileup(
        self, chrom: str, starts: np.ndarray, ends: np.ndarray
    ) -> tuple[int, np.ndarray, np.ndarray] | None:
        """(first position, counts uint32[n, 24], quality bins uint32[n, n_bins]) covering
        [max(lo, 0), hi) of ``chrom``, lo/hi the extremes of the regions ``starts``/``ends``
        (None when no read passes there). Only reads overlapping a region are piled up:
        positions between the regions may be undercounted."""
        from biometal.kernels.pileup import NCOL, pileup_accumulate
        from biometal.ml._regions_kernels import quality_histogram
        from biometal.pileup.engine import _read_table, read_filter

        tid = self.tids.get(chrom)
        if tid is None:
            return None
        ms, me = _merged(starts, ends)
        lo = max(int(ms[0]), 0)
        hi = min(int(me[-1]), self.header.lengths[tid])
        if hi <= lo:
            return None
        p = self.params
        # compressed bytes read at a time: about the span's share of the file, at most
        # 128 kB (the reader inflates one read ahead: that much is wasted after the span)
        read_bytes = int(min(128 << 10, max(32 << 10, 1.2 * (hi - lo) * self.bytes_per_bp)))
        acc = hist = None
        acc_start = lo
        for batch in iter_region_batches(
            self.bam, self.header, self.index, tid, lo, hi, read_bytes=read_bytes, threads=p.threads
        ):
            t = batch.table
            keep = read_filter(t, p)
            if len(ms) == 1:
                keep &= t[:, 3] > lo
            else:  # overlaps one of the merged regions
                j = np.searchsorted(me, t[:, 2], side="right")
                keep &= j < len(ms)
                keep &= ms[np.minimum(j, len(ms) - 1)] < t[:, 3]
            sel = t[keep]
            if not len(sel):
                continue
            if acc is None:
                acc_start = min(lo, int(sel[0, 2]))
                acc = np.zeros((hi - acc_start, NCOL), np.uint32)
                hist = np.zeros((hi - acc_start, self.n_bins), np.uint32)
            reads = _read_table(sel, acc_start)
            pileup_accumulate(
                batch.data, reads, acc, p.min_baseq, backend=p.backend, threads=p.threads
            )
            quality_histogram(batch.data, reads, hist, self.bin_of_q, np.int64(p.min_baseq))
        if acc is None:
            return None
        k = lo - acc_start
        return lo, acc[k:], hist[k:]

    # ---- VCF

    def variants(self, chrom: str, lo: int, hi: int) -> tuple[np.ndarray, ...] | None:
        """Records with POS-1 in [lo, hi): (pos0 int64, snp, indel, dosage float32 [n],
        gt int8[n, 2]), or None."""
        from biometal.io.vcf import read_vcf

        lo = max(lo, 0)
        if hi <= lo:
            return None
        parts = []
        region = f"{chrom}:{lo + 1}-{hi}"
        samples = [self.sample_name] if self.sample_name is not None else []
        for ch in read_vcf(
            self.vcf, gt=self.sample_name is not None, region=region, samples=samples
        ):
            parts.append(ch)
        if not parts:
            return None
        pos0 = np.concatenate([c.pos for c in parts]).astype(np.int64) - 1
        keep = (pos0 >= lo) & (pos0 < hi)
        ref = np.concatenate([c.ref for c in parts])[keep]
        alt = np.concatenate([c.alt for c in parts])[keep]
        pos0 = pos0[keep]
        n = len(pos0)
        order = np.argsort(pos0, kind="stable")  # an unindexed VCF may be unsorted
        gt2 = np.full((n, 2), -1, np.int8)
        dosage = np.zeros(n, np.float32)
        if self.sample_name is not None:
            width = max(c.gt.shape[2] for c in parts)
            gts = [
                np.pad(c.gt[:, 0, :], ((0, 0), (0, width - c.gt.shape[2])), constant_values=-2)
                for c in parts
            ]
            g = np.concatenate(gts).astype(np.int16)[keep]
            dosage = (g > 0).sum(axis=1).astype(np.float32)
            m = min(2, g.shape[1])
            g2 = g[:, :m]
            gt2[:, :m] = np.where(g2 < 0, -1, np.minimum(g2, 127)).astype(np.int8)
        snp = np.zeros(n, np.float32)
        indel = np.zeros(n, np.float32)
        for i, (r, a) in enumerate(zip(ref.tolist(), alt.tolist(), strict=True)):
            for allele in a.split(","):
                if not allele or allele in (".", "*") or not allele.isalpha():
                    continue
                if len(allele) == len(r):
                    snp[i] = 1.0
                else:
                    indel[i] = 1.0
        return pos0[order], snp[order], indel[order], dosage[order], gt2[order]


def iter_region_arrays(
    reference: str | os.PathLike,
    regions: pd.DataFrame | str | os.PathLike | Sequence[tuple[str, int, int]],
    *,
    bam: str | os.PathLike | None = None,
    vcf: str | os.PathLike | None = None,
    encoding: str = "onehot",
    k: int = 6,
    special_tokens: bool = False,
    quality_bins: Sequence[int] = DEFAULT_QUALITY_BINS,
    min_mapq: int = 0,
    min_baseq: int = 0,
    count_orphans: bool = False,
    sample: str | None = None,
    soft_mask: bool = False,
    chunk_regions: int = 256,
    max_gap: int = DEFAULT_MAX_GAP,
    shard: tuple[int, int] = (0, 1),
    backend: str | None = None,
    threads: int = 1,
) -> Iterator[dict[str, Any]]:
    """Yield one dict of arrays per region (keys, shapes and semantics: module docstring).

    ``regions``: a table from :func:`region_windows` (or any DataFrame with chrom, start,
    end), a BED path, or (chrom, start, end) tuples. Regions come out in table order within
    each chunk, chunks in table order. ``bam``/``vcf``: optional (their keys are absent
    without them). ``encoding``: "onehot" or "kmer" (``k``, ``special_tokens``).
    ``shard``: (i, n) keeps chunks c with c % n == i. ``backend``: of the pileup kernel;
    ``threads``: numba threads of the kernel and BGZF inflate threads.
    """
    if encoding not in ("onehot", "kmer"):
        raise ConfigError(f"encoding must be 'onehot' or 'kmer', got {encoding!r}")
    if chunk_regions < 1:
        raise ConfigError(f"chunk_regions must be >= 1, got {chunk_regions}")
    i_shard, n_shards = int(shard[0]), int(shard[1])
    if not 0 <= i_shard < n_shards:
        raise ConfigError(f"shard must be (i, n) with 0 <= i < n, got {shard}")
    table = _as_table(regions)
    src = _Sources(
        reference,
        bam,
        vcf,
        min_mapq=min_mapq,
        min_baseq=min_baseq,
        count_orphans=count_orphans,
        quality_bins=quality_bins,
        sample=sample,
        backend=backend,
        threads=threads,
    )
    tokenizer = None
    if encoding == "kmer":
        from biometal.ml.tokenizer import KmerTokenizer

        tokenizer = KmerTokenizer(int(k), backend=backend)
    chrom = table["chrom"].to_numpy(object)
    start = table["start"].to_numpy(np.int64)
    end = table["end"].to_numpy(np.int64)
    for c, (lo, hi) in enumerate(_chunks(chrom, int(chunk_regions))):
        if c % n_shards != i_shard:
            continue
        name = str(chrom[lo])
        if name not in src.lengths:
            raise BiometalError(
                f"regions: contig '{name}' (row {lo}) is not in the reference {src.reference}"
            )
        yield from _chunk_arrays(
            src, tokenizer, special_tokens, soft_mask, name, lo, start[lo:hi], end[lo:hi], max_gap
        )


def _chunk_arrays(src, tokenizer, special, soft_mask, chrom, row0, start, end, max_gap):
    """The dicts of one chunk's regions, in table order, span by span (a region leaves as
    soon as it and every region before it in the table are done)."""
    n = len(start)
    recs = src.variants(chrom, int(start.min()), int(end.max())) if src.vcf is not None else None
    done: dict[int, dict[str, Any]] = {}
    next_out = 0
    arange4 = np.arange(4, dtype=np.uint8)[:, None]
    for group in _spans(start, end, max_gap):
        rows = group.tolist()
        lo = int(start[group].min())
        hi = int(end[group].max())
        codes, lower = src.codes(chrom, lo, hi)
        pile = src.pileup(chrom, start[group], end[group]) if src.bam is not None else None
        if pile is not None:
            p0, acc, hist = pile
            chans = np.empty((7 + src.n_bins, len(acc)), np.float32)
            chans[1:6] = (acc[:, 0:5] + acc[:, 5:10]).T
            chans[6] = acc[:, 10] + acc[:, 11]
            chans[0] = chans[1:7].sum(axis=0)
            chans[7:] = hist.T
            del acc, hist
        toks = None
        if tokenizer is not None:
            lengths = (end[group] - start[group]).astype(np.int64)
            offsets = np.zeros(len(rows) + 1, np.int64)
            np.cumsum(lengths, out=offsets[1:])
            parts = [codes[int(start[i]) - lo : int(end[i]) - lo] for i in rows]
            width = max(1, int(lengths.max()) - tokenizer.k + 1) + (2 if special else 0)
            toks = tokenizer.encode_arrays(
                np.concatenate(parts), None, offsets, max_length=width, add_special_tokens=special
            )
        for j, i in enumerate(rows):
            s, e = int(start[i]), int(end[i])
            d: dict[str, Any] = {"chrom": chrom, "start": s, "end": e, "index": row0 + i}
            if toks is None:
                d["sequence"] = (codes[s - lo : e - lo][None, :] == arange4).astype(np.float32)
            else:
                d["sequence"] = toks.ids[j, : int(toks.n_tokens[j])].astype(np.int64)
            if soft_mask:
                d["soft_mask"] = lower[s - lo : e - lo].astype(np.float32)
            if src.bam is not None:
                block = np.zeros((7 + src.n_bins, e - s), np.float32)
                if pile is not None:
                    a, b = max(s, p0), min(e, p0 + chans.shape[1])
                    if b > a:
                        block[:, a - s : b - s] = chans[:, a - p0 : b - p0]
                d["coverage"] = block[0]
                d["bases"] = block[1:7]
                d["base_quality"] = block[7:]
            if src.vcf is not None:
                d["variants"], d["genotype"] = _variant_channels(recs, s, e)
            done[i] = d
        while next_out in done:
            yield done.pop(next_out)
            next_out += 1
    assert next_out == n and not done


def _variant_channels(recs, s: int, e: int) -> tuple[np.ndarray, np.ndarray]:
    """(variants float32 [3, L], genotype int8 [L, 2]) of [s, e) from sorted records."""
    var = np.zeros((3, e - s), np.float32)
    gt = np.full((e - s, 2), -1, np.int8)
    if recs is not None:
        pos0, snp, indel, dosage, gt2 = recs
        a, b = np.searchsorted(pos0, [s, e])
        if b > a:
            idx = pos0[a:b] - s
            np.maximum.at(var[0], idx, snp[a:b])
            np.maximum.at(var[1], idx, indel[a:b])
            np.maximum.at(var[2], idx, dosage[a:b])
            gt[idx[::-1]] = gt2[a:b][::-1]  # the first record at a position wins
    return var, gt


# ------------------------------------------------------------------------------ torch


class MultiModalRegionDataset(IterableDataset):
    """A torch ``IterableDataset`` of :func:`iter_region_arrays` dicts (numpy arrays as
    torch tensors unless ``as_tensors=False``), one per region.

    Sharded as :class:`~biometal.ml.dataset.DnaBertDataset` (its ``shard`` method): with R
    ranks x W DataLoader workers, shard ``rank * W + worker`` takes the chunks ``c`` (of
    ``chunk_regions`` regions) with ``c % (R * W) == shard``, so every region is yielded
    exactly once per epoch over all workers and ranks. ``rank``/``world_size``: default
    torch.distributed, else 0/1. Other keyword options go to :func:`iter_region_arrays`.
    Batch with ``DataLoader(ds, batch_size=B, collate_fn=collate_regions)``.
    """

    def __init__(
        self,
        reference: str | os.PathLike,
        regions: Any,
        *,
        bam: str | os.PathLike | None = None,
        vcf: str | os.PathLike | None = None,
        rank: int | None = None,
        world_size: int | None = None,
        as_tensors: bool = True,
        **options: Any,
    ) -> None:
        super().__init__()
        self.reference = os.fspath(reference)
        self.regions = _as_table(regions)
        self.bam = None if bam is None else os.fspath(bam)
        self.vcf = None if vcf is None else os.fspath(vcf)
        self.rank, self.world_size = rank, world_size
        if rank is not None and world_size is not None and not 0 <= rank < world_size:
            raise ConfigError(
                f"MultiModalRegionDataset: rank {rank} not in 0..world_size-1 ({world_size})"
            )
        self.as_tensors = bool(as_tensors)
        self.options = options

    #: (this shard, number of shards): DnaBertDataset's, for the current rank and worker
    shard = DnaBertDataset.shard

    def __len__(self) -> int:
        return len(self.regions)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        shard, n_shards = self.shard()
        if get_worker_info() is not None:
            set_numba_threads(1)  # one core per DataLoader worker, as DnaBertDataset
        for d in iter_region_arrays(
            self.reference,
            self.regions,
            bam=self.bam,
            vcf=self.vcf,
            shard=(shard, n_shards),
            **self.options,
        ):
            if self.as_tensors:
                d = {
                    k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in d.items()
                }
            yield d

    def __repr__(self) -> str:
        return (
            f"MultiModalRegionDataset({self.reference!r}, {len(self.regions)} regions, "
            f"bam={self.bam!r}, vcf={self.vcf!r})"
        )


def collate_regions(batch: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Stack a list of region dicts of equal length into one dict: arrays (numpy or torch)
    become torch tensors [B, ...], ints int64 tensors [B], strings lists of str."""
    if not batch:
        raise BiometalError("collate_regions: empty batch")
    lengths = {int(d["end"]) - int(d["start"]) for d in batch}
    if len(lengths) > 1:
        raise BiometalError(
            f"collate_regions: regions of different lengths in one batch ({sorted(lengths)[:4]}); "
            "use equal-width windows (region_windows(tile=...) or around_vcf=..., width=...)"
        )
    out: dict[str, Any] = {}
    for key in batch[0]:
        vals = [d[key] for d in batch]
        v0 = vals[0]
        if isinstance(v0, np.ndarray):
            out[key] = torch.from_numpy(np.stack(vals))
        elif isinstance(v0, torch.Tensor):
            out[key] = torch.stack(vals)
        elif isinstance(v0, int | np.integer):
            out[key] = torch.tensor([int(v) for v in vals], dtype=torch.int64)
        else:
            out[key] = list(vals)
    return out


# ------------------------------------------------------------------------------ bench support


def peer_region_arrays(
    reference: str | os.PathLike,
    regions: pd.DataFrame | str | os.PathLike | Sequence[tuple[str, int, int]],
    *,
    bam: str | os.PathLike | None = None,
    vcf: str | os.PathLike | None = None,
    quality_bins: Sequence[int] = DEFAULT_QUALITY_BINS,
    min_mapq: int = 0,
    min_baseq: int = 0,
    count_orphans: bool = False,
) -> Iterator[dict[str, Any]]:
    """The same dicts as :func:`iter_region_arrays` (one-hot encoding) from a plain loader:
    pyfaidx for the sequence, ``pysam.AlignmentFile.fetch`` per region with the CIGAR of each
    read walked in numpy (one vectorised add per aligned block), cyvcf2 region queries.

    The benchmark peer (what a user writes with the usual libraries) and a cross-check of
    the loader; it needs pyfaidx (test extra) and cyvcf2.
    """
    import cyvcf2
    import pyfaidx
    import pysam

    table = _as_table(regions)
    fa = pyfaidx.Fasta(os.fspath(reference), as_raw=True, sequence_always_upper=True)
    aln = pysam.AlignmentFile(os.fspath(bam)) if bam is not None else None
    var = cyvcf2.VCF(os.fspath(vcf), samples=None) if vcf is not None else None
    edges = np.asarray(quality_bins, np.int64)
    excl = 0x4 | 0x100 | 0x200 | 0x400
    code_of = np.full(256, 4, np.int64)
    for i, c in enumerate(b"ACGT"):
        code_of[c] = i
    try:
        for idx, (chrom, s, e) in enumerate(
            zip(
                table["chrom"].tolist(), table["start"].tolist(), table["end"].tolist(), strict=True
            )
        ):
            length = len(fa[chrom])
            a, b = max(0, s), min(length, e)
            seq = np.full(e - s, 4, np.int64)
            if b > a:
                seq[a - s : b - s] = code_of[np.frombuffer(fa[chrom][a:b].encode(), np.uint8)]
            onehot = np.zeros((4, e - s), np.float32)
            m = seq < 4
            onehot[seq[m], np.flatnonzero(m)] = 1
            d: dict[str, Any] = {
                "chrom": chrom,
                "start": s,
                "end": e,
                "index": idx,
                "sequence": onehot,
            }
            if aln is not None:
                bases = np.zeros((6, e - s), np.float32)
                hist = np.zeros((len(edges), e - s), np.float32)
                if chrom in aln.references and b > a:
                    for r in aln.fetch(chrom, a, b):
                        if r.flag & excl or r.mapping_quality < min_mapq:
                            continue
                        if not count_orphans and r.flag & 1 and not r.flag & 2:
                            continue
                        _peer_read(r, s, e, bases, hist, edges, min_baseq, code_of)
                d["coverage"] = bases.sum(axis=0)
                d["bases"] = bases
                d["base_quality"] = hist
            if var is not None:
                v = np.zeros((3, e - s), np.float32)
                gt = np.full((e - s, 2), -1, np.int8)
                if chrom in var.seqnames and b > a:
                    seen = set()
                    for rec in var(f"{chrom}:{a + 1}-{b}"):
                        p = rec.POS - 1
                        if not s <= p < e:
                            continue
                        j = p - s
                        for alt in rec.ALT:
                            if alt and alt not in (".", "*") and alt.isalpha():
                                v[0 if len(alt) == len(rec.REF) else 1, j] = 1
                        if var.samples:
                            alleles = rec.genotypes[0][:-1]
                            v[2, j] = max(v[2, j], sum(1 for x in alleles if x > 0))
                            if p not in seen:
                                for k, x in enumerate(alleles[:2]):
                                    gt[j, k] = x if x >= 0 else -1
                        seen.add(p)
                d["variants"] = v
                d["genotype"] = gt
            yield d
    finally:
        if aln is not None:
            aln.close()
        if var is not None:
            var.close()


def _peer_read(r, s, e, bases, hist, edges, min_bq, code_of) -> None:
    """Add one pysam read's bases, deletions and quality bins inside [s, e) (numpy per block)."""
    seq = r.query_sequence
    n_seq = len(seq) if seq else 0
    codes = code_of[np.frombuffer(seq.encode(), np.uint8)] if n_seq else None
    quals = r.query_qualities
    q_arr = np.frombuffer(bytes(quals), np.uint8).astype(np.int64) if quals is not None else None
    rpos, qpos = r.reference_start, 0
    for op, ln in r.cigartuples:
        if op in (0, 7, 8):
            lo, hi = max(rpos, s), min(rpos + ln, e)
            if hi > lo:
                q = np.arange(qpos + lo - rpos, qpos + hi - rpos)
                inside = q < n_seq
                bq = np.zeros(len(q), np.int64)
                if n_seq:
                    bq[inside] = q_arr[q[inside]] if q_arr is not None else 255
                c = np.full(len(q), 4, np.int64)
                if n_seq:
                    c[inside] = codes[q[inside]]
                keep = bq >= min_bq
                col = np.arange(lo - s, hi - s)[keep]
                np.add.at(bases, (c[keep], col), 1)
                np.add.at(hist, (np.searchsorted(edges, bq[keep], side="right") - 1, col), 1)
            rpos += ln
            qpos += ln
        elif op == 2:
            bq = 0
            if qpos < n_seq:
                bq = int(q_arr[qpos]) if q_arr is not None else 255
            lo, hi = max(rpos, s), min(rpos + ln, e)
            if bq >= min_bq and hi > lo:
                bases[5, lo - s : hi - s] += 1
            rpos += ln
        elif op == 3:
            rpos += ln
        elif op in (1, 4):
            qpos += ln


def _array_bytes(d: dict[str, Any]) -> int:
    return sum(v.nbytes for v in d.values() if isinstance(v, np.ndarray))


def loader_throughput(
    reference: str | os.PathLike,
    bam: str | os.PathLike | None,
    vcf: str | os.PathLike | None,
    regions: pd.DataFrame | str | os.PathLike | Sequence[tuple[str, int, int]],
    repeats: int = 3,
    *,
    peer: bool = True,
    **options: Any,
) -> pd.DataFrame:
    """Time :func:`iter_region_arrays` ("biometal") and :func:`peer_region_arrays`
    ("pysam+cyvcf2+pyfaidx") on the same regions, interleaved, ``repeats`` times each, in
    this process, after one untimed warm-up of each on a few regions.

    Returns one row per (loader, repeat): loader, repeat, regions, bytes (of the arrays
    produced), cpu_s (user+sys of this process, all threads), wall_s, regions_per_s and
    mb_per_s (per CPU second; MB = 1e6 bytes). ``options`` go to both loaders (no
    encoding: the peer is one-hot only).
    """
    table = _as_table(regions)
    loaders: dict[str, Any] = {"biometal": iter_region_arrays}
    if peer:
        loaders["pysam+cyvcf2+pyfaidx"] = peer_region_arrays
    for fn in loaders.values():
        for _d in fn(reference, table.iloc[: min(8, len(table))], bam=bam, vcf=vcf, **options):
            pass
    rows = []
    for rep in range(int(repeats)):
        for name, fn in loaders.items():
            c0, w0 = time.process_time(), time.perf_counter()
            n = nbytes = 0
            for d in fn(reference, table, bam=bam, vcf=vcf, **options):
                n += 1
                nbytes += _array_bytes(d)
            cpu, wall = time.process_time() - c0, time.perf_counter() - w0
            rows.append(
                {
                    "loader": name,
                    "repeat": rep,
                    "regions": n,
                    "bytes": nbytes,
                    "cpu_s": cpu,
                    "wall_s": wall,
                    "regions_per_s": n / cpu if cpu > 0 else float("nan"),
                    "mb_per_s": nbytes / 1e6 / cpu if cpu > 0 else float("nan"),
                }
            )
    return pd.DataFrame(rows)


_RSS_CHILD = """
import resource, sys
import numpy as np
from biometal.ml.regions import iter_region_arrays, region_windows
ref, bam, vcf, n, width = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
bam = bam or None
vcf = vcf or None
w = region_windows(ref, tile=width, step=width)
reps = -(-n // max(1, len(w)))
step = max(1, width // reps)
w = region_windows(ref, tile=width, step=step).iloc[:n]
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
for d in iter_region_arrays(ref, w.iloc[:1], bam=bam, vcf=vcf):  # loads the compiled kernels
    pass
try:  # reset the high-water mark left by the imports (Linux: VmHWM = current RSS)
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
except OSError:
    pass
before = status("VmRSS")
total = 0
for d in iter_region_arrays(ref, w, bam=bam, vcf=vcf):
    total += sum(v.nbytes for v in d.values() if isinstance(v, np.ndarray))
after = status("VmHWM")
print(len(w), before, after, total)
"""


def loader_memory(
    reference: str | os.PathLike,
    bam: str | os.PathLike | None,
    vcf: str | os.PathLike | None,
    counts: Sequence[int] = (1000, 10_000, 50_000),
    width: int = 1000,
) -> pd.DataFrame:
    """Peak RSS of :func:`iter_region_arrays` over ``n`` windows of ``width`` bp, for each
    ``n`` of ``counts``, each in a fresh Python process (tiled windows, with a step small
    enough that the reference holds ``n`` of them; arrays are dropped as they come).

    Returns rows: regions, bytes (arrays produced), rss_before_mb (RSS after the imports,
    the region table and loading one region: the compiled kernels are in memory),
    peak_rss_mb (the high-water mark while loading: Linux's VmHWM, reset then through
    /proc/self/clear_refs; elsewhere ru_maxrss, which includes the imports' peak);
    MB = 2**20 bytes.
    """
    import subprocess
    import sys

    rows = []
    for n in counts:
        res = subprocess.run(
            [
                sys.executable,
                "-c",
                _RSS_CHILD,
                os.fspath(reference),
                "" if bam is None else os.fspath(bam),
                "" if vcf is None else os.fspath(vcf),
                str(int(n)),
                str(int(width)),
            ],
            capture_output=True,
            text=True,
            env={**os.environ, "NUMBA_NUM_THREADS": os.environ.get("NUMBA_NUM_THREADS", "1")},
        )
        if res.returncode != 0:
            last = (res.stderr.strip().splitlines() or ["failed"])[-1]
            raise BiometalError(f"loader_memory: the measuring process failed: {last}")
        got, before, after, total = map(int, res.stdout.split())
        rows.append(
            {
                "regions": got,
                "bytes": total,
                "rss_before_mb": before / 1024,
                "peak_rss_mb": after / 1024,
            }
        )
    return pd.DataFrame(rows)
