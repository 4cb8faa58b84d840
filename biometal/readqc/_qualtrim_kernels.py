"""Compiled 3'-end quality trimming of :mod:`biometal.readqc.adapters` (CPU only, numba).

cutadapt's ``-q`` algorithm (BWA's ``bwa_trim_read``): subtract the cutoff from each
quality, sum from the 3' end, cut where that sum is largest, stop as soon as it goes
negative. Private to the package; its own call graph (called from Python only).
"""

from __future__ import annotations

from numba import njit


@njit(cache=True, nogil=True)
def quality_trim_compact(codes, qual, offsets, cutoff, out_len):
    """Cut each read's low-quality 3' end (``qual``: Phred, ``cutoff``: Phred) and pack the
    reads left in place: read ``r`` moves to ``offsets[r]:offsets[r + 1]`` of the updated
    ``offsets`` (int64[k + 1]); ``out_len[r]``: its kept length. Returns the bases kept."""
    k = offsets.size - 1
    w = 0
    start = offsets[0]
    for r in range(k):
        a = start
        n = offsets[r + 1] - a
        start = offsets[r + 1]
        stop = n
        s = 0
        best = 0
        for i in range(n - 1, -1, -1):
            s += cutoff - qual[a + i]
            if s < 0:
                break
            if s > best:
                best = s
                stop = i
        if a != w:
            for j in range(stop):
                codes[w + j] = codes[a + j]
                qual[w + j] = qual[a + j]
        offsets[r] = w
        out_len[r] = stop
        w += stop
    offsets[k] = w
    return w
