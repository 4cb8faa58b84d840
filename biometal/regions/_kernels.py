"""Numba interval kernels (CPU). Inputs are *keyed* coordinates: ``group << SHIFT | pos``,
so intervals of different chromosome/strand groups never touch; ``bs``/``be`` are B sorted by
start, ``bmax`` the running maximum of ``be``; merged arrays are disjoint and sorted."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

SHIFT = 36  # positions < 2**36 (68 Gb), groups < 2**27


@njit(cache=True, parallel=True)
def overlap_fill(as_, ae, bs, be, bmax, offsets, ib):
    """Write the sorted-B index of every overlap of A interval ``i`` to
    ``ib[offsets[i]:offsets[i + 1]]`` (ascending); ``offsets`` come from the counts of the
    ``overlap_count`` kernel (biometal.kernels), which counts the same overlaps."""
    n = len(as_)
    for i in prange(n):
        s = as_[i]
        j = np.searchsorted(bs, ae[i]) - 1
        k = offsets[i + 1] - 1
        while j >= 0 and bmax[j] > s:
            if be[j] > s:
                ib[k] = j
                k -= 1
            j -= 1


@njit(cache=True)
def merge_groups(s, e, d):
    """Group ids of intervals sorted by start: a new group starts when ``s > running_end + d``."""
    n = len(s)
    gid = np.empty(n, dtype=np.int64)
    if n == 0:
        return gid
    g = 0
    cur = e[0]
    gid[0] = 0
    for i in range(1, n):
        if s[i] > cur + d:
            g += 1
            cur = e[i]
        elif e[i] > cur:
            cur = e[i]
        gid[i] = g
    return gid


@njit(cache=True)
def subtract_count(as_, ae, ms, me):
    """Pieces left of each A interval after removing the merged (disjoint) B intervals."""
    n = len(as_)
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        cur = as_[i]
        k = np.searchsorted(me, as_[i], side="right")
        c = 0
        hit = False
        while k < len(ms) and ms[k] < ae[i]:
            hit = True
            if ms[k] > cur:
                c += 1
            if me[k] > cur:
                cur = me[k]
            k += 1
        if not hit:
            c = 1
        elif cur < ae[i]:
            c += 1
        out[i] = c
    return out


@njit(cache=True)
def subtract_fill(as_, ae, ms, me, offsets, ps, pe):
    """The pieces counted by :func:`subtract_count`, in ``ps``/``pe`` at ``offsets``."""
    n = len(as_)
    for i in range(n):
        cur = as_[i]
        k = np.searchsorted(me, as_[i], side="right")
        o = offsets[i]
        hit = False
        while k < len(ms) and ms[k] < ae[i]:
            hit = True
            if ms[k] > cur:
                ps[o] = cur
                pe[o] = ms[k]
                o += 1
            if me[k] > cur:
                cur = me[k]
            k += 1
        if not hit:
            ps[o] = as_[i]
            pe[o] = ae[i]
        elif cur < ae[i]:
            ps[o] = cur
            pe[o] = ae[i]


@njit(cache=True, parallel=True)
def covered_bases(as_, ae, ms, me):
    """Bases of each A interval covered by the merged (disjoint) B intervals."""
    n = len(as_)
    out = np.zeros(n, dtype=np.int64)
    for i in prange(n):
        k = np.searchsorted(me, as_[i], side="right")
        c = 0
        while k < len(ms) and ms[k] < ae[i]:
            lo = max(ms[k], as_[i])
            hi = min(me[k], ae[i])
            if hi > lo:
                c += hi - lo
            k += 1
        out[i] = c
    return out


@njit(cache=True)
def _closest_one(s, e, bs, be, bmax, ends_sorted, ends_idx, starts_idx, shift, buf):
    """Nearest B of one A interval: (count, distance) with the sorted-B indices in ``buf``;
    distance 0 for overlaps, ``gap + 1`` otherwise (bedtools); count 0 when none in group."""
    grp = s >> shift
    n = 0
    j = np.searchsorted(bs, e) - 1
    while j >= 0 and bmax[j] > s:
        if be[j] > s:
            buf[n] = j
            n += 1
        j -= 1
    if n > 0:
        return n, 0
    best = -1
    # upstream: largest end <= s in the same group
    u = np.searchsorted(ends_sorted, s, side="right") - 1
    du = -1
    if u >= 0 and (ends_sorted[u] >> shift) == grp:
        du = s - ends_sorted[u] + 1
    # downstream: smallest start >= e in the same group
    v = np.searchsorted(bs, e)
    dv = -1
    if v < len(bs) and (bs[v] >> shift) == grp:
        dv = bs[v] - e + 1
    if du < 0 and dv < 0:
        return 0, -1
    if du >= 0 and (dv < 0 or du <= dv):
        best = du
        x = ends_sorted[u]
        while u >= 0 and ends_sorted[u] == x:
            buf[n] = ends_idx[u]
            n += 1
            u -= 1
    if dv >= 0 and (du < 0 or dv <= du):
        best = dv
        x = bs[v]
        while v < len(bs) and bs[v] == x:
            buf[n] = starts_idx[v]
            n += 1
            v += 1
    return n, best


@njit(cache=True)
def closest_count(as_, ae, bs, be, bmax, ends_sorted, ends_idx, shift):
    """Number of tied nearest B intervals of each A interval (0 when none)."""
    n = len(as_)
    out = np.empty(n, dtype=np.int64)
    dist = np.empty(n, dtype=np.int64)
    buf = np.empty(len(bs) + 1, dtype=np.int64)
    starts_idx = np.arange(len(bs))
    for i in range(n):
        c, d = _closest_one(
            as_[i], ae[i], bs, be, bmax, ends_sorted, ends_idx, starts_idx, shift, buf
        )
        out[i] = c
        dist[i] = d
    return out, dist


@njit(cache=True)
def closest_fill(as_, ae, bs, be, bmax, ends_sorted, ends_idx, shift, offsets, ib):
    """The sorted-B indices counted by :func:`closest_count`, at ``offsets``."""
    buf = np.empty(len(bs) + 1, dtype=np.int64)
    starts_idx = np.arange(len(bs))
    for i in range(len(as_)):
        c, d = _closest_one(
            as_[i], ae[i], bs, be, bmax, ends_sorted, ends_idx, starts_idx, shift, buf
        )
        for k in range(c):
            ib[offsets[i] + k] = buf[k]
