"""Super-maximal exact matches (SMEMs) of reads against a reference, as BWA-MEM seeds them.

- :func:`build_fm_index` -> :class:`FMIndex`: suffix array and FMD-index (BWT with
  occurrence checkpoints) of ``T = F + revcomp(F) + $``, ``F`` the reference contigs
  concatenated (BWA's text: the forward and reverse strands, so one bi-directional index
  serves both strands). Built once (prefix doubling in numpy, O(n log n)) and saved
  (:meth:`FMIndex.save`, ``.npz``). ``N`` in the reference becomes a pseudo-random base
  drawn from ``seed`` (BWA does the same with its own generator).
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

INDEX_VERSION = 1
_COMP = np.array([3, 2, 1, 0, 4], np.uint8)


def reverse_complement(codes: np.ndarray) -> np.ndarray:
    """Reverse complement of uint8 codes (N stays N)."""
    return _COMP[np.asarray(codes)[::-1]]


def suffix_array(text: np.ndarray) -> np.ndarray:
    """Suffix array of ``text`` (uint8 codes; the last symbol must be a unique smallest
    sentinel, e.g. 0 with letters 1..4): int64[n] of suffix starts in sorted order.

    Prefix doubling: ranks of the first 16 symbols (packed base 5), then ranks of
    ``(rank[i], rank[i + h])`` pairs for h = 16, 32, ... until every rank is unique.
    """
    n = int(text.shape[0])
    if n == 0:
        return np.zeros(0, np.int64)
    h = 16
    pad = np.zeros(n + h, np.int64)
    pad[:n] = text
    key = np.zeros(n, np.int64)
    for j in range(h):
        key *= 5
        key += pad[j : j + n]
    del pad
    _, rank = np.unique(key, return_inverse=True)
    rank = rank.astype(np.int64) + 1
    n_unique = int(rank.max())
    progress = Progress(log, "suffix array", total=n, unit="suffixes")
    progress.set(n_unique, f"prefix length {h}")
    while n_unique < n:
        second = np.zeros(n, np.int64)
        if h < n:
            second[: n - h] = rank[h:]
        key = rank * (n + 1) + second
        del second
        order = np.argsort(key, kind="stable")
        sk = key[order]
        new = np.empty(n, np.int64)
        new[0] = 1
        np.cumsum(sk[1:] != sk[:-1], out=new[1:])
        new[1:] += 1
        rank = np.empty(n, np.int64)
        rank[order] = new
        n_unique = int(new[-1])
        h *= 2
        del key, sk, order, new
        progress.set(n_unique, f"prefix length {h}")
    progress.n = n
    progress.done()
    sa = np.empty(n, np.int64)
    sa[rank - 1] = np.arange(n, dtype=np.int64)
    return sa


@dataclass
class FMIndex:
    """FMD-index of a reference (both strands) with its full suffix array.

    ``text``: uint8 codes of ``F + revcomp(F)`` (no sentinel), ``sa``: int64[n + 1] suffix
    array of ``text + $``, ``bwt``: uint8[n + 1] (``$`` as 4), ``occ``: int64[(n+1)//64 + 1, 4]
    checkpoints, ``cnt``: int64[5] first rows of A, C, G, T (and n + 1), ``primary``: the row
    of the whole text. ``names``/``offsets``: contig names and their starts in ``F``
    (``offsets[-1] = len(F)``).
    """

    text: np.ndarray
    sa: np.ndarray
    bwt: np.ndarray
    occ: np.ndarray
    cnt: np.ndarray
    primary: int
    names: list[str]
    offsets: np.ndarray

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
        return int(_k.count_pattern(self.bwt, self.occ, self.cnt, codes))

    def save(self, path: str | os.PathLike) -> None:
        """Write the index to ``path`` (``.npz``, atomic)."""
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.savez(
                fh,
                version=np.int64(INDEX_VERSION),
                text=self.text,
                sa=self.sa,
                primary=np.int64(self.primary),
                names=np.array(self.names, dtype=object).astype(str),
                offsets=self.offsets,
            )

    @classmethod
    def load(cls, path: str | os.PathLike) -> FMIndex:
        """Read an index written by :meth:`save` (the BWT and checkpoints are rebuilt from
        the text and suffix array, O(n))."""
        if not Path(path).is_file():
            raise InputFormatError(str(path), None, "FM-index not found")
        with open(path, "rb") as fh:
            if fh.read(4) != b"PK\x03\x04":  # an .npz is a zip archive
                raise InputFormatError(str(path), None, "not a biometal FM-index (.npz)")
        try:
            with np.load(path, allow_pickle=False) as z:
                if int(z["version"]) != INDEX_VERSION:
                    raise InputFormatError(str(path), None, "FM-index of another version")
                text, sa = z["text"], z["sa"]
                names = [str(s) for s in z["names"]]
                offsets = z["offsets"]
                primary = int(z["primary"])
        except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            what = " ".join(str(exc).split())
            raise InputFormatError(str(path), None, f"not a biometal FM-index: {what}") from None
        return _assemble(text, sa, names, offsets, primary)


def _assemble(text, sa, names, offsets, primary) -> FMIndex:
    n = text.shape[0]
    bwt = np.empty(n + 1, np.uint8)
    prev = sa - 1
    bwt[:] = 4
    ok = prev >= 0
    bwt[ok] = text[prev[ok]]
    counts = np.zeros(((n + 1) >> _k.OCC_SHIFT) + 2, np.int64)
    occ = np.zeros((counts.shape[0], 4), np.int64)
    for c in range(4):
        cum = np.concatenate([[0], np.cumsum(bwt == c)])
        occ[:, c] = cum[np.minimum(np.arange(occ.shape[0]) << _k.OCC_SHIFT, n + 1)]
    freq = np.bincount(text, minlength=4)[:4].astype(np.int64)
    cnt = np.zeros(5, np.int64)
    cnt[0] = 1  # the sentinel's row
    cnt[1:] = 1 + np.cumsum(freq)
    return FMIndex(text, sa, bwt, occ, cnt, primary, list(names), np.asarray(offsets, np.int64))


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
    text = np.concatenate([fwd, reverse_complement(fwd)])
    sym = np.empty(text.shape[0] + 1, np.uint8)
    sym[:-1] = text + 1
    sym[-1] = 0
    sa = suffix_array(sym)
    progress.update(1, "suffix array")
    primary = int(np.flatnonzero(sa == 0)[0])
    index = _assemble(text, sa, names, offsets, primary)
    progress.update(1, "BWT and occurrence checkpoints")
    progress.done()
    return index


@dataclass
class Seeds:
    """SMEMs of a batch of reads (one row per SMEM, sorted by read then start).

    ``read``: int64 read index; ``start``/``end``: 0-based half-open query interval;
    ``occ``: occurrences on both strands; ``sa_start``: first suffix-array row (positions
    are ``index.sa[sa_start : sa_start + occ]``).
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
    n_out = _k.smem_batch(
        index.bwt, index.occ, index.cnt, index.primary, codes, offsets, min_len, min_intv, out
    )
    rows = np.concatenate(
        [np.arange(offsets[r], offsets[r] + n_out[r]) for r in range(len(n_out))]
        or [np.zeros(0, np.int64)]
    ).astype(np.int64)
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
    ``bns_depos``: a position in the reverse half maps to the forward start)."""
    keep = np.flatnonzero(seeds.occ <= max_occ)
    occ = seeds.occ[keep]
    seed_idx = np.repeat(keep, occ)
    first = np.repeat(seeds.sa_start[keep], occ)
    within = np.arange(seed_idx.shape[0]) - np.repeat(np.cumsum(occ) - occ, occ)
    tpos = index.sa[first + within]
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
    occs = locate(index, seeds, max_positions)
    by_seed: dict[int, list[str]] = {}
    for s, c, p, r in zip(occs.seed, occs.contig, occs.pos, occs.reverse, strict=True):
        by_seed.setdefault(int(s), []).append(f"{index.names[c]}:{'+-'[int(r)]}{int(p) + 1}")
    lines: list[str] = []
    j = 0
    n = len(seeds)
    for r, (name, ln) in enumerate(zip(names, lengths, strict=True)):
        lines.append(f"SQ\t{name}\t{int(ln)}")
        while j < n and seeds.read[j] == r:
            pos = by_seed.get(j)
            tail = "\t".join(pos) if pos is not None else "*"
            lines.append(f"EM\t{seeds.start[j]}\t{seeds.end[j]}\t{seeds.occ[j]}\t{tail}")
            j += 1
        lines.append("//")
    return "\n".join(lines) + "\n"


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


def fm_index_file(reference: str | os.PathLike, out: str | os.PathLike, seed: int = 11) -> dict:
    """Build the index of ``reference`` and save it to ``out``; returns a small summary."""
    idx = build_fm_index(reference, seed=seed)
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
            text = format_fastmap(index, names, np.diff(chunk.offsets), seeds, max_positions)
            sink.write(text.encode())
            n_seeds += len(seeds)
            n_total += len(names)
    info = {"reads": n_total, "smems": n_seeds}
    log.info("SMEMs: %s", info)
    return info


def load_or_build_index(path: str | os.PathLike, seed: int = 11) -> FMIndex:
    """The FM-index in ``path``: a file saved by :meth:`FMIndex.save` (``.npz``, recognised
    by content) is loaded, anything else is read as a FASTA reference and indexed in memory
    (:func:`build_fm_index`, nothing is saved)."""
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
            text = format_fastmap(index, names, seqs.lengths, seeds, max_positions)
            sink.write(text.encode())
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
