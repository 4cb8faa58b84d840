"""numba loops of region coverage (private to :mod:`biometal.regions.coverage`).

A pileup block (uint32[n, 24], columns of :data:`biometal.kernels.pileup.COLUMNS`) becomes a
depth per position; the regions that overlap the block receive range sums of it.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: Per-region base columns filled by :func:`add_block`: A, C, G, T, N, deletions.
N_BASES = 6


@njit(cache=True, nogil=True)
def block_depth(counts, span, corr_s, corr_e, corr_v, bstart):  # pragma: no cover - compiled
    """Depth int64[n] of a block: bases (M/=/X entries) plus, when ``span``, deletions and
    reference skips; plus ``corr_v`` over each correction interval [corr_s, corr_e)
    (absolute positions, any order) where it meets the block."""
    n = counts.shape[0]
    depth = np.empty(n, np.int64)
    for i in range(n):
        c = counts[i]
        d = np.int64(0)
        for k in range(10):
            d += c[k]
        if span:
            d += np.int64(c[10]) + c[11] + c[12] + c[13]
        depth[i] = d
    bend = bstart + n
    for j in range(corr_s.shape[0]):
        s = max(corr_s[j], bstart)
        e = min(corr_e[j], bend)
        for p in range(s, e):
            depth[p - bstart] += corr_v[j]
    return depth


@njit(cache=True, nogil=True, inline="always")
def _i32(buf, off):  # pragma: no cover - compiled
    v = (
        np.int64(buf[off])
        | (np.int64(buf[off + 1]) << 8)
        | (np.int64(buf[off + 2]) << 16)
        | (np.int64(buf[off + 3]) << 24)
    )
    return v - (np.int64(1) << 32) if v >= (np.int64(1) << 31) else v


@njit(cache=True, nogil=True)
def _qname_hash(buf, r):  # pragma: no cover - compiled
    """64-bit FNV-1a of the read name of the record whose core starts at ``r``."""
    h = np.uint64(14695981039346656037)
    for k in range(np.int64(buf[r + 8]) - 1):
        h = (h ^ np.uint64(buf[r + 32 + k])) * np.uint64(1099511628211)
    return np.int64(h >> np.uint64(1))


@njit(cache=True, nogil=True)
def _start_ends(buf, cig, n_cigar, pos, out_pos, out_val, n):  # pragma: no cover - compiled
    """mosdepth's gen_start_ends: +1 / -1 events of the read's aligned (M/=/X) runs,
    appended at ``out[n:]``, in mosdepth's order; returns the new count."""
    if n_cigar == 1 and (_i32(buf, cig) & 15) == 0:
        out_pos[n] = pos
        out_val[n] = 1
        out_pos[n + 1] = pos + (_i32(buf, cig) >> 4)
        out_val[n + 1] = -1
        return n + 2
    p = pos
    last_stop = np.int64(-1)
    for k in range(n_cigar):
        c = _i32(buf, cig + 4 * k)
        op = c & 15
        ln = c >> 4
        if op == 0 or op == 7 or op == 8:
            if p != last_stop:
                out_pos[n] = p
                out_val[n] = 1
                n += 1
                if last_stop != -1:
                    out_pos[n] = last_stop
                    out_val[n] = -1
                    n += 1
            last_stop = p + ln
            p += ln
        elif op == 2 or op == 3:
            p += ln
    if last_stop != -1:
        out_pos[n] = last_stop
        out_val[n] = -1
        n += 1
    return n


