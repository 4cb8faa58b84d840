"""Adapter read-through: detection and trimming in single and paired reads.

A read runs into its 3' adapter when the library insert is shorter than the read. Two
detectors, both compiled (numba, parallel over the reads of a chunk,
:mod:`biometal.readqc._adapter_kernels`):

* **Pairs** (:func:`trim_pairs`): the insert is found from the mate overlap, as Atropos'
  insert mode and AdapterRemoval do. For a candidate insert size ``I`` shorter than a read,
  R1[:I] must be the reverse complement of R2[:I] and R1[I:], R2[I:] must start with their
  adapters; the candidate is scored by the log-likelihood ratio (quality-aware) of all
  those comparisons against unrelated sequence, and the best one is taken if its score is
  at least ``min_llr`` nats (its mismatches may not exceed ``max_mismatch_rate``). The
  adapter evidence settles short overlaps; the overlap settles adapters with only a base
  or two in the read. Each mate's cut is then moved by up to 2 bases where its own adapter
  match says so (an indel error in the insert part of one mate); where the ungapped overlap
  fails (or has 2+ mismatches near the read end), an overlap with one indel error (the
  mates' adapters a base apart) is tried too. A cut of 1-3 bases must beat the plain
  overlap of an insert as long as the reads. Candidates: an insert that leaves 12 or more
  adapter bases in both mates puts one of the adapter's 6-mers (offsets 0, 6, 12, ...) in
  place in one of them unless both carry several errors there (pigeonhole), so only those
  inserts and the last 11 are scored. Pairs without an accepted overlap are searched mate
  by mate as single reads, with partial adapters of at least ``fallback_overlap`` (12)
  bases (a true read-through of fewer bases shows in the overlap).
* **Single reads** (:func:`trim_single`): semi-global edit-distance alignment of the
  adapter at the 3' end as cutadapt does (``error_rate`` like cutadapt's ``-e``, partial
  adapters down to ``min_overlap`` bases like ``-O``, ``N`` in the read a mismatch).

A poly-G tail (2-colour instruments) of ``poly_g`` bases or more can be cut after the
adapter (fastp's rule: one non-G allowed per 8 bases); ``poly_g=0`` (default) leaves it.

Streaming: the FASTQ text is read in blocks (:mod:`biometal.readqc._trim_io`, through the
parser of :mod:`biometal.io.fastx`; mates in lock-step, IDs checked with the errors of
:mod:`biometal.io.mates`), at most ``chunk_reads`` reads at a time, so memory stays flat;
only bases and qualities are decoded, and each record is written by slicing its text (no
per-read Python objects). Output FASTQ (gzip when the name ends in ``.gz``) is written
atomically (a failure leaves neither file). Header lines are copied as read, bases come out
upper-case ``ACGTN`` (other IUPAC letters as ``N``). Reads trimmed to length 0 are kept (empty
records), so mates stay paired.
"""

from __future__ import annotations

import os
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import lru_cache
from types import ModuleType

import numpy as np

from biometal._threads import numba_threads
from biometal.errors import BiometalError
from biometal.io.encoding import encode
from biometal.io.fastx import DEFAULT_CHUNK_READS, ReadChunk
from biometal.readqc import _trim_io

#: Illumina TruSeq read-through adapters (R1, R2), as the simulator writes them.
TRUSEQ_R1 = "AGATCGGAAGAGCACACGTCTGAACTCCAGTCA"
TRUSEQ_R2 = "AGATCGGAAGAGCGTCGTGTAGGGAAAGAGTGT"

_Q_MAX = 63
_E_FLOOR = 10.0**-3.5  # a reported quality above ~Q35 is not trusted further


@lru_cache(maxsize=1)
def _k() -> ModuleType:
    from biometal.readqc import _adapter_kernels

    return _adapter_kernels


