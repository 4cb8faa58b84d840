"""Per-read statistics on a chunk of reads, on the resolved compute backend.

Input layout (the streaming FASTQ reader's chunk): ``codes uint8[n_bases]`` with A=0 C=1
G=2 T=3 and anything >= 4 counted as N; ``qual uint8[n_bases]`` Phred scores (ASCII offset
removed); ``offsets int64[n_reads+1]``, read ``i`` being ``codes[offsets[i]:offsets[i+1]]``.

Conventions (identical on both backends, bit for bit):

- ``gc_fraction = (C + G) / (A + C + G + T)``; N is left out of the denominator. A read
  with no A/C/G/T (empty or all-N) gets **0.0**, not NaN; tell those reads apart with
  ``counts[:, :4].sum(1) == 0``.
- ``mean_quality = sum(qual) / length``; an empty read gets **0.0**.
- Both are computed from exact integer sums as one float64 division rounded once to
  float32. On Metal the kernel produces the integer sums and the division is done on the
  host (:meth:`ReadStats.from_sums`), because Metal's default fast-math division is not
  correctly rounded.
- Offsets stay 64-bit end to end (``ulong`` in Metal): no limit on bases per chunk. Per-read
  counts are uint32, so a single read must be shorter than 2**32 bases.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from . import metal_runner
from ._checks import offsets_vector, uint8_vector
from .backend import resolve_backend

_U32_MAX = 2**32 - 1


class ReadStats(NamedTuple):
    """Per-read statistics of one chunk (n = number of reads).

    counts          uint32[n, 5]  A, C, G, T, N counts
    gc_fraction     float32[n]    (C+G)/(A+C+G+T); 0.0 when A+C+G+T == 0
    mean_quality    float32[n]    mean Phred score; 0.0 for an empty read
    n_low_quality   uint32[n]     bases with qual < quality_threshold
    quality_sum     uint64[n]     sum of Phred scores (exact; for aggregating chunks)
    """

    counts: np.ndarray
    gc_fraction: np.ndarray
    mean_quality: np.ndarray
    n_low_quality: np.ndarray
    quality_sum: np.ndarray

    @property
    def lengths(self) -> np.ndarray:
        """Read lengths, int64[n]."""
        return self.counts.sum(axis=1, dtype=np.int64)

    @classmethod
    def from_sums(
        cls, counts: np.ndarray, quality_sum: np.ndarray, n_low_quality: np.ndarray
    ) -> ReadStats:
        """Finish the statistics from the kernel's exact integer outputs (host side)."""
        counts = np.asarray(counts, dtype=np.uint32).reshape(-1, 5)
        qsum = np.asarray(quality_sum, dtype=np.uint64)
        c64 = counts.astype(np.int64)
        acgt = c64[:, :4].sum(axis=1)
        length = acgt + c64[:, 4]
        gc = np.zeros(len(counts), dtype=np.float64)
        np.divide(c64[:, 1] + c64[:, 2], acgt, out=gc, where=acgt > 0)
        mean_q = np.zeros(len(counts), dtype=np.float64)
        np.divide(qsum.astype(np.int64), length, out=mean_q, where=length > 0)
        return cls(
            counts=counts,
            gc_fraction=gc.astype(np.float32),
            mean_quality=mean_q.astype(np.float32),
            n_low_quality=np.asarray(n_low_quality, dtype=np.uint32),
            quality_sum=qsum,
        )


def _check_inputs(codes: Any, qual: Any, offsets: Any, threshold: Any) -> tuple:
    codes = uint8_vector("read_stats", "codes", codes)
    qual = uint8_vector("read_stats", "qual", qual)
    if len(codes) != len(qual):
        raise ValueError(
            "read_stats: codes and qual must have the same length, "
            f"got {len(codes)} and {len(qual)}"
        )
    offsets = offsets_vector("read_stats", "offsets", offsets, len(codes))
    if len(offsets) > 1 and np.diff(offsets).max() > _U32_MAX:
        raise ValueError("read_stats: a read is longer than 2**32-1 bases")
    if isinstance(threshold, bool) or not isinstance(threshold, (int, np.integer)):
        raise ValueError(f"read_stats: quality_threshold must be an integer, got {threshold!r}")
    if not 0 <= int(threshold) <= _U32_MAX:
        raise ValueError(f"read_stats: quality_threshold must be in [0, 2**32-1], got {threshold}")
    return codes, qual, offsets, int(threshold)


def _read_stats_metal(
    codes: np.ndarray, qual: np.ndarray, offsets: np.ndarray, threshold: int
) -> ReadStats:
    n_reads = len(offsets) - 1
    if n_reads > _U32_MAX:
        raise ValueError("read_stats: more than 2**32-1 reads in one chunk")
    counts, qsum, n_low = metal_runner.run(
        "read_stats",
        "read_stats",
        n_reads,
        [
            codes,
            qual,
            offsets.view(np.uint64),  # validated non-negative: same bytes
            metal_runner.scalar(threshold, np.uint32),
            metal_runner.scalar(n_reads, np.uint32),
            metal_runner.Output(np.uint32, (n_reads, 5)),
            metal_runner.Output(np.uint64, (n_reads,)),
            metal_runner.Output(np.uint32, (n_reads,)),
        ],
    )
    return ReadStats.from_sums(counts, qsum, n_low)


def _read_stats_cpu(
    codes: np.ndarray, qual: np.ndarray, offsets: np.ndarray, threshold: int
) -> ReadStats:
    from .read_stats_cpu import read_stats_cpu  # numba import is slow: only when used

    counts, qsum, n_low, gc, mean_q = read_stats_cpu(codes, qual, offsets, np.int64(threshold))
    return ReadStats(counts, gc, mean_q, n_low, qsum)


def read_stats(
    codes: np.ndarray,
    qual: np.ndarray,
    offsets: np.ndarray,
    quality_threshold: int = 20,
    backend: str | None = None,
) -> ReadStats:
    """Per-read base counts, GC fraction, mean quality and low-quality base count.

    ``codes``/``qual``: uint8[n_bases]; ``offsets``: int64[n_reads+1] (other integer dtypes
    are converted). ``quality_threshold``: a base is low quality when ``qual < threshold``.
    ``backend``: auto | metal | cpu, or None for ``$BIOMETAL_BACKEND`` / auto.
    Raises ValueError for malformed input and BackendError for an unusable backend.
    """
    codes, qual, offsets, threshold = _check_inputs(codes, qual, offsets, quality_threshold)
    if resolve_backend(backend) == "metal":
        return _read_stats_metal(codes, qual, offsets, threshold)
    return _read_stats_cpu(codes, qual, offsets, threshold)


def summarize_read_stats(stats: ReadStats) -> dict[str, float | int]:
    """Chunk totals: reads, bases, per-base counts, overall GC, mean quality, low-quality bases.

    Overall GC and mean quality are ratios of totals (base-weighted), 0.0 when undefined.
    """
    totals = stats.counts.sum(axis=0, dtype=np.int64)
    n_bases = int(totals.sum())
    acgt = int(totals[:4].sum())
    qsum = int(stats.quality_sum.sum(dtype=np.uint64))
    return {
        "n_reads": len(stats.counts),
        "n_bases": n_bases,
        "A": int(totals[0]),
        "C": int(totals[1]),
        "G": int(totals[2]),
        "T": int(totals[3]),
        "N": int(totals[4]),
        "gc_fraction": (int(totals[1]) + int(totals[2])) / acgt if acgt else 0.0,
        "mean_quality": qsum / n_bases if n_bases else 0.0,
        "n_low_quality": int(stats.n_low_quality.sum(dtype=np.int64)),
    }