@njit(cache=True, nogil=True)
def mate_overlaps(buf, table, keep, seen, out_s, out_e, first):  # pragma: no cover - compiled
    """mosdepth's correction of overlapping mates (its ``coverage``, not in fast mode).

    For records ``first <= i < n`` of one contig with ``keep[i]`` (they passed the flag and
    MAPQ filters), in file order: a proper, non-supplementary pair's first-placed mate that
    reaches past its mate's start is remembered in ``seen`` (read-name hash -> [start, stop,
    n_cigar, events...]); when a later record takes it, the positions both cover get one
    read less: intervals [out_s, out_e) are written (depth -1 each). Returns (n_out, next
    record): next < n when ``out`` ran out of room (call again from there with more).
    """
    n = table.shape[0]
    n_out = 0
    cap = out_s.shape[0]
    ev_pos = np.empty(4096, np.int64)
    ev_val = np.empty(4096, np.int64)
    for i in range(first, n):
        if not keep[i]:
            continue
        flag = table[i, 4]
        if (flag & 2) == 0 or (flag & 2048) != 0:
            continue
        r = table[i, 0]
        tid = table[i, 1]
        start = table[i, 2]
        stop = table[i, 3]
        mtid = _i32(buf, r + 20)
        mpos = _i32(buf, r + 24)
        key = _qname_hash(buf, r)
        cig = table[i, 6]
        ncig = table[i, 7]
        if tid == mtid and stop > mpos and (start < mpos or (start == mpos and key not in seen)):
            if 2 * ncig + 2 > ev_pos.shape[0]:
                ev_pos = np.empty(2 * ncig + 2, np.int64)
                ev_val = np.empty(2 * ncig + 2, np.int64)
            ne = _start_ends(buf, cig, ncig, start, ev_pos, ev_val, 0)
            rec = np.empty(3 + 2 * ne, np.int64)
            rec[0] = start
            rec[1] = stop
            rec[2] = ncig
            rec[3 : 3 + ne] = ev_pos[:ne]
            rec[3 + ne :] = ev_val[:ne]
            seen[key] = rec
            continue
        if key not in seen:
            continue
        mate = seen[key]
        m_ne = (mate.shape[0] - 3) // 2
        need = ncig + 1 + m_ne
        if n_out + need > cap:
            return n_out, i
        seen.pop(key)
        if ncig == 1 and mate[2] == 1:
            out_s[n_out] = start
            out_e[n_out] = mate[1]
            n_out += 1
            continue
        if 2 * ncig + 2 + m_ne > ev_pos.shape[0]:
            ev_pos = np.empty(2 * ncig + 2 + m_ne, np.int64)
            ev_val = np.empty(2 * ncig + 2 + m_ne, np.int64)
        ne = _start_ends(buf, cig, ncig, start, ev_pos, ev_val, 0)
        ev_pos[ne : ne + m_ne] = mate[3 : 3 + m_ne]
        ev_val[ne : ne + m_ne] = mate[3 + m_ne :]
        ne += m_ne
        order = np.argsort(ev_pos[:ne], kind="mergesort")
        pair_depth = 0
        last_pos = np.int64(0)
        for k in range(ne):
            p = ev_pos[order[k]]
            v = ev_val[order[k]]
            if v == -1 and pair_depth == 2:
                out_s[n_out] = last_pos
                out_e[n_out] = p
                n_out += 1
            pair_depth += v
            last_pos = p
    return n_out, n


@njit(cache=True, nogil=True)
def add_block(
    counts, depth, bstart, rs, re, i0, i1, thresholds, out_sum, out_mean, out_thr, out_bases
):  # pragma: no cover - compiled
    """Add the block's sums into regions ``i0 <= r < i1`` (those that overlap it skip none).

    counts uint32[n, 24], depth int64[n] (:func:`block_depth`), bstart: position of row 0;
    rs/re int64 region bounds; thresholds int64[T] (each >= 1); out_sum int64[R] (sum of
    depth), out_mean float64[R] (mosdepth's mean: depth / length added position by position
    in float64, so that its rounding is mosdepth's), out_thr int64[R, T] (positions with
    depth >= each threshold), out_bases int64[R, 6] (A, C, G, T, N, deletions, both strands).
    """
    # one pass over each region's part of the block (mosdepth's mean needs the positions
    # in order anyway); cost: the summed overlap lengths, not the block length
    n = counts.shape[0]
    nt = thresholds.shape[0]
    bend = bstart + n
    for r in range(i0, i1):
        s = max(rs[r], bstart)
        e = min(re[r], bend)
        if e <= s:
            continue
        ln = np.float64(re[r] - rs[r])
        tot = np.int64(0)
        m = out_mean[r]
        for i in range(s - bstart, e - bstart):
            d = depth[i]
            tot += d
            m += np.float64(d) / ln
            for t in range(nt):
                if d >= thresholds[t]:
                    out_thr[r, t] += 1
            c = counts[i]
            for k in range(5):
                out_bases[r, k] += np.int64(c[k]) + c[k + 5]
            out_bases[r, 5] += np.int64(c[10]) + c[11]
        out_sum[r] += tot
        out_mean[r] = m


@njit(cache=True, nogil=True)
def fill_depth(depth, bstart, out, ostart):  # pragma: no cover - compiled
    """Copy the part of ``depth`` (block at ``bstart``) inside ``out`` (at ``ostart``)."""
    s = max(bstart, ostart)
    e = min(bstart + depth.shape[0], ostart + out.shape[0])
    for p in range(s, e):
        out[p - ostart] = depth[p - bstart]
