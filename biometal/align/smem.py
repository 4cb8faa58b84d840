"""Super-maximal exact matches (SMEMs) of reads against a reference, as BWA-MEM seeds them.

- :func:`build_fm_index` -> :class:`FMIndex`: suffix array and FMD-index (BWT with
  occurrence checkpoints) of ``T = F + revcomp(F) + $``, ``F`` the reference contigs
  concatenated (BWA's text: the forward and reverse strands, so one bi-directional index
  serves both strands). Built once (suffix array by libdivsufsort, BWT and checkpoints in
  numba, one suffix-array row in 32 kept) and saved (:meth:`FMIndex.save`, ``.npz``, the
  BWT and text packed 2 bits a base, about BWA's index size). ``N`` in the reference
  becomes a pseudo-random base drawn from ``seed`` (BWA does the same with its own generator).
- :func:`find_smems` -> :class:`Seeds`: per read, the SMEMs of length >= ``min_len``
  (default 19, BWA-MEM's ``-k``) with their query interval, occurrence count (on both
  strands) and, for seeds with at most ``max_occ`` occurrences, the positions. The search
  is BWA 0.7.17's ``bwt_smem1a`` (numba, :mod:`biometal.align._smem_kernels`) iterated as
  ``bwa fastmap -l`` iterates it, so the seeds equal ``bwa fastmap``'s (tests check this
  against bwa itself). BWA-MEM's re-seeding rounds (``-r``) are not run.
- :func:`format_fastmap` / :func:`parse_fastmap`: ``bwa fastmap`` text (``SQ``, ``EM``,
  ``//`` lines) for comparison.

Positions are those of BWA: 0-based forward-strand start of the match on the contig, and
the strand (``-``: the read matches the reverse complement). Occurrences that span two
contigs (possible in the concatenated text, as in BWA) are flagged ``spans_contigs``.
"""

from __future__ import annotations

import logging
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from biometal.align import _smem_kernels as _k
from biometal.errors import BiometalError, InputFormatError
from biometal.io.atomic import atomic_path
from biometal.io.encoding import CODE_N, decode
from biometal.io.fastx import read_fasta
from biometal.progress import Progress

log = logging.getLogger(__name__)

INDEX_VERSION = 2
SA_INTV = 32  # suffix-array sampling (BWA's default)
_COMP = np.array([3, 2, 1, 0, 4], np.uint8)


def reverse_complement(codes: np.ndarray) -> np.ndarray:
    """Reverse complement of uint8 codes (N stays N)."""
    return _COMP[np.asarray(codes)[::-1]]


def suffix_array(text: np.ndarray) -> np.ndarray:
    """Suffix array of ``text`` (uint8 codes; the last symbol must be a unique smallest
    sentinel, e.g. 0 with letters 1..4): suffix starts in sorted order, int32 where the
    length allows (< 2**31), else int64.

    libdivsufsort (pydivsufsort): linear memory (the output plus a few KB of buckets),
    O(n log n) worst case and fast in practice, as BWA's own ``is`` / ``bwtsw`` builders.
    """
    from pydivsufsort import divsufsort

    text = np.ascontiguousarray(text, np.uint8)
    if text.shape[0] == 0:
        return np.zeros(0, np.int64)
    return divsufsort(text)


