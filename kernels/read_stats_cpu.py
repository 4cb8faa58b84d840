"""CPU twin of read_stats.metal (numba): per-read statistics on one chunk of reads.

One ``prange`` iteration per read mirrors the Metal grid (one thread per read), and the
integer outputs are the same as the Metal kernel's. Unlike the Metal kernel it also does
the two float divisions itself, in exactly the way :meth:`ReadStats.from_sums` does them
on the host for the Metal backend: exact integer sums, one float64 division (both operands
are exact in float64), one rounding to float32; 0.0 where the denominator is 0.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(parallel=True, cache=True, error_model="numpy")
def read_stats_cpu(codes, qual, offsets, threshold):  # pragma: no cover - compiled by numba
    """Per-read statistics.

    codes uint8[n_bases] (A=0 C=1 G=2 T=3, >= 4 is N), qual uint8[n_bases] (Phred),
    offsets int64[n_reads+1], threshold int64 (low quality: qual < threshold).

    Returns (counts uint32[n_reads, 5], quality_sum uint64[n_reads],
    n_low_quality uint32[n_reads], gc_fraction float32[n_reads],
    mean_quality float32[n_reads]).
    """
    n_reads = offsets.shape[0] - 1
    counts = np.zeros((n_reads, 5), dtype=np.uint32)
    quality_sum = np.zeros(n_reads, dtype=np.uint64)
    n_low = np.zeros(n_reads, dtype=np.uint32)
    gc = np.zeros(n_reads, dtype=np.float32)
    mean_q = np.zeros(n_reads, dtype=np.float32)
    for r in prange(n_reads):
        n_a = 0
        n_c = 0
        n_g = 0
        n_t = 0
        n_n = 0
        qsum = 0
        low = 0
        for i in range(offsets[r], offsets[r + 1]):
            b = codes[i]
            if b == 0:
                n_a += 1
            elif b == 1:
                n_c += 1
            elif b == 2:
                n_g += 1
            elif b == 3:
                n_t += 1
            else:
                n_n += 1
            q = np.int64(qual[i])
            qsum += q
            if q < threshold:
                low += 1
        counts[r, 0] = n_a
        counts[r, 1] = n_c
        counts[r, 2] = n_g
        counts[r, 3] = n_t
        counts[r, 4] = n_n
        quality_sum[r] = qsum
        n_low[r] = low
        acgt = n_a + n_c + n_g + n_t
        if acgt > 0:
            gc[r] = np.float32(np.float64(n_c + n_g) / np.float64(acgt))
        length = acgt + n_n
        if length > 0:
            mean_q[r] = np.float32(np.float64(qsum) / np.float64(length))
    return counts, quality_sum, n_low, gc, mean_q