@lru_cache(maxsize=1)
def llr_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-base log-likelihood ratios (nats), float64: ``am[q]``/``ax[q]`` for a read base
    of quality ``q`` matching / not matching a known adapter base, ``om[qa, qb]``/
    ``ox[qa, qb]`` for two overlapping mate bases that agree / disagree (shape 64, 64x64),
    against unrelated sequence (agreement 1/4)."""
    q = np.arange(_Q_MAX + 1, dtype=np.float64)
    e = np.clip(10.0 ** (-q / 10.0), _E_FLOOR, 0.75)
    am = np.log((1.0 - e) / 0.25)
    ax = np.log(np.maximum(e / 3.0, 1e-12) / 0.25)
    ea, eb = e[:, None], e[None, :]
    agree = (1.0 - ea) * (1.0 - eb) + ea * eb / 3.0
    om = np.log(agree / 0.25)
    ox = np.log(np.maximum(1.0 - agree, 1e-12) / 0.75)
    return am, ax, om, ox


@lru_cache(maxsize=8)
def _pieces(adapter: str) -> np.ndarray:
    return _k().piece_table(_adapter_codes(adapter, "adapter"))


def _adapter_codes(adapter: str, what: str) -> np.ndarray:
    text = adapter.strip().upper()
    if not text or set(text) - set("ACGTN"):
        raise BiometalError(f"{what}: expected a non-empty adapter of A/C/G/T/N, got {adapter!r}")
    return encode(text)


@dataclass
class TrimStats:
    """Counts of one run. ``reads``: reads read (both mates counted); ``with_adapter``: reads
    cut at an adapter; ``bases_in``/``bases_trimmed``: bases read / removed; ``poly_g``: reads
    that lost a poly-G tail; ``quality_trimmed``: reads that lost a low-quality 3' end;
    ``pairs_overlap``/``pairs_single``: pairs whose adapters were found by the mate overlap /
    by a mate's own adapter match (paired runs only)."""

    reads: int = 0
    with_adapter: int = 0
    bases_in: int = 0
    bases_trimmed: int = 0
    poly_g: int = 0
    quality_trimmed: int = 0
    pairs_overlap: int = 0
    pairs_single: int = 0
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        """The counts as a plain dict (for logs)."""
        out = {k: v for k, v in self.__dict__.items() if k != "extra"}
        out.update(self.extra)
        return out


def _account(
    u: _trim_io.Unpacked, cut: np.ndarray, poly_g: int, stats: TrimStats, qlen: np.ndarray | None
) -> None:
    """Add a batch to ``stats``; with ``poly_g`` also cut poly-G tails (``cut`` updated).
    ``qlen``: lengths after quality trimming (None: none done)."""
    lengths0 = u.lengths
    stats.reads += lengths0.size
    stats.bases_in += int(lengths0.sum())
    if qlen is None:
        qlen = lengths0
    else:
        stats.quality_trimmed += int((qlen < lengths0).sum())
    stats.with_adapter += int((cut < qlen).sum())
    if poly_g > 0:
        before = cut.copy()
        _k().poly_g_trim(u.codes, u.offs, cut, poly_g)
        stats.poly_g += int((cut < before).sum())
    stats.bases_trimmed += int((lengths0 - cut).sum())


def _quality_trim(u: _trim_io.Unpacked, cutoff: int) -> np.ndarray | None:
    """Cut the low-quality 3' ends of the reads of ``u`` (cutadapt ``-q cutoff``) and pack
    them (``u.offs`` updated); their new lengths, int32 (None when ``cutoff`` is 0)."""
    if cutoff <= 0:
        return None
    from biometal.readqc import _qualtrim_kernels

    qlen = np.empty(u.k, np.int32)
    _qualtrim_kernels.quality_trim_compact(u.codes, u.qual, u.offs, int(cutoff), qlen)
    return qlen


