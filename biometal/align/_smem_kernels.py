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
from llvmlite import ir
from numba import njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

OCC_SHIFT = 7
OCC_STEP = 1 << OCC_SHIFT  # rows per block: 4 counts + 4 words of 32 rows = 64 bytes
_U1 = np.uint64(1)
_M1 = np.uint64(0x5555555555555555)
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


@intrinsic
def _popcount(typingctx, x):
    """Bits set in uint64 ``x`` (LLVM ``ctpop``: one ``popcnt`` instruction)."""
    if x != types.uint64:
        return None

    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])

    return types.uint64(types.uint64), codegen


@intrinsic
def _prefetch_block(typingctx, bwt, b):
    """Prefetch (read, keep in all cache levels) the 64-byte block ``bwt[b]``: no effect
    on results, lets the cache misses of independent searches overlap."""
    if not isinstance(bwt, types.Array) or not isinstance(b, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        idx = context.cast(builder, args[1], signature.args[1], types.intp)
        ptr = cgutils.get_item_pointer(
            context, builder, signature.args[0], ary, [idx, cgutils.intp_t(0)]
        )
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]), "llvm.prefetch"
        )
        builder.call(fn, [builder.bitcast(ptr, i8p), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return types.void(bwt, b), codegen


@njit(cache=True, inline="always")
def _low_rows(w, m):
    """Packed word ``w`` with rows ``m`` (0..32) and beyond set to code 0."""
    if m >= 32:
        return w
    if m <= 0:
        return np.uint64(0)
    return w & ((_U1 << np.uint64(2 * m)) - _U1)


@njit(cache=True, inline="always")
def _count_in_word(w, c, m):
    """Count of base ``c`` among the first ``m`` (0..32) bases of packed word ``w``."""
    x = w ^ _PAT[c]
    y = ~(x | (x >> _U1)) & _M1  # one bit per base equal to c
    if m < 32:
        y &= (_U1 << np.uint64(2 * m)) - _U1
    return np.int64(_popcount(y))


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
    counts as 0: callers correct for it): per word, popcounts of the low bits, the high
    bits and both (C = low - both, G = high - both, T = both, A = the rest)."""
    lo = hi = both = 0
    for j in range(4):
        w = _low_rows(bwt[b, 4 + j], rem - 32 * j)
        x = w & _M1
        y = (w >> _U1) & _M1
        lo += np.int64(_popcount(x))
        hi += np.int64(_popcount(y))
        both += np.int64(_popcount(x & y))
    return rem - lo - hi + both, lo - both, hi - both, both


@njit(cache=True, inline="always")
def _occ4(bwt, primary, i):
    """Counts of A, C, G and T in rows ``[0, i)`` (as :func:`_occ`, one pass)."""
    b = i >> OCC_SHIFT
    start = b << OCC_SHIFT
    ub = np.uint64(b)  # an unsigned index: no negative-index wraparound check
    a, c, g, t = _block_counts(bwt, ub, i - start)
    n0 = np.int64(bwt[ub, 0]) + a
    if start <= primary and primary < i:
        n0 -= 1
    return n0, np.int64(bwt[ub, 1]) + c, np.int64(bwt[ub, 2]) + g, np.int64(bwt[ub, 3]) + t


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


LANES = 32  # reads searched in lockstep by one thread (their cache misses overlap)
_LANE_ROWS = 1 << 16  # bound on lanes x (read length + 1) scratch rows
# lane states (see _smem_lanes)
_START, _FWD, _BWD_ROW, _BWD_J, _DONE = 0, 1, 2, 3, 4


@njit(cache=True, inline="always")
def _push(buf, n, k, l, s, start, end):  # noqa: E741 (BWA's names)
    buf[n, 0] = k
    buf[n, 1] = l
    buf[n, 2] = s
    buf[n, 3] = start
    buf[n, 4] = end


@njit(cache=True, inline="always")
def _flip(buf, b, n):
    """Reverse rows ``[b, b + n)`` of ``buf``."""
    for j in range(n >> 1):
        for f in range(5):
            t = buf[b + j, f]
            buf[b + j, f] = buf[b + n - 1 - j, f]
            buf[b + n - 1 - j, f] = t


@njit(cache=True)
def _smem_lanes(bwt, cnt, primary, codes, offsets, r0, r1, min_len, min_intv, out, n_out, row0):
    """SMEMs of reads ``r0 .. r1 - 1`` (as :func:`smem_batch` writes them): BWA's
    ``bwt_smem1a`` iterated as ``bwa fastmap`` iterates it, rewritten as a state machine so
    that up to :data:`LANES` reads advance in turn, one FM-index extension each; the next
    extension's two occurrence blocks are prefetched when it is known, so a lane's memory
    latency hides behind the other lanes' work. Same SMEMs, same order, as one read at a
    time."""
    if r1 <= r0:
        return
    if min_intv < 1:
        min_intv = 1
    maxq = 1
    for r in range(r0, r1):
        maxq = max(maxq, offsets[r + 1] - offsets[r])
    cap = maxq + 1
    n_lanes = max(1, min(LANES, _LANE_ROWS // cap, r1 - r0))
    # per lane: prev / curr interval lists, rows (2 * lane + which) * cap onward, and the
    # SMEMs, rows lane * cap onward (row offsets, not views of a lane: a view is reference
    # counted, two atomic operations each time one is taken)
    bufs = np.empty((n_lanes * 2 * cap, 5), np.int64)
    mems = np.empty((n_lanes * cap, 5), np.int64)
    out0 = offsets[r0]  # kept SMEMs from this row of out, reads interleaved, then sorted
    n_got = 0
    ok = np.empty((4, 3), np.int64)
    # per lane: read, state, query offset and length, x, ret, i, j, which buffer is prev,
    # n_prev, n_curr, n_mem, kept SMEMs; the forward interval; the pending extension
    st = np.zeros((n_lanes, 13), np.int64)
    ik = np.zeros((n_lanes, 4), np.int64)  # k, l, s, end
    pend = np.zeros((n_lanes, 4), np.int64)  # k, l, s, is_back (-1: none)
    pend[:, 3] = -1
    nxt = r0
    active = 0
    for ln in range(n_lanes):
        st[ln, 0] = nxt
        st[ln, 1] = _START
        st[ln, 2] = offsets[nxt]
        st[ln, 3] = offsets[nxt + 1] - offsets[nxt]
        st[ln, 4] = 0
        st[ln, 12] = 0
        nxt += 1
        active += 1
    while active > 0:
        for ln in range(n_lanes):
            state = st[ln, 1]
            if state == _DONE:
                continue
            q0 = st[ln, 2]
            qlen = st[ln, 3]
            have = False  # ok holds the result of this lane's pending extension
            if pend[ln, 3] >= 0:
                pb = pend[ln, 3] == 1
                _extend(bwt, cnt, primary, pend[ln, 0], pend[ln, 1], pend[ln, 2], pb, ok)
                pend[ln, 3] = -1
                have = True
            # run the lane until it needs an extension (or has no read left)
            while True:
                state = st[ln, 1]
                if state == _START:
                    x = st[ln, 4]
                    while x < qlen and codes[q0 + x] > 3:
                        x += 1
                    if x >= qlen:  # read done: next read
                        n_out[st[ln, 0]] = st[ln, 12]
                        if nxt >= r1:
                            st[ln, 1] = _DONE
                            active -= 1
                            break
                        st[ln, 0] = nxt
                        st[ln, 2] = offsets[nxt]
                        st[ln, 3] = offsets[nxt + 1] - offsets[nxt]
                        st[ln, 4] = 0
                        st[ln, 12] = 0
                        q0 = st[ln, 2]
                        qlen = st[ln, 3]
                        nxt += 1
                        continue
                    st[ln, 4] = x
                    c0 = codes[q0 + x]
                    ik[ln, 0] = cnt[c0]
                    ik[ln, 1] = cnt[3 - c0]
                    ik[ln, 2] = cnt[c0 + 1] - cnt[c0]
                    ik[ln, 3] = x + 1
                    st[ln, 6] = x + 1  # i
                    st[ln, 10] = 0  # n_curr
                    st[ln, 7] = 0  # prev buffer: 0, curr: 1
                    st[ln, 1] = _FWD
                    continue
                if state == _FWD:
                    i = st[ln, 6]
                    cb = (2 * ln + 1 - st[ln, 7]) * cap  # curr
                    done = False
                    if i < qlen and codes[q0 + i] < 4:
                        if not have:
                            pend[ln, 0] = ik[ln, 0]
                            pend[ln, 1] = ik[ln, 1]
                            pend[ln, 2] = ik[ln, 2]
                            pend[ln, 3] = 0
                            base = ik[ln, 1]
                            _prefetch_block(bwt, base >> OCC_SHIFT)
                            _prefetch_block(bwt, (base + ik[ln, 2]) >> OCC_SHIFT)
                            break
                        have = False
                        c = 3 - codes[q0 + i]
                        if ok[c, 2] != ik[ln, 2]:  # the match so far is maximal here
                            n = st[ln, 10]
                            _push(bufs, cb + n, ik[ln, 0], ik[ln, 1], ik[ln, 2], 0, ik[ln, 3])
                            st[ln, 10] = n + 1
                            if ok[c, 2] < min_intv:
                                done = True
                        if not done:
                            ik[ln, 0] = ok[c, 0]
                            ik[ln, 1] = ok[c, 1]
                            ik[ln, 2] = ok[c, 2]
                            ik[ln, 3] = i + 1
                            st[ln, 6] = i + 1
                            continue
                    else:  # an ambiguous base or the read's end
                        n = st[ln, 10]
                        _push(bufs, cb + n, ik[ln, 0], ik[ln, 1], ik[ln, 2], 0, ik[ln, 3])
                        st[ln, 10] = n + 1
                    # forward search over: longest match first, then search backward
                    n_curr = st[ln, 10]
                    _flip(bufs, cb, n_curr)
                    st[ln, 5] = bufs[cb, 4]  # ret
                    st[ln, 9] = n_curr  # n_prev
                    st[ln, 7] = 1 - st[ln, 7]
                    st[ln, 6] = st[ln, 4] - 1
                    st[ln, 11] = 0  # n_mem
                    st[ln, 1] = _BWD_ROW
                    continue
                if state == _BWD_ROW:  # start of a backward step at i
                    st[ln, 10] = 0
                    st[ln, 8] = 0  # j
                    st[ln, 1] = _BWD_J
                    continue
                # _BWD_J
                i = st[ln, 6]
                j = st[ln, 8]
                pb = (2 * ln + st[ln, 7]) * cap  # prev
                cb = (2 * ln + 1 - st[ln, 7]) * cap  # curr
                mb = ln * cap  # mem
                c = -1
                if i >= 0 and codes[q0 + i] < 4:
                    c = codes[q0 + i]
                if j < st[ln, 9]:
                    pk = bufs[pb + j, 0]
                    pl = bufs[pb + j, 1]
                    ps = bufs[pb + j, 2]
                    if c >= 0 and not have:
                        pend[ln, 0] = pk
                        pend[ln, 1] = pl
                        pend[ln, 2] = ps
                        pend[ln, 3] = 1
                        _prefetch_block(bwt, pk >> OCC_SHIFT)
                        _prefetch_block(bwt, (pk + ps) >> OCC_SHIFT)
                        break
                    have = False
                    n_curr = st[ln, 10]
                    if c < 0 or ok[c, 2] < min_intv:
                        if n_curr == 0:  # no longer match reaches further left
                            n_mem = st[ln, 11]
                            if n_mem == 0 or i + 1 < mems[mb + n_mem - 1, 3]:
                                _push(mems, mb + n_mem, pk, pl, ps, i + 1, bufs[pb + j, 4])
                                st[ln, 11] = n_mem + 1
                    elif n_curr == 0 or ok[c, 2] != bufs[cb + n_curr - 1, 2]:
                        _push(bufs, cb + n_curr, ok[c, 0], ok[c, 1], ok[c, 2], 0, bufs[pb + j, 4])
                        st[ln, 10] = n_curr + 1
                    st[ln, 8] = j + 1
                    continue
                # every interval of this step done
                if st[ln, 10] > 0:
                    st[ln, 9] = st[ln, 10]
                    st[ln, 7] = 1 - st[ln, 7]
                    st[ln, 6] = i - 1
                    st[ln, 1] = _BWD_ROW
                    continue
                # this x done: SMEMs sorted by start, the long ones kept
                n_mem = st[ln, 11]
                _flip(mems, mb, n_mem)
                r = st[ln, 0]
                m = st[ln, 12]
                for jj in range(mb, mb + n_mem):
                    if mems[jj, 4] - mems[jj, 3] < min_len:
                        continue
                    _push(out, out0 + n_got, mems[jj, 0], mems[jj, 2], mems[jj, 3], mems[jj, 4], r)
                    n_got += 1
                    m += 1
                st[ln, 12] = m
                st[ln, 4] = st[ln, 5]  # x = ret
                st[ln, 1] = _START
                continue
    # grouped by read (each read's in order), still packed from row offsets[r0] of out
    got = out[out0 : out0 + n_got].copy()
    pos = np.empty(r1 - r0, np.int64)
    acc = offsets[r0]
    for r in range(r0, r1):
        row0[r] = acc
        pos[r - r0] = acc
        acc += n_out[r]
    for g in range(n_got):
        p = pos[got[g, 4] - r0]
        for f in range(5):
            out[p, f] = got[g, f]
        pos[got[g, 4] - r0] = p + 1


CHUNK = 512  # reads per parallel task of smem_batch


@njit(cache=True, parallel=True)
def smem_batch(bwt, cnt, primary, codes, offsets, min_len, min_intv, out):
    """SMEMs of every read (``codes[offsets[r]:offsets[r+1]]``), as ``bwa fastmap`` lists them.

    ``out``: int64[total_len, 5] scratch (a read has at most its length of SMEMs; only the
    rows written are touched); row ``row0[r] + m`` gets the m-th SMEM of read r as ``(k, s,
    start, end, read)``. Returns ``(n_out, row0)``: int64[n_reads] SMEMs of length >=
    ``min_len`` kept per read, and their first row. Chunks of :data:`CHUNK` reads run in
    parallel, each through :func:`_smem_lanes`.
    """
    n_reads = offsets.shape[0] - 1
    n_out = np.zeros(n_reads, np.int64)
    row0 = np.zeros(n_reads, np.int64)
    n_chunks = (n_reads + CHUNK - 1) // CHUNK
    for t in prange(n_chunks):
        r0 = t * CHUNK
        r1 = min(n_reads, r0 + CHUNK)
        _smem_lanes(bwt, cnt, primary, codes, offsets, r0, r1, min_len, min_intv, out, n_out, row0)
    return n_out, row0


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


@njit(cache=True)
def _sa_lanes(bwt, cnt, primary, sa_sample, intv, rows, out, i0, i1):
    """:func:`sa_lookup` of ``rows[i0:i1]``, :data:`LANES` rows in turn, one LF-step each
    (the next step's block prefetched, so the lanes' cache misses overlap)."""
    n_lanes = min(LANES, i1 - i0)
    cur = np.empty(n_lanes, np.int64)  # row
    steps = np.zeros(n_lanes, np.int64)
    who = np.empty(n_lanes, np.int64)  # index into rows / out
    nxt = i0
    for ln in range(n_lanes):
        who[ln] = nxt
        cur[ln] = rows[nxt]
        _prefetch_block(bwt, rows[nxt] >> OCC_SHIFT)
        nxt += 1
    active = n_lanes
    while active > 0:
        for ln in range(n_lanes):
            i = who[ln]
            if i < 0:
                continue
            j = cur[ln]
            while True:
                if j % intv == 0:
                    out[i] = sa_sample[j // intv] + steps[ln]
                elif j == primary:  # the row of the whole text: SA = 0
                    out[i] = steps[ln]
                else:
                    break
                if nxt >= i1:  # this lane is done
                    i = -1
                    break
                i = nxt
                nxt += 1
                j = rows[i]
                steps[ln] = 0
            who[ln] = i
            if i < 0:
                active -= 1
                continue
            c = _base(bwt, j)
            j = cnt[c] + _occ(bwt, primary, c, j)
            steps[ln] += 1
            cur[ln] = j
            _prefetch_block(bwt, j >> OCC_SHIFT)


@njit(cache=True, parallel=True)
def sa_lookup(bwt, cnt, primary, sa_sample, intv, rows, out):
    """Suffix-array values of ``rows`` from the sample ``sa_sample[j] = SA[j * intv]``:
    LF-steps from each row until a sampled row (or the ``$`` of the text's start); chunks
    of :data:`CHUNK` rows in parallel (:func:`_sa_lanes`)."""
    n = rows.shape[0]
    n_chunks = (n + CHUNK - 1) // CHUNK
    for t in prange(n_chunks):
        i0 = t * CHUNK
        _sa_lanes(bwt, cnt, primary, sa_sample, intv, rows, out, i0, min(n, i0 + CHUNK))


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


# ------------------------------------------------------------------ bwa fastmap's text
# (the text helpers are this file's own: a numba call graph stays in one file, DESIGN.md;
# indexes through np.uint64(...): no negative-index wraparound check per byte)


@njit(cache=True, inline="always")
def _text_int(out, p, v):
    """Decimal text of the integer ``v`` >= 0 at ``out[p:]``; the new end."""
    v = np.int64(v)
    n = 1
    t = v // 10
    while t > 0:
        n += 1
        t //= 10
    q = p + n
    while True:
        q -= 1
        out[np.uint64(q)] = 48 + v % 10
        v //= 10
        if q == p:
            break
    return p + n


@njit(cache=True, inline="always")
def _text_entry(out, p, txt, off, i):
    """Entry ``i`` of a text table (``txt[off[i]:off[i + 1]]``) at ``out[p:]``."""
    for k in range(off[i], off[i + 1]):
        out[np.uint64(p)] = txt[np.uint64(k)]
        p += 1
    return p


@njit(cache=True)
def format_fastmap_text(
    name_txt, name_off, lengths, read, start, end, occ, o_first, o_count, o_contig, o_pos,
    o_rev, c_txt, c_off, size,
):  # fmt: skip
    """``bwa fastmap``'s text of one batch (:func:`biometal.align.smem.format_fastmap`):
    per read ``SQ<TAB>name<TAB>length``, then per SMEM of the read (``read`` ascending)
    ``EM<TAB>start<TAB>end<TAB>occ<TAB>`` and its positions ``contig:+pos`` / ``contig:-pos``
    tab-separated (occurrences ``o_first[j] : o_first[j] + o_count[j]``; ``*`` when none,
    followed by an empty line as bwa 0.7.17 prints it), then ``//``; every line ends with a
    newline. Names and contigs are text tables (bytes
    and offsets); ``size`` bounds the text. Returns the text (uint8)."""
    out = np.empty(size, np.uint8)
    p = 0
    j = 0
    n = read.shape[0]
    for r in range(lengths.shape[0]):
        out[np.uint64(p)] = 83  # S
        out[np.uint64(p + 1)] = 81  # Q
        out[np.uint64(p + 2)] = 9
        p = _text_entry(out, p + 3, name_txt, name_off, r)
        out[np.uint64(p)] = 9
        p = _text_int(out, p + 1, lengths[r])
        out[np.uint64(p)] = 10
        p += 1
        while j < n and read[j] == r:
            out[np.uint64(p)] = 69  # E
            out[np.uint64(p + 1)] = 77  # M
            out[np.uint64(p + 2)] = 9
            p = _text_int(out, p + 3, start[j])
            out[np.uint64(p)] = 9
            p = _text_int(out, p + 1, end[j])
            out[np.uint64(p)] = 9
            p = _text_int(out, p + 1, occ[j])
            out[np.uint64(p)] = 9
            p += 1
            if o_count[j] == 0:  # "*\n", then the line's own newline: an empty line
                out[np.uint64(p)] = 42  # *                  (bwa 0.7.17's puts("\t*"))
                out[np.uint64(p + 1)] = 10
                p += 2
            for o in range(o_first[j], o_first[j] + o_count[j]):
                if o > o_first[j]:
                    out[np.uint64(p)] = 9
                    p += 1
                p = _text_entry(out, p, c_txt, c_off, o_contig[o])
                out[np.uint64(p)] = 58  # :
                out[np.uint64(p + 1)] = 45 if o_rev[o] else 43  # - / +
                p = _text_int(out, p + 2, o_pos[o] + 1)
            out[np.uint64(p)] = 10
            p += 1
            j += 1
        out[np.uint64(p)] = 47  # /
        out[np.uint64(p + 1)] = 47
        out[np.uint64(p + 2)] = 10
        p += 3
    return out[:p]
