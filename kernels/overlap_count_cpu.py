"""CPU twin of overlap_count.metal (numba): targets overlapping each query interval.

One ``prange`` iteration per query mirrors the Metal grid (one thread per query), with the
same branch-free binary searches in the same order (see the Metal source's header for the
counting identity); integers only, so both give identical counts.
"""

from __future__ import annotations

from numba import njit, prange


@njit(cache=True, nogil=True, inline="always")
def _started_minus_ended(t_start, t_end, n, e, s):  # pragma: no cover - compiled
    """#(t_start < e) - #(t_end <= s): two interleaved binary searches (the Metal source)."""
    if n == 0:
        return 0
    i = 0
    j = 0
    while n > 1:
        half = n >> 1
        i = i + half if t_start[i + half] < e else i
        j = j + half if t_end[j + half] <= s else j
        n -= half
    started = i + (1 if t_start[i] < e else 0)
    ended = j + (1 if t_end[j] <= s else 0)
    return started - ended


@njit(cache=True, nogil=True, inline="always")
def _lower_bound_lt(v, n, x):  # pragma: no cover - compiled
    """First index i in [0, n) with v[i] >= x (n when none)."""
    if n == 0:
        return 0
    base = 0
    while n > 1:
        half = n >> 1
        base = base + half if v[base + half] < x else base
        n -= half
    return base + (1 if v[base] < x else 0)


@njit(cache=True, nogil=True, inline="always")
def _upper_bound_le(v, n, x):  # pragma: no cover - compiled
    """First index i in [0, n) with v[i] > x (n when none)."""
    if n == 0:
        return 0
    base = 0
    while n > 1:
        half = n >> 1
        base = base + half if v[base + half] <= x else base
        n -= half
    return base + (1 if v[base] <= x else 0)


@njit(parallel=True, cache=True, nogil=True)
def overlap_count_cpu(q_start, q_end, t_start, t_end, t_point, counts):  # pragma: no cover
    """Fill ``counts`` int64[n_query] from int64 ``q_start``/``q_end`` (any order) and the
    sorted int64 arrays ``t_start``, ``t_end`` (targets) and ``t_point`` (positions of the
    zero-length targets), as overlap_count.metal does."""
    n_target = t_start.shape[0]
    n_point = t_point.shape[0]
    for i in prange(q_start.shape[0]):
        s = q_start[i]
        e = q_end[i]
        c = _started_minus_ended(t_start, t_end, n_target, e, s)
        if s == e and n_point > 0:
            c += _upper_bound_le(t_point, n_point, s) - _lower_bound_lt(t_point, n_point, s)
        counts[i] = c