def single_cut(
    chunk: ReadChunk, adapter: str, *, error_rate: float = 0.1, min_overlap: int = 3
) -> np.ndarray:
    """int32[n_reads]: length of each read of ``chunk`` up to its 3' adapter (the read's
    length when none is found); cutadapt's ``-e error_rate -O min_overlap`` semantics."""
    return _single_cut(chunk.codes, chunk.offsets, adapter, error_rate, min_overlap)


def _single_cut(
    codes: np.ndarray, offsets: np.ndarray, adapter: str, error_rate: float, min_overlap: int
) -> np.ndarray:
    ad = _adapter_codes(adapter, "adapter")
    out = np.empty(offsets.size - 1, np.int32)
    _k().single_trim(codes, offsets, ad, float(error_rate), int(min_overlap), _pieces(adapter), out)
    return out


@dataclass(frozen=True)
class PairParams:
    """Settings of the mate-overlap detector (see the module docstring)."""

    max_mismatch_rate: float = 0.15
    min_llr: float = 20.0
    min_compare: int = 10
    gap_penalty: float = 6.0
    error_rate: float = 0.1
    fallback_overlap: int = 12


def pair_cut(
    c1: ReadChunk,
    c2: ReadChunk,
    adapter1: str = TRUSEQ_R1,
    adapter2: str = TRUSEQ_R2,
    params: PairParams = PairParams(),
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut lengths of read pairs (mates ``i`` of ``c1`` and ``c2``): int32 ``(len1, len2)``
    and int8 ``how`` (0 none, 1 from the mate overlap, 2 from one mate's adapter alone)."""
    if len(c1) != len(c2):
        raise ValueError(f"chunks of {len(c1)} and {len(c2)} reads")
    return _pair_cut(
        c1.codes, c1.qual, c1.offsets, c2.codes, c2.qual, c2.offsets, adapter1, adapter2, params
    )


def _pair_cut(
    codes1: np.ndarray,
    qual1: np.ndarray,
    off1: np.ndarray,
    codes2: np.ndarray,
    qual2: np.ndarray,
    off2: np.ndarray,
    adapter1: str,
    adapter2: str,
    params: PairParams,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    a1 = _adapter_codes(adapter1, "adapter")
    a2 = _adapter_codes(adapter2, "adapter2")
    am, ax, om, ox = llr_tables()
    n = off1.size - 1
    max_len = int(max(np.diff(off1).max(initial=0), np.diff(off2).max(initial=0)))
    out1 = np.empty(n, np.int32)
    out2 = np.empty(n, np.int32)
    how = np.empty(n, np.int8)
    _k().pair_trim(
        codes1,
        qual1,
        off1,
        codes2,
        qual2,
        off2,
        a1,
        a2,
        am,
        ax,
        om,
        ox,
        float(params.max_mismatch_rate),
        float(params.min_llr),
        int(params.min_compare),
        float(params.gap_penalty),
        float(params.error_rate),
        int(params.fallback_overlap),
        max_len,
        _pieces(adapter1),
        _pieces(adapter2),
        out1,
        out2,
        how,
    )
    return out1, out2, how


def _check_common(
    error_rate: float, min_overlap: int, poly_g: int, chunk_reads: int, quality_cutoff: int = 0
) -> None:
    if quality_cutoff < 0:
        raise BiometalError(f"quality_cutoff: expected >= 0, got {quality_cutoff!r}")
    if not 0.0 <= error_rate < 1.0:
        raise BiometalError(f"error_rate: expected a number in [0, 1), got {error_rate!r}")
    if min_overlap < 1:
        raise BiometalError(f"min_overlap: expected >= 1, got {min_overlap!r}")
    if poly_g < 0:
        raise BiometalError(f"poly_g: expected >= 0, got {poly_g!r}")
    if chunk_reads < 1:
        raise BiometalError(f"chunk_reads: expected >= 1, got {chunk_reads!r}")


def trim_single(
    fastq_in: str | os.PathLike,
    fastq_out: str | os.PathLike,
    adapter: str = TRUSEQ_R1,
    *,
    error_rate: float = 0.1,
    min_overlap: int = 3,
    poly_g: int = 0,
    quality_cutoff: int = 0,
    chunk_reads: int = DEFAULT_CHUNK_READS,
    threads: int | None = None,
) -> dict:
    """Cut every read of ``fastq_in`` at its 3' ``adapter``; write ``fastq_out`` atomically.

    ``error_rate``: edits per adapter base allowed (cutadapt ``-e``); ``min_overlap``: shortest
    partial adapter at the 3' end (``-O``); ``poly_g``: also cut a poly-G tail of at least
    that many bases (0: off); ``quality_cutoff``: first cut the read's low-quality 3' end as
    cutadapt ``-q`` does (Phred; 0: off); ``threads``: numba threads (None: unchanged). Returns
    :meth:`TrimStats.as_dict`.
    """
    _check_common(error_rate, min_overlap, poly_g, chunk_reads, quality_cutoff)
    _adapter_codes(adapter, "adapter")
    stats = TrimStats()
    k = _k()
    u = _trim_io.Unpacked()
    with numba_threads(threads), _trim_io.TrimmedWriter(fastq_out, k) as out:
        for w in _trim_io.windows(fastq_in, chunk_reads):
            u.fill(k, w, with_qual=quality_cutoff > 0)
            qlen = _quality_trim(u, quality_cutoff)
            cut = _single_cut(u.codes, u.offs, adapter, error_rate, min_overlap)
            _account(u, cut, poly_g, stats, qlen)
            out.write(w, cut)
    return stats.as_dict()


def trim_pairs(
    fastq1: str | os.PathLike,
    fastq2: str | os.PathLike,
    out1: str | os.PathLike,
    out2: str | os.PathLike,
    adapter1: str = TRUSEQ_R1,
    adapter2: str = TRUSEQ_R2,
    *,
    params: PairParams = PairParams(),
    poly_g: int = 0,
    quality_cutoff: int = 0,
    chunk_reads: int = DEFAULT_CHUNK_READS,
    threads: int | None = None,
) -> dict:
    """Trim read pairs to their insert (mate overlap + adapters); write both mates atomically.

    Mates must list the same reads in the same order (checked; a mismatch or different read
    counts is a :class:`~biometal.io.mates.MateError` and neither output is left).
    ``quality_cutoff``: first cut each mate's low-quality 3' end (cutadapt ``-q``, both
    mates). Returns
    :meth:`TrimStats.as_dict` (reads of both mates counted).
    """
    _check_common(
        params.max_mismatch_rate, params.fallback_overlap, poly_g, chunk_reads, quality_cutoff
    )
    _adapter_codes(adapter1, "adapter")
    _adapter_codes(adapter2, "adapter2")
    stats = TrimStats()
    k = _k()
    u1, u2 = _trim_io.Unpacked(), _trim_io.Unpacked()
    with numba_threads(threads), ExitStack() as stack:
        o1 = stack.enter_context(_trim_io.TrimmedWriter(out1, k))
        o2 = stack.enter_context(_trim_io.TrimmedWriter(out2, k))
        for w1, w2 in _trim_io.mate_windows(fastq1, fastq2, chunk_reads, k):
            u1.fill(k, w1, with_qual=True)
            u2.fill(k, w2, with_qual=True)
            q1, q2 = _quality_trim(u1, quality_cutoff), _quality_trim(u2, quality_cutoff)
            k1, k2, how = _pair_cut(
                u1.codes, u1.qual, u1.offs, u2.codes, u2.qual, u2.offs, adapter1, adapter2, params
            )
            stats.pairs_overlap += int((how == 1).sum())
            stats.pairs_single += int((how == 2).sum())
            _account(u1, k1, poly_g, stats, q1)
            _account(u2, k2, poly_g, stats, q2)
            o1.write(w1, k1)
            o2.write(w2, k2)
    return stats.as_dict()
