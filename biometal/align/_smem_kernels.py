"""numba hot loops of the FMD-index and of the SMEM search (see :mod:`biometal.align.smem`).

Conventions: the indexed text is ``T = F + revcomp(F) + $`` (``F`` the concatenated
contigs, codes A0 C1 G2 T3), suffix array rows sorted with ``$`` smallest. ``bwt`` holds
uint64[n_blocks, 8]: per block of 128 rows, the counts of A, C, G, T in the rows before
it, then the block's rows packed 2 bits a row in 4 words (32 rows a word, the first in the
low bits; ``$``, row ``primary``, stored as A and never counted), one 64-byte cache line;
``cnt[c]`` is the first row of suffixes starting with base ``c`` (``cnt[4] = n``).
A bi-interval is ``(k, l, s)``: rows ``[k, k + s)`` of the pattern P and ``[l, l + s)`` of
``revcomp(P)`` (BWA's ``bwtintv_t``). The search is a line-by-line port of BWA 0.7.17's
``bwt_smem1a`` with ``max_intv = 0``, as ``bwa fastmap`` runs it.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

OCC_SHIFT = 7
OCC_STEP = 1 << OCC_SHIFT  # rows per block: 4 counts + 4 words of 32 rows = 64 bytes
_U1 = np.uint64(1)
_U2 = np.uint64(2)
_U4 = np.uint64(4)
_U56 = np.uint64(56)
_M1 = np.uint64(0x5555555555555555)
_M2 = np.uint64(0x3333333333333333)
_M4 = np.uint64(0x0F0F0F0F0F0F0F0F)
_H01 = np.uint64(0x0101010101010101)
_PAT = np.array([0, 0x5555555555555555, 0xAAAAAAAAAAAAAAAA, 0xFFFFFFFFFFFFFFFF], np.uint64)


def n_blocks(n1: int) -> int:
    """Blocks of a BWT of ``n1`` rows (one more holds the totals, as :func:`_occ` reads)."""
    return (n1 >> OCC_SHIFT) + 2


def new_bwt(n1: int) -> np.ndarray:
    """Zeroed uint64[n_blocks(n1), 8] for a BWT of ``n1`` rows, 64-byte aligned (one block,
    one cache line)."""
    nb = n_blocks(n1)
    flat = np.zeros(nb * 8 + 8, np.uint64)
    skip = (-flat.ctypes.data % 64) // 8
    return flat[skip : skip + nb * 8].reshape(nb, 8)


@njit(cache=True, inline="always")
def _count_in_word(w, c, m):
    """Count of base ``c`` among the first ``m`` (0..32) bases of packed word ``w``."""
    x = w ^ _PAT[c]
    y = (x | (x >> _U1)) & _M1  # one bit per base that is not c
    if m < 32:
        y &= (_U1 << np.uint64(2 * m)) - _U1
    y = (y & _M2) + ((y >> _U2) & _M2)
    y = (y + (y >> _U4)) & _M4
    return m - np.int64((y * _H01) >> _U56)


@njit(cache=True, inline="always")
def _occ(bwt, primary, c, i):
    """Count of base ``c`` in rows ``[0, i)`` (the ``$`` row ``primary`` is stored as A and
    not counted)."""
    b = i >> OCC_SHIFT
    n = np.int64(bwt[b, c])
    start = b << OCC_SHIFT
    rem = i - start
    w = 4
    while rem >= 32:
        n += _count_in_word(bwt[b, w], c, 32)
        rem -= 32
        w += 1
    if rem > 0:
        n += _count_in_word(bwt[b, w], c, rem)
    if c == 0 and start <= primary and primary < i:
        n -= 1
    return n


@njit(cache=True, inline="always")
def _block_counts(bwt, b, rem):
    """Counts of codes 0-3 in the first ``rem`` packed rows of block ``b`` (the ``$`` row
    counts as 0: callers correct for it)."""
    n0 = n1 = n2 = 0
    total = rem
    w = 4
    while rem > 0:
        m = 32 if rem >= 32 else rem
        x = bwt[b, w]
        n0 += _count_in_word(x, 0, m)
        n1 += _count_in_word(x, 1, m)
        n2 += _count_in_word(x, 2, m)
        rem -= m
        w += 1
    return n0, n1, n2, total - n0 - n1 - n2


@njit(cache=True, inline="always")
def _occ4(bwt, primary, i):
    """Counts of A, C, G and T in rows ``[0, i)`` (as :func:`_occ`, one pass)."""
    b = i >> OCC_SHIFT
    n0 = np.int64(bwt[b, 0])
    n1 = np.int64(bwt[b, 1])
    n2 = np.int64(bwt[b, 2])
    n3 = np.int64(bwt[b, 3])
    start = b << OCC_SHIFT
    a, c, g, t = _block_counts(bwt, b, i - start)
    n0 += a
    n1 += c
    n2 += g
    n3 += t
    if start <= primary and primary < i:
        n0 -= 1
    return n0, n1, n2, n3


@njit(cache=True, inline="always")
def _base(bwt, j):
    """Code of row ``j`` (the ``$`` row reads as 0)."""
    w = bwt[j >> OCC_SHIFT, 4 + ((j >> 5) & 3)]
    return np.int64((w >> np.uint64(2 * (j & 31))) & np.uint64(3))


@njit(cache=True, inline="always")
def _put(bwt, i, c):
    """Set row ``i`` (zeroed) to code ``c``."""
    bwt[i >> OCC_SHIFT, 4 + ((i >> 5) & 3)] |= np.uint64(c) << np.uint64(2 * (i & 31))


@njit(cache=True)
def fill_counts(bwt, n1, primary):
    """Write each block's counts (A, C, G, T in the rows before it; the last blocks: the
    totals) from the packed rows of a BWT of ``n1`` rows (rows past ``n1`` must be 0)."""
    n0 = n1_ = n2 = n3 = 0
    for b in range(bwt.shape[0]):
        bwt[b, 0] = np.uint64(n0)
        bwt[b, 1] = np.uint64(n1_)
        bwt[b, 2] = np.uint64(n2)
        bwt[b, 3] = np.uint64(n3)
        start = b << OCC_SHIFT
        a, c, g, t = _block_counts(bwt, b, min(OCC_STEP, n1 - start) if start < n1 else 0)
        n0 += a
        n1_ += c
        n2 += g
        n3 += t
        if start <= primary and primary < start + OCC_STEP:
            n0 -= 1  # the $ row, stored as A


@njit(cache=True)
def _extend(bwt, cnt, primary, k, l, s, is_back, ok):  # noqa: E741 (BWA's names)
    """BWA's ``bwt_extend``: ``ok[c] = (k, l, s)`` of ``cP`` (is_back) or ``P comp(c)``
    (forward: the caller picks ``ok[3 - b]`` to append base ``b``)."""
    base = k if is_back else l
    other = l if is_back else k
    k0, k1, k2, k3 = _occ4(bwt, primary, base)
    l0, l1, l2, l3 = _occ4(bwt, primary, base + s)
    for c in range(4):
        if c == 0:
            tk, tl = k0, l0
        elif c == 1:
            tk, tl = k1, l1
        elif c == 2:
            tk, tl = k2, l2
        else:
            tk, tl = k3, l3
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
def _smem1(bwt, cnt, primary, q, x, min_intv, mem, prev, curr, ok):
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
            _extend(bwt, cnt, primary, ik0, ik1, ik2, False, ok)
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
    prev, curr = curr, prev  # BWA swaps its vectors too

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
                _extend(bwt, cnt, primary, pk, pl, ps, True, ok)
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
        prev, curr = curr, prev
        i -= 1
    # sorted by start
    for j in range(n_mem >> 1):
        for f in range(5):
            t = mem[j, f]
            mem[j, f] = mem[n_mem - 1 - j, f]
            mem[n_mem - 1 - j, f] = t
    return ret, n_mem


@njit(cache=True, parallel=True)
def smem_batch(bwt, cnt, primary, codes, offsets, min_len, min_intv, out):
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
            start, n_mem = _smem1(bwt, cnt, primary, q, start, min_intv, mem, prev, curr, ok)
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
def count_pattern(bwt, cnt, primary, pattern):
    """Occurrences of ``pattern`` (codes 0..3) in the text, by backward search."""
    k = 0
    e = cnt[4]
    for i in range(pattern.shape[0] - 1, -1, -1):
        c = pattern[i]
        if c > 3:
            return 0
        k = cnt[c] + _occ(bwt, primary, c, k)
        e = cnt[c] + _occ(bwt, primary, c, e)
        if k >= e:
            return 0
    return e - k


@njit(cache=True)
def build_bwt(text, sa, bwt):
    """Packed BWT rows from the suffix array of ``text + $`` (``sa``: n + 1 rows): row ``i``
    holds ``text[sa[i] - 1]`` (``$``, stored as 0, where ``sa[i] = 0``); ``bwt``:
    :func:`new_bwt`. Returns the primary row (call :func:`fill_counts` next)."""
    primary = -1
    for i in range(sa.shape[0]):
        p = sa[i]
        if p == 0:
            primary = i
        else:
            _put(bwt, i, text[p - 1])
    return primary


@njit(cache=True)
def set_words(bwt, words, n1):
    """Packed rows from ``words`` (uint64, 32 rows each, as :func:`get_words` returns)."""
    for j in range((n1 + 31) >> 5):
        bwt[j >> 2, 4 + (j & 3)] = words[j]


@njit(cache=True)
def get_words(bwt, n1):
    """The packed rows of a BWT of ``n1`` rows as uint64 words (32 rows each)."""
    out = np.empty((n1 + 31) >> 5, np.uint64)
    for j in range(out.shape[0]):
        out[j] = bwt[j >> 2, 4 + (j & 3)]
    return out


@njit(cache=True, parallel=True)
def sa_lookup(bwt, cnt, primary, sa_sample, intv, rows, out):
    """Suffix-array values of ``rows`` from the sample ``sa_sample[j] = SA[j * intv]``:
    LF-steps from each row until a sampled row (or the ``$`` of the text's start)."""
    for i in prange(rows.shape[0]):
        j = rows[i]
        steps = 0
        while True:
            if j % intv == 0:
                out[i] = sa_sample[j // intv] + steps
                break
            if j == primary:  # the row of the whole text: SA = 0
                out[i] = steps
                break
            c = _base(bwt, j)
            j = cnt[c] + _occ(bwt, primary, c, j)
            steps += 1


@njit(cache=True)
def bwt_from_bwa(words, n1, primary, bwt):
    """Packed BWT rows (this module's layout, ``bwt``: :func:`new_bwt`) from the words
    of BWA's ``.bwt`` file after its header: blocks of 128 bases, each 4 uint64 counts (8
    uint32) then 8 uint32 of 16 bases (first base in the high bits), the ``$`` left out (it
    sits at row ``primary``)."""
    for i in range(n1):
        if i == primary:
            continue
        k = i - 1 if i > primary else i
        w = words[((k >> 7) << 4) + 8 + ((k & 127) >> 4)]
        c = (w >> np.uint32(2 * (15 - (k & 15)))) & np.uint32(3)
        _put(bwt, i, c)
