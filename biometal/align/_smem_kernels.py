"""numba hot loops of the FMD-index and of the SMEM search (see :mod:`biometal.align.smem`).

Conventions: the indexed text is ``T = F + revcomp(F) + $`` (``F`` the concatenated
contigs, codes A0 C1 G2 T3), suffix array rows sorted with ``$`` smallest. ``bwt`` holds
uint8 codes (``$`` as 4); ``occ_tab[b, c]`` counts base ``c`` in ``bwt[: b * OCC_STEP]``;
``cnt[c]`` is the first row of suffixes starting with base ``c`` (``cnt[4] = n``).
A bi-interval is ``(k, l, s)``: rows ``[k, k + s)`` of the pattern P and ``[l, l + s)`` of
``revcomp(P)`` (BWA's ``bwtintv_t``). The search is a line-by-line port of BWA 0.7.17's
``bwt_smem1a`` with ``max_intv = 0``, as ``bwa fastmap`` runs it.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

OCC_SHIFT = 6
OCC_STEP = 1 << OCC_SHIFT


@njit(cache=True, inline="always")
def _occ(bwt, occ_tab, c, i):
    """Count of base ``c`` in ``bwt[:i]``."""
    b = i >> OCC_SHIFT
    n = occ_tab[b, c]
    for j in range(b << OCC_SHIFT, i):
        if bwt[j] == c:
            n += 1
    return n


@njit(cache=True)
def _extend(bwt, occ_tab, cnt, primary, k, l, s, is_back, ok):  # noqa: E741 (BWA's names)
    """BWA's ``bwt_extend``: ``ok[c] = (k, l, s)`` of ``cP`` (is_back) or ``P comp(c)``
    (forward: the caller picks ``ok[3 - b]`` to append base ``b``)."""
    base = k if is_back else l
    other = l if is_back else k
    for c in range(4):
        tk = _occ(bwt, occ_tab, c, base)
        tl = _occ(bwt, occ_tab, c, base + s)
        nb = cnt[c] + tk
        if is_back:
            ok[c, 0] = nb
        else:
            ok[c, 1] = nb
        ok[c, 2] = tl - tk
    # the other strand's sub-intervals in the order $ < A < C < G < T of the next base
    dollar = 1 if (base <= primary and primary < base + s) else 0
    o3 = other + dollar
    o2 = o3 + ok[3, 2]
    o1 = o2 + ok[2, 2]
    o0 = o1 + ok[1, 2]
    j = 1 if is_back else 0
    ok[3, j] = o3
    ok[2, j] = o2
    ok[1, j] = o1
    ok[0, j] = o0


@njit(cache=True)
def _smem1(bwt, occ_tab, cnt, primary, q, x, min_intv, mem, prev, curr, ok):
    """SMEMs of query ``q`` (codes) overlapping position ``x`` (BWA ``bwt_smem1a``).

    Writes rows ``(k, l, s, start, end)`` to ``mem`` sorted by start; returns
    ``(next_x, n_mem)``.
    """
    n_mem = 0
    qlen = q.shape[0]
    if q[x] > 3:
        return x + 1, 0
    if min_intv < 1:
        min_intv = 1
    c0 = q[x]
    ik0 = cnt[c0]
    ik1 = cnt[3 - c0]
    ik2 = cnt[c0 + 1] - cnt[c0]
    ik_end = x + 1
    n_curr = 0
    i = x + 1
    while i < qlen:  # forward search
        if q[i] < 4:
            c = 3 - q[i]
            _extend(bwt, occ_tab, cnt, primary, ik0, ik1, ik2, False, ok)
            if ok[c, 2] != ik2:  # the interval shrinks: the match so far is maximal here
                curr[n_curr, 0] = ik0
                curr[n_curr, 1] = ik1
                curr[n_curr, 2] = ik2
                curr[n_curr, 4] = ik_end
                n_curr += 1
                if ok[c, 2] < min_intv:
                    break
            ik0 = ok[c, 0]
            ik1 = ok[c, 1]
            ik2 = ok[c, 2]
            ik_end = i + 1
        else:  # an ambiguous base ends the extension
            curr[n_curr, 0] = ik0
            curr[n_curr, 1] = ik1
            curr[n_curr, 2] = ik2
            curr[n_curr, 4] = ik_end
            n_curr += 1
            break
        i += 1
    if i == qlen:
        curr[n_curr, 0] = ik0
        curr[n_curr, 1] = ik1
        curr[n_curr, 2] = ik2
        curr[n_curr, 4] = ik_end
        n_curr += 1
    # longest forward match first
    for j in range(n_curr >> 1):
        for f in range(5):
            t = curr[j, f]
            curr[j, f] = curr[n_curr - 1 - j, f]
            curr[n_curr - 1 - j, f] = t
    ret = curr[0, 4]
    n_prev = n_curr
    for j in range(n_prev):
        for f in range(5):
            prev[j, f] = curr[j, f]

    i = x - 1
    while i >= -1:  # backward search for MEMs
        c = -1
        if i >= 0 and q[i] < 4:
            c = q[i]
        n_curr = 0
        for j in range(n_prev):
            pk = prev[j, 0]
            pl = prev[j, 1]
            ps = prev[j, 2]
            if c >= 0:
                _extend(bwt, occ_tab, cnt, primary, pk, pl, ps, True, ok)
            if c < 0 or ok[c, 2] < min_intv:
                if n_curr == 0:  # no longer match reaches further left
                    if n_mem == 0 or i + 1 < mem[n_mem - 1, 3]:  # skip contained matches
                        mem[n_mem, 0] = pk
                        mem[n_mem, 1] = pl
                        mem[n_mem, 2] = ps
                        mem[n_mem, 3] = i + 1
                        mem[n_mem, 4] = prev[j, 4]
                        n_mem += 1
            elif n_curr == 0 or ok[c, 2] != curr[n_curr - 1, 2]:
                curr[n_curr, 0] = ok[c, 0]
                curr[n_curr, 1] = ok[c, 1]
                curr[n_curr, 2] = ok[c, 2]
                curr[n_curr, 4] = prev[j, 4]
                n_curr += 1
        if n_curr == 0:
            break
        n_prev = n_curr
        for j in range(n_prev):
            for f in range(5):
                prev[j, f] = curr[j, f]
        i -= 1
    # sorted by start
    for j in range(n_mem >> 1):
        for f in range(5):
            t = mem[j, f]
            mem[j, f] = mem[n_mem - 1 - j, f]
            mem[n_mem - 1 - j, f] = t
    return ret, n_mem


@njit(cache=True, parallel=True)
def smem_batch(bwt, occ_tab, cnt, primary, codes, offsets, min_len, min_intv, out):
    """SMEMs of every read (``codes[offsets[r]:offsets[r+1]]``), as ``bwa fastmap`` lists them.

    ``out``: int64[total_len, 5] scratch; row ``offsets[r] + m`` gets the m-th SMEM of read
    r as ``(k, s, start, end, read)`` (a read has at most its length of SMEMs). Returns
    int64[n_reads]: SMEMs of length >= ``min_len`` kept per read.
    """
    n_reads = offsets.shape[0] - 1
    n_out = np.zeros(n_reads, np.int64)
    for r in prange(n_reads):
        q = codes[offsets[r] : offsets[r + 1]]
        qlen = q.shape[0]
        if qlen == 0:
            continue
        mem = np.empty((qlen + 1, 5), np.int64)
        prev = np.empty((qlen + 1, 5), np.int64)
        curr = np.empty((qlen + 1, 5), np.int64)
        ok = np.empty((4, 3), np.int64)
        base = offsets[r]
        m = 0
        start = 0
        while start < qlen:
            while start < qlen and q[start] > 3:
                start += 1
            if start == qlen:
                break
            start, n_mem = _smem1(
                bwt, occ_tab, cnt, primary, q, start, min_intv, mem, prev, curr, ok
            )
            for j in range(n_mem):
                if mem[j, 4] - mem[j, 3] < min_len:
                    continue
                out[base + m, 0] = mem[j, 0]
                out[base + m, 1] = mem[j, 2]
                out[base + m, 2] = mem[j, 3]
                out[base + m, 3] = mem[j, 4]
                out[base + m, 4] = r
                m += 1
        n_out[r] = m
    return n_out


@njit(cache=True)
def count_pattern(bwt, occ_tab, cnt, pattern):
    """Occurrences of ``pattern`` (codes 0..3) in the text, by backward search."""
    k = 0
    e = bwt.shape[0]
    for i in range(pattern.shape[0] - 1, -1, -1):
        c = pattern[i]
        if c > 3:
            return 0
        k = cnt[c] + _occ(bwt, occ_tab, c, k)
        e = cnt[c] + _occ(bwt, occ_tab, c, e)
        if k >= e:
            return 0
    return e - k