@dataclass
class FMIndex:
    """FMD-index of a reference (both strands) with a sampled suffix array.

    ``text``: uint8 codes of ``F + revcomp(F)`` (no sentinel), ``sa``: int64 sample of the
    suffix array of ``text + $``, ``sa[j] = SA[j * sa_intv]`` (other rows are found by
    LF-steps, :meth:`sa_values`), ``bwt``: uint64[(n+1)//128 + 2, 8], per 128 rows the
    counts of A, C, G, T before them and the rows packed 2 bits a row (``$`` at row
    ``primary``, stored as A; one 64-byte block, :mod:`biometal.align._smem_kernels`),
    ``cnt``: int64[5] first rows of A, C, G, T (and
    n + 1), ``primary``: the row of the whole text. ``names``/``offsets``: contig names and
    their starts in ``F`` (``offsets[-1] = len(F)``).
    """

    text: np.ndarray
    sa: np.ndarray
    bwt: np.ndarray
    cnt: np.ndarray
    primary: int
    names: list[str]
    offsets: np.ndarray
    sa_intv: int = SA_INTV

    @property
    def forward_length(self) -> int:
        """Length of ``F`` (bp, all contigs)."""
        return int(self.offsets[-1])

    def contig_sequence(self, name: str) -> np.ndarray:
        """Codes of one contig (forward strand)."""
        i = self.names.index(name)
        return self.text[self.offsets[i] : self.offsets[i + 1]]

    def count(self, pattern: str | np.ndarray) -> int:
        """Occurrences of a pattern on both strands (backward search)."""
        from biometal.io.encoding import encode

        codes = encode(pattern) if isinstance(pattern, str) else np.asarray(pattern, np.uint8)
        return int(_k.count_pattern(self.bwt, self.cnt, self.primary, codes))

    def sa_values(self, rows: np.ndarray) -> np.ndarray:
        """Suffix-array values (text positions, int64) of suffix-array ``rows``."""
        rows = np.ascontiguousarray(rows, np.int64)
        out = np.empty(rows.shape[0], np.int64)
        if rows.shape[0]:
            _k.sa_lookup(self.bwt, self.cnt, self.primary, self.sa, self.sa_intv, rows, out)
        return out

    def save(self, path: str | os.PathLike) -> None:
        """Write the index to ``path`` (``.npz``, atomic): the BWT and the forward strand
        packed 2 bits a base, the sampled suffix array; ~1.25 bytes per reference base
        (BWA's .bwt + .sa + .pac: ~1.75). The checkpoints are rebuilt on load."""
        lf = self.forward_length
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.savez(
                fh,
                version=np.int64(INDEX_VERSION),
                bwt=_k.get_words(self.bwt, int(self.cnt[4])),
                pac2=_pack2(self.text[:lf]),
                n=np.int64(self.cnt[4]),
                sa=self.sa,
                sa_intv=np.int64(self.sa_intv),
                primary=np.int64(self.primary),
                names=np.array(self.names, dtype=object).astype(str),
                offsets=self.offsets,
            )

    @classmethod
    def load(cls, path: str | os.PathLike) -> FMIndex:
        """Read an index written by :meth:`save` (the checkpoints are rebuilt, O(n));
        version-1 files (text + full suffix array) are read too."""
        if not Path(path).is_file():
            raise InputFormatError(str(path), None, "FM-index not found")
        with open(path, "rb") as fh:
            if fh.read(4) != b"PK\x03\x04":  # an .npz is a zip archive
                raise InputFormatError(str(path), None, "not a biometal FM-index (.npz)")
        try:
            with np.load(path, allow_pickle=False) as z:
                version = int(z["version"])
                if version not in (1, INDEX_VERSION):
                    raise InputFormatError(str(path), None, "FM-index of another version")
                names = [str(s) for s in z["names"]]
                offsets = np.asarray(z["offsets"], np.int64)
                primary = int(z["primary"])
                if version == 1:
                    return _assemble(z["text"], z["sa"], names, offsets)
                n1 = int(z["n"])
                bwt = np.asarray(z["bwt"], np.uint64)
                text = _both_strands(z["pac2"], int(offsets[-1]))
                sa, sa_intv = np.asarray(z["sa"], np.int64), int(z["sa_intv"])
        except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            what = " ".join(str(exc).split())
            raise InputFormatError(str(path), None, f"not a biometal FM-index: {what}") from None
        if bwt.shape[0] != (n1 + 31) >> 5 or not 0 <= primary < n1:
            raise InputFormatError(str(path), None, "not a biometal FM-index: BWT truncated")
        words, bwt = bwt, _k.new_bwt(n1)
        _k.set_words(bwt, words, n1)
        del words
        _k.fill_counts(bwt, n1, primary)
        return FMIndex(text, sa, bwt, _cnt(bwt), primary, names, offsets, sa_intv)

    @classmethod
    def from_bwa(cls, prefix: str | os.PathLike) -> FMIndex:
        """The index in BWA's own files ``prefix.{bwt,sa,pac,ann}`` (``bwa index``, 0.7.x):
        the same text (BWA's ``N`` replacement), rows and sampled suffix array, so SMEMs
        equal ``bwa fastmap`` on that index. Memory: ~3.5 bytes per reference base (text 2,
        BWT with counts 1, suffix-array sample 0.5); no suffix array is built, so a whole
        human genome (~11 GB) fits in 24 GB.
        """
        prefix = str(prefix)
        for ext in (".bwt", ".sa", ".pac", ".ann"):
            if not Path(prefix + ext).is_file():
                raise InputFormatError(prefix + ext, None, "BWA index file not found")
        try:
            with open(prefix + ".ann") as fh:
                l_pac, n_seqs = (int(x) for x in fh.readline().split()[:2])
                names, starts = [], []
                for _ in range(n_seqs):
                    names.append(fh.readline().split()[1])
                    starts.append(int(fh.readline().split()[0]))
            head = np.fromfile(prefix + ".bwt", np.uint64, count=5)
            primary = int(head[0])
            n1 = 2 * l_pac + 1
            words = np.memmap(prefix + ".bwt", np.uint32, mode="r", offset=40)
            sah = np.fromfile(prefix + ".sa", np.uint64, count=7)
            sa_intv, seq_len = int(sah[5]), int(sah[6])
            if seq_len != 2 * l_pac or int(sah[0]) != primary:
                raise ValueError(f"{prefix}.sa does not match {prefix}.bwt / .ann")
            sa = np.empty((seq_len + sa_intv) // sa_intv, np.int64)
            sa[0] = seq_len
            sa[1:] = np.fromfile(prefix + ".sa", np.uint64, offset=56).astype(np.int64)
            if words.shape[0] < ((seq_len + 127) >> 7) * 16 or sa.shape[0] < 1:
                raise ValueError(f"{prefix}.bwt is truncated")
            bwt = _k.new_bwt(n1)
            _k.bwt_from_bwa(words, n1, primary, bwt)
            del words
            text = _both_strands(np.fromfile(prefix + ".pac", np.uint8), l_pac)
        except (OSError, ValueError, IndexError) as exc:
            what = " ".join(str(exc).split())
            raise InputFormatError(prefix, None, f"not a readable BWA index: {what}") from None
        _k.fill_counts(bwt, n1, primary)
        offsets = np.array([*starts, l_pac], np.int64)
        return FMIndex(text, sa, bwt, _cnt(bwt), primary, names, offsets, sa_intv)


def _pack2(codes: np.ndarray) -> np.ndarray:
    """uint8 codes 0..3 -> 4 bases a byte (first base in the high bits, as BWA's .pac)."""
    n = codes.shape[0]
    pad = np.zeros((n + 3) // 4 * 4, np.uint8)
    pad[:n] = codes
    q = pad.reshape(-1, 4)
    return (q[:, 0] << 6) | (q[:, 1] << 4) | (q[:, 2] << 2) | q[:, 3]


def _unpack2(packed: np.ndarray, n: int) -> np.ndarray:
    """Inverse of :func:`_pack2` (``n`` codes)."""
    packed = np.asarray(packed, np.uint8)
    out = np.empty((packed.shape[0], 4), np.uint8)
    for j in range(4):
        np.right_shift(packed, 6 - 2 * j, out=out[:, j])
    out &= 3
    return out.reshape(-1)[:n]


def _both_strands(packed: np.ndarray, n: int) -> np.ndarray:
    """The index text ``F + revcomp(F)`` from ``F`` packed by :func:`_pack2` (``n`` codes,
    all 0..3), built in place (no concatenation)."""
    text = np.empty(2 * n, np.uint8)
    text[:n] = _unpack2(packed, n)
    np.subtract(3, text[n - 1 :: -1] if n else text[:0], out=text[n:])
    return text


def _cnt(bwt: np.ndarray) -> np.ndarray:
    """First rows of A, C, G, T and the row count, from the last block's counts (totals)."""
    cnt = np.zeros(5, np.int64)
    cnt[0] = 1  # the sentinel's row
    cnt[1:] = 1 + np.cumsum(bwt[-1, :4].astype(np.int64))
    return cnt


def _assemble(text, sa, names, offsets, sa_intv: int = SA_INTV) -> FMIndex:
    """The index from ``text`` (codes, no sentinel) and the full suffix array of
    ``text + $`` (any integer dtype; only a sample is kept)."""
    n1 = text.shape[0] + 1
    bwt = _k.new_bwt(n1)
    primary = int(_k.build_bwt(text, sa, bwt))
    _k.fill_counts(bwt, n1, primary)
    sample = sa[::sa_intv].astype(np.int64)
    return FMIndex(
        text,
        sample,
        bwt,
        _cnt(bwt),
        primary,
        list(names),
        np.asarray(offsets, np.int64),
        sa_intv,
    )


def build_fm_index(reference: str | os.PathLike, seed: int = 11) -> FMIndex:
    """FMD-index of every contig of a FASTA file (plain or gzip).

    ``N`` (and other non-ACGT letters) are replaced by bases drawn from ``seed``.
    """
    names: list[str] = []
    parts: list[np.ndarray] = []
    from biometal.io.encoding import encode

    progress = Progress(log, f"FM-index of {reference}", total=3, unit="stages")
    seen: dict[str, int] = {}
    for i, rec in enumerate(read_fasta(reference), start=1):
        if rec.id in seen:
            raise InputFormatError(
                str(reference),
                None,
                f"duplicate contig name '{rec.id}' (records {seen[rec.id]} and {i}); contig "
                "names must be unique, rename or remove one",
            )
        seen[rec.id] = i
        names.append(rec.id)
        parts.append(encode(rec.seq))
    if not parts or sum(len(p) for p in parts) == 0:
        raise InputFormatError(str(reference), None, "no sequence to index")
    fwd = np.concatenate(parts)
    amb = fwd == CODE_N
    if amb.any():
        rng = np.random.default_rng(seed)
        fwd[amb] = rng.integers(0, 4, int(amb.sum()), dtype=np.uint8)
        log.info("%d non-ACGT reference bases replaced by random bases", int(amb.sum()))
    offsets = np.zeros(len(parts) + 1, np.int64)
    np.cumsum([len(p) for p in parts], out=offsets[1:])
    progress.update(1, f"reference read: {len(names)} contigs, {int(offsets[-1]):,} bp")
    del parts, amb
    lf = fwd.shape[0]
    sym = np.empty(2 * lf + 1, np.uint8)  # text + 1, then the sentinel 0
    np.add(fwd, 1, out=sym[:lf])
    np.subtract(4, fwd[::-1], out=sym[lf : 2 * lf])  # revcomp(fwd) + 1
    sym[-1] = 0
    del fwd
    sa = suffix_array(sym)
    progress.update(1, "suffix array")
    text = sym[:-1]
    text -= 1
    index = _assemble(text, sa, names, offsets)
    del sa
    progress.update(1, "BWT and occurrence checkpoints")
    progress.done()
    return index


@dataclass
class Seeds:
    """SMEMs of a batch of reads (one row per SMEM, sorted by read then start).

    ``read``: int64 read index; ``start``/``end``: 0-based half-open query interval;
    ``occ``: occurrences on both strands; ``sa_start``: first suffix-array row (positions
    are ``index.sa_values(sa_start + arange(occ))``).
    """

    read: np.ndarray
    start: np.ndarray
    end: np.ndarray
    occ: np.ndarray
    sa_start: np.ndarray

    def __len__(self) -> int:
        return int(self.read.shape[0])

    @property
    def length(self) -> np.ndarray:
        """int64 seed lengths."""
        return self.end - self.start


def find_smems(
    index: FMIndex,
    codes: np.ndarray,
    offsets: np.ndarray,
    min_len: int = 19,
    min_intv: int = 1,
) -> Seeds:
    """SMEMs of length >= ``min_len`` of every read (``codes[offsets[r]:offsets[r+1]]``,
    uint8 A0 C1 G2 T3 N4), as ``bwa fastmap -l min_len -i min_intv`` finds them."""
    if min_len < 1:
        raise BiometalError(f"min_len must be >= 1, got {min_len}")
    codes = np.ascontiguousarray(codes, np.uint8)
    offsets = np.ascontiguousarray(offsets, np.int64)
    total = int(offsets[-1]) if offsets.shape[0] else 0
    out = np.empty((max(total, 1), 5), np.int64)
    n_out, row0 = _k.smem_batch(
        index.bwt, index.cnt, index.primary, codes, offsets, min_len, min_intv, out
    )
    first = np.cumsum(n_out) - n_out
    rows = np.repeat(row0 - first, n_out) + np.arange(int(n_out.sum()), dtype=np.int64)
    sel = out[rows]
    return Seeds(
        read=sel[:, 4].copy(),
        start=sel[:, 2].copy(),
        end=sel[:, 3].copy(),
        occ=sel[:, 1].copy(),
        sa_start=sel[:, 0].copy(),
    )


@dataclass
class Occurrences:
    """Reference positions of seeds (one row per occurrence).

    ``seed``: row in :class:`Seeds`; ``contig``: contig index; ``pos``: 0-based forward
    start on the contig; ``reverse``: the read matches the reverse strand;
    ``spans_contigs``: the match runs over a contig end (not a real locus).
    """

    seed: np.ndarray
    contig: np.ndarray
    pos: np.ndarray
    reverse: np.ndarray
    spans_contigs: np.ndarray


def locate(index: FMIndex, seeds: Seeds, max_occ: int) -> Occurrences:
    """Positions of every seed with at most ``max_occ`` occurrences (BWA's conversion
    ``bns_depos``: a position in the reverse half maps to the forward start), grouped by
    seed in seed order (:func:`format_fastmap_bytes` relies on it)."""
    keep = np.flatnonzero(seeds.occ <= max_occ)
    occ = seeds.occ[keep]
    seed_idx = np.repeat(keep, occ)
    first = np.repeat(seeds.sa_start[keep], occ)
    within = np.arange(seed_idx.shape[0]) - np.repeat(np.cumsum(occ) - occ, occ)
    tpos = index.sa_values(first + within)
    length = seeds.length[seed_idx]
    lf = index.forward_length
    reverse = tpos >= lf
    fpos = np.where(reverse, 2 * lf - 1 - tpos - (length - 1), tpos)
    contig = np.searchsorted(index.offsets, fpos, side="right") - 1
    spans = fpos + length > index.offsets[contig + 1]
    return Occurrences(
        seed=seed_idx,
        contig=contig,
        pos=fpos - index.offsets[contig],
        reverse=reverse,
        spans_contigs=spans,
    )


def format_fastmap(
    index: FMIndex,
    names: list[str],
    lengths: np.ndarray,
    seeds: Seeds,
    max_positions: int = 20,
) -> str:
    """The seeds as ``bwa fastmap`` prints them (``-w max_positions``): ``SQ`` line per read,
    ``EM start end occ pos...`` per SMEM (positions ``contig:+pos`` 1-based, or ``*`` when
    there are more than ``max_positions``), ``//``."""
    return format_fastmap_bytes(index, names, lengths, seeds, max_positions).decode()


def format_fastmap_bytes(
    index: FMIndex,
    names: list[str],
    lengths: np.ndarray,
    seeds: Seeds,
    max_positions: int = 20,
) -> bytes:
    """:func:`format_fastmap` as UTF-8 bytes, written by one compiled call
    (``_smem_kernels.format_fastmap_text``; the lines formatted in Python took 0.47 of 3.0 s
    of a ``biometal fastmap`` of 100k reads)."""
    occs = locate(index, seeds, max_positions)
    n = len(seeds)
    # occurrences come grouped by seed, seeds in order (locate): seed j's are a slice
    first = np.searchsorted(occs.seed, np.arange(n), side="left")
    count = np.searchsorted(occs.seed, np.arange(n), side="right") - first
    name_txt, name_off = _text_table(names)
    c_txt, c_off = _text_table(index.names)
    widest = int(np.diff(c_off).max()) if len(c_off) > 1 else 0
    size = (
        len(name_txt) + 32 * len(names) + 72 * n + (widest + 24) * len(occs.seed) + 16
    )  # a number <= 20 digits, separators and tags
    text = _k.format_fastmap_text(
        name_txt, name_off, np.ascontiguousarray(lengths, np.int64),
        np.ascontiguousarray(seeds.read, np.int64), np.ascontiguousarray(seeds.start, np.int64),
        np.ascontiguousarray(seeds.end, np.int64), np.ascontiguousarray(seeds.occ, np.int64),
        first.astype(np.int64), count.astype(np.int64),
        np.ascontiguousarray(occs.contig, np.int64), np.ascontiguousarray(occs.pos, np.int64),
        np.ascontiguousarray(occs.reverse, np.bool_), c_txt, c_off, size,
    )  # fmt: skip
    return text.tobytes()


def _text_table(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """UTF-8 bytes of ``texts`` back to back (uint8) and their offsets (int64[n + 1])."""
    enc = [t.encode() for t in texts]
    off = np.zeros(len(enc) + 1, np.int64)
    np.cumsum([len(e) for e in enc], out=off[1:])
    return np.frombuffer(b"".join(enc) or b"\0", np.uint8), off


def parse_fastmap(text: str) -> dict[str, list[tuple[int, int, int, tuple[str, ...]]]]:
    """``bwa fastmap`` output -> ``{read: [(start, end, occ, positions), ...]}`` (positions
    sorted, ``()`` when bwa printed ``*``)."""
    out: dict[str, list[tuple[int, int, int, tuple[str, ...]]]] = {}
    cur: list | None = None
    for line in text.splitlines():
        f = line.split("\t")
        if f[0] == "SQ":
            cur = out.setdefault(f[1], [])
        elif f[0] == "EM" and cur is not None:
            pos = () if f[4:] == ["*"] else tuple(sorted(f[4:]))
            cur.append((int(f[1]), int(f[2]), int(f[3]), pos))
    return out


def seeds_table(index: FMIndex, seeds: Seeds, read_names: list[str], max_occ: int):
    """One row per seed occurrence as a pandas DataFrame (read, start, end, occ, contig,
    pos, strand); seeds with more than ``max_occ`` occurrences get one row with no position."""
    import pandas as pd

    occs = locate(index, seeds, max_occ)
    df = pd.DataFrame(
        {
            "read": np.asarray(read_names, dtype=object)[seeds.read[occs.seed]],
            "start": seeds.start[occs.seed],
            "end": seeds.end[occs.seed],
            "occ": seeds.occ[occs.seed],
            "contig": np.asarray(index.names, dtype=object)[occs.contig],
            "pos": occs.pos,
            "strand": np.where(occs.reverse, "-", "+"),
        }
    )
    return df


def bwa_prefix(path: str | os.PathLike) -> str | None:
    """``path`` as the prefix of a BWA index (``path.bwt``, ``.sa``, ``.pac``, ``.ann``
    exist and ``path`` itself is no file; or ``path`` is the ``.bwt`` file), else None."""
    p = str(path)
    if p.endswith(".bwt") and Path(p).is_file():
        p = p[:-4]
    elif Path(p).is_file():
        return None
    if all(Path(p + ext).is_file() for ext in (".bwt", ".sa", ".pac", ".ann")):
        return p
    return None


def fm_index_file(reference: str | os.PathLike, out: str | os.PathLike, seed: int = 11) -> dict:
    """Build the index of ``reference`` (a FASTA; or the prefix of an existing BWA index,
    :func:`bwa_prefix`, which is converted, :meth:`FMIndex.from_bwa`) and save it to
    ``out``; returns a small summary."""
    prefix = bwa_prefix(reference)
    idx = FMIndex.from_bwa(prefix) if prefix else build_fm_index(reference, seed=seed)
    idx.save(out)
    info = {
        "contigs": len(idx.names),
        "forward_bp": idx.forward_length,
        "index_bytes": Path(out).stat().st_size,
    }
    log.info("FM-index of %s: %s", reference, info)
    return info


def smems_file(
    index_path: str | os.PathLike,
    fastq: list[str],
    out: str | os.PathLike,
    *,
    n_reads: int,
    min_len: int = 19,
    max_positions: int = 20,
) -> dict:
    """SMEMs of the first ``n_reads`` reads of each FASTQ, written in ``bwa fastmap``
    format (gzip when ``out`` ends in .gz, atomic); returns counts."""
    from biometal.io.fastx import read_fastq_chunks
    from biometal.io.sinks import OutputFile

    index = FMIndex.load(index_path)
    n_seeds = n_total = 0
    with OutputFile(out) as sink:
        for path in fastq:
            it = read_fastq_chunks(path, n_reads, with_names=True)
            chunk = next(it, None)
            if chunk is None:
                continue
            names = [(n.decode() if isinstance(n, bytes) else n).split()[0] for n in chunk.names]
            seeds = find_smems(index, chunk.codes, chunk.offsets, min_len)
            lengths = np.diff(chunk.offsets)
            sink.write(format_fastmap_bytes(index, names, lengths, seeds, max_positions))
            n_seeds += len(seeds)
            n_total += len(names)
    info = {"reads": n_total, "smems": n_seeds}
    log.info("SMEMs: %s", info)
    return info


def load_or_build_index(path: str | os.PathLike, seed: int = 11) -> FMIndex:
    """The FM-index in ``path``: a file saved by :meth:`FMIndex.save` (``.npz``, recognised
    by content) is loaded, a BWA index prefix (:func:`bwa_prefix`) is read
    (:meth:`FMIndex.from_bwa`), anything else is read as a FASTA reference and indexed in
    memory (:func:`build_fm_index`, nothing is saved)."""
    prefix = bwa_prefix(path)
    if prefix:
        return FMIndex.from_bwa(prefix)
    try:
        with open(path, "rb") as fh:
            magic = fh.read(2)
    except OSError:
        magic = b""  # a missing file, a URL: the FASTA reader gives the error
    if magic == b"PK":
        return FMIndex.load(path)
    return build_fm_index(path, seed=seed)


def fastmap_file(
    index: FMIndex | str | os.PathLike,
    reads: str | os.PathLike,
    out: str | os.PathLike,
    *,
    min_len: int = 17,
    min_intv: int = 1,
    max_positions: int = 20,
    batch: int = 16384,
    threads: int | None = None,
) -> dict:
    """SMEMs of every read of ``reads`` (FASTA or FASTQ, plain/gzip/URL, ``-`` for standard
    input), streamed in batches of ``batch`` reads, written as ``bwa fastmap -l min_len -i
    min_intv -w max_positions`` prints them (:func:`format_fastmap`) to ``out`` (atomic,
    gzip by suffix; ``-``: standard output). ``index``: an :class:`FMIndex` or a path for
    :func:`load_or_build_index`. ``threads``: numba threads (None: unchanged). The defaults
    are ``bwa fastmap``'s. Returns counts.
    """
    from biometal._threads import numba_threads
    from biometal.align.files import iter_sequence_batches
    from biometal.io.sinks import output_sink

    if min_len < 1 or min_intv < 1 or max_positions < 0:
        raise BiometalError(
            f"fastmap: need min_len >= 1, min_intv >= 1 and max_positions >= 0, got "
            f"{min_len}, {min_intv}, {max_positions}"
        )
    if not isinstance(index, FMIndex):
        index = load_or_build_index(index)
    n_seeds = n_reads = 0
    with numba_threads(threads), output_sink(out) as sink:
        for names, seqs in iter_sequence_batches(reads, batch):
            seeds = find_smems(index, seqs.codes, seqs.offsets, min_len, min_intv)
            sink.write(format_fastmap_bytes(index, names, seqs.lengths, seeds, max_positions))
            n_seeds += len(seeds)
            n_reads += len(names)
    info = {"reads": n_reads, "smems": n_seeds}
    log.info("SMEMs: %s", info)
    return info


__all__ = [
    "FMIndex",
    "Occurrences",
    "Seeds",
    "build_fm_index",
    "bwa_prefix",
    "decode",
    "fastmap_file",
    "find_smems",
    "fm_index_file",
    "format_fastmap",
    "load_or_build_index",
    "locate",
    "parse_fastmap",
    "reverse_complement",
    "seeds_table",
    "smems_file",
    "suffix_array",
]
