"""CPU twin of smith_waterman.metal (numba): pairwise alignment of a batch of sequence pairs.

Four DP layouts, chosen per batch by :mod:`.smith_waterman` (all give identical results,
bit for bit, down to the CIGAR; the choice is only about speed):

- **lanes** (inter-sequence, SWIPE-style): pairs sorted by length are cut into groups of
  :data:`LANES` (64); the DP of a whole group advances in lock-step, one column of every
  pair at a time, with the innermost loop running over the 64 lanes so that LLVM turns it
  into AVX-512 / AVX2 vector code (``int16`` with saturating arithmetic, 32 lanes per 512-bit
  register; the :mod:`._simd` intrinsics keep numba from widening to int64). Query rows
  are processed in blocks of :data:`QBLOCK` so the working set stays in cache at any
  length. Groups run in parallel (``prange``). Best for many pairs. A group whose scores
  could leave the int16 range goes to the other layout, in int32.
- **antidiagonal** (intra-pair wavefront): one pair at a time; the cells of one
  anti-diagonal are independent, so the loop along an anti-diagonal vectorises. Used for
  small batches, long pairs in small numbers, banded alignment (only the band is computed
  and, with traceback, stored) and traceback of pairs too large for a lane group (it stores
  exactly the band's cells of one pair). Pairs run in parallel. ``int16`` or ``int32``.

- **shared** (many queries, one target; local alignment, score and end cell only): lane
  groups of :data:`SHARED_LANES` queries, sorted by length, with the one target streamed
  once per group and a query profile per group (one load per cell instead of a compare and
  select); a running column maximum replaces per-cell end tracking (the end row is looked
  up only for columns that raise a lane's best). ``int16``, the lanes one explicit LLVM
  vector (see the section's comment: F, the diagonal and the column maximum stay in
  registers; 64 lanes in 2 zmm with AVX-512BW, 16 in one ymm with AVX2, 8 otherwise);
  groups whose scores could leave int16 go per pair.
  For queries of at most SHARED_QBLOCK rows the same DP runs in unsigned bytes, twice as
  many queries a vector, and the stretches where a lane reaches the top of the byte are re-run
  exactly from saved states (see "shared-target layout in 8 bits" below): ~1.4x the int16
  layout for 150 bp reads against a 48.5 kb genome.
  1 thread, 150 bp reads against 48.5 kb: ~11 GCUPS on an AVX-512 CPU (was ~7.3 with
  LLVM's own 256-bit loop vectorisation) against ~4.5 for the general lane groups
  (measured; the Metal source has no such layout: one thread per pair there).

- **segments** (few long pairs; local alignment, score and end cell only, match/mismatch
  scores with a negative mismatch): each pair's query is cut into S segments of R rows,
  one segment a lane (SHARED_LANES lanes: SHARED_LANES / S pairs side by side), segment s
  working on target column k - s + 1 at step k, so that its first row takes F and the
  diagonal H of the segment above, computed one and two steps earlier, by a shift across
  the lanes of the explicit vector type below (what Farrar's striped layout needs and plain
  numba loops cannot express). ``int16``; the cost model picks S (the fewest lane cells). 1 thread,
  5-6 kb pairs: ~11 GCUPS on an AVX-512 CPU against ~2.9 for the anti-diagonal wavefront.

Why not Farrar's striped layout itself (parasail's): its lazy-F loop is branchy per column;
the segments layout gets the same intra-pair vectors with a fixed number of operations per
cell. The anti-diagonal wavefront gets intra-pair vectors with plain loops (any mode,
matrix, band and traceback). Measured on the reference machine (1 thread, score only, 90% identity):
lanes ~5-8 GCUPS at any length, anti-diagonal ~1.3 GCUPS at 150 bp rising to ~5 GCUPS at
3000-5000 bp; parasail sw_striped_16 ~1.8 GCUPS at 150 bp.

DP (query ``q`` down the rows, i = 0..lq; target ``t`` across the columns, j = 0..lt)::

    E(i,j) = max(E(i,j-1) - gap_extend, H(i,j-1) - gap_open)     # gap in the query: 'D'
    F(i,j) = max(F(i-1,j) - gap_extend, H(i-1,j) - gap_open)     # gap in the target: 'I'
    H(i,j) = max(H(i-1,j-1) + M[q_i, t_j], E(i,j), F(i,j), floor)

so a gap of length k costs ``gap_open + (k-1)*gap_extend`` (parasail's convention).
``floor`` is 0 for local alignment and -infinity otherwise. Borders per mode: see
:func:`_border`. Modes: 0 local, 1 global, 2 semiglobal (free target ends), 3 extension
(free target end). End-cell ties: smallest target end, then smallest query end.

Traceback direction byte per cell (i, j >= 1), identical in every layout and in the Metal
kernel: bits 0-1 where H came from (0 diagonal, 1 E, 2 F, 3 local start: H == 0), tested in
the order start, diagonal, E, F; bit 2 set when E extends E(i,j-1) (ties: open); bit 3 set
when F extends F(i-1,j) (ties: open).
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import get_thread_id, literally, njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic, models, register_model

from ._simd import adds, subs, vmax, vsel

LANES = 64
QBLOCK = 256  # query rows per block of the lanes DP (H/E of a block: 64 KiB in int16)
MODE_LOCAL, MODE_GLOBAL, MODE_SEMIGLOBAL, MODE_EXTENSION = 0, 1, 2, 3
QPAD, TPAD = 5, 6  # pad codes of the lanes layout (rows/columns of the 7x7 matrix)
# CIGAR op codes
OP_EQ, OP_X, OP_I, OP_D, OP_S = 0, 1, 2, 3, 4
CIGAR_CHARS = np.frombuffer(b"=XIDS", dtype=np.uint8)
_NEG64 = -(2**62)


@njit(cache=True, inline="always")
def _gap(k, go, ge):
    """Cost of a gap of length k (k >= 0), int64."""
    if k <= 0:
        return 0
    return go + (k - 1) * ge


@njit(cache=True, inline="always")
def _border(k, mode, is_row0, go, ge):
    """H on the border: row 0 (H(0,k), target prefix k) or column 0 (H(k,0), query prefix k).

    local: 0 everywhere. semiglobal: the target prefix is free (row 0 is 0), the query
    prefix is a gap. global and extension: both prefixes are gaps.
    """
    if mode == MODE_LOCAL:
        return 0
    if is_row0 and mode == MODE_SEMIGLOBAL:
        return 0
    return -_gap(k, go, ge)


# --------------------------------------------------------------------------------------
# lanes layout: one group of up to LANES pairs in lock-step


@njit(cache=True, fastmath=True, boundscheck=False)
def _lanes_group(  # pragma: no cover - compiled by numba
    q, t, lq, lt, n_act, maxq, maxt, prm, use_matrix, local, trace, tb
):
    """DP of one group. q: (maxq, LANES) codes (QPAD beyond a query's end), t: (maxt, LANES)
    (TPAD beyond a target's end), both of the DP dtype; lq, lt: int64[LANES]; lanes
    n_act.. are empty padding.

    prm = (M, match, mismatch, go, ge, mode, NEG): the 7x7 matrix (row QPAD and column TPAD
    for the pads) and match/mismatch/NEG in the DP dtype, gap penalties and mode as ints.
    Returns (score int64[LANES], end_i, end_j). With ``trace``, tb (uint8[maxt*maxq, LANES])
    receives the direction byte of cell (i, j) at tb[(j-1)*maxq + (i-1), lane].

    The query rows are processed in blocks of QBLOCK (all columns of one block, then the
    next), so the working set of H and E stays in the L1/L2 cache however long the
    sequences; the last row of a block (H and F) is handed to the next block.
    Padding: a cell in a pad row or column scores strictly less than some real cell it
    depends on (pad scores and mismatches are negative, gap_open > 0), so it can neither
    win the local maximum nor tie with it; per-lane results are read only from real cells.
    """
    literally(use_matrix)
    literally(local)
    literally(trace)
    M, match, mismatch, go, ge, mode, NEG = prm
    dt = M.dtype.type
    L = LANES
    zero = dt(0)
    one = dt(1)
    two = dt(2)
    three = dt(3)
    four = dt(4)
    eight = dt(8)
    gov = dt(go)
    gev = dt(ge)
    floor = zero if local else NEG

    # H and F of the row above the current block, for every column (row 0 to start)
    Hrow = np.empty((maxt + 1, L), M.dtype)
    Frow = np.empty((maxt + 1, L), M.dtype)
    for j in range(maxt + 1):
        h = dt(_border(j, mode, True, go, ge))
        for ln in range(L):
            Hrow[j, ln] = h
            Frow[j, ln] = NEG
    qb = min(QBLOCK, maxq)
    HE = np.empty((qb + 1, 2, L), M.dtype)
    S = np.empty((13, L), M.dtype)  # F, hup, hdiag, colmax, colarg, tcode, tprofile[6], next

    best = np.empty(L, np.int64)
    bi = np.zeros(L, np.int64)
    bj = np.zeros(L, np.int64)
    for ln in range(L):
        best[ln] = 0 if local else _NEG64
    if not local:
        for ln in range(n_act):
            # the alignment ends in column 0: an empty target, or an empty query outside
            # global mode (semiglobal/extension of a non-empty query end at a column >= 1,
            # as in parasail; an empty query aligns to nothing)
            if lt[ln] == 0 or (lq[ln] == 0 and mode != MODE_GLOBAL):
                best[ln] = _border(lq[ln], mode, False, go, ge)
                bi[ln] = lq[ln]

    n_blocks = max(1, (maxq + QBLOCK - 1) // QBLOCK)
    for blk in range(n_blocks):
        i0 = blk * QBLOCK + 1
        i1 = min(maxq, i0 + QBLOCK - 1)  # rows i0..i1 (none when maxq == 0)
        nr = i1 - i0 + 1
        for r in range(1, nr + 1):  # column 0
            c0 = dt(_border(i0 + r - 1, mode, False, go, ge))
            for ln in range(L):
                HE[r, 0, ln] = c0
                HE[r, 1, ln] = NEG
        c0 = dt(_border(i0 - 1, mode, False, go, ge))
        for ln in range(L):
            S[12, ln] = c0  # H(i0-1, 0): the diagonal of the block's first row in column 1
        for j in range(1, maxt + 1):
            for ln in range(L):
                c = t[j - 1, ln]
                S[0, ln] = Frow[j, ln]
                S[1, ln] = Hrow[j, ln]
                S[2, ln] = S[12, ln]
                S[12, ln] = Hrow[j, ln]
                S[3, ln] = floor
                S[4, ln] = zero
                S[5, ln] = c
            if use_matrix:
                for ln in range(L):
                    c = t[j - 1, ln]
                    for a in range(6):
                        S[6 + a, ln] = M[a, c]
            jrow = (j - 1) * maxq + i0 - 2
            for r in range(1, nr + 1):
                ii = dt(i0 + r - 1)
                T = tb[jrow + r if trace else 0]  # (defined on every path: keeps it vectorised)
                for ln in range(L):
                    qc = q[i0 + r - 2, ln]
                    if use_matrix:
                        s = vsel(
                            qc == 0,
                            S[6, ln],
                            vsel(
                                qc == 1,
                                S[7, ln],
                                vsel(
                                    qc == 2,
                                    S[8, ln],
                                    vsel(qc == 3, S[9, ln], vsel(qc == 4, S[10, ln], S[11, ln])),
                                ),
                            ),
                        )
                    else:
                        s = vsel(qc == S[5, ln], match, mismatch)
                    hold = HE[r, 0, ln]
                    e_ext = subs(HE[r, 1, ln], gev)
                    e_open = subs(hold, gov)
                    e = vmax(e_ext, e_open)
                    f_ext = subs(S[0, ln], gev)
                    f_open = subs(S[1, ln], gov)
                    f = vmax(f_ext, f_open)
                    hd = adds(S[2, ln], s)
                    h = vmax(vmax(hd, floor), vmax(e, f))
                    S[2, ln] = hold
                    HE[r, 0, ln] = h
                    HE[r, 1, ln] = e
                    S[0, ln] = f
                    S[1, ln] = h
                    if local:
                        cm = S[3, ln]
                        S[4, ln] = vsel(h > cm, ii, S[4, ln])
                        S[3, ln] = vmax(cm, h)
                    if trace:
                        src = vsel(h == hd, zero, vsel(h == e, one, two))
                        src = vsel(h == floor, three, src)
                        src = adds(src, vsel(e_ext > e_open, four, zero))
                        src = adds(src, vsel(f_ext > f_open, eight, zero))
                        T[ln] = np.uint8(src)
            if nr > 0:
                for ln in range(L):  # hand the block's last row to the next block
                    Hrow[j, ln] = S[1, ln]
                    Frow[j, ln] = S[0, ln]
            # end of column j of this block: update the per-lane best
            if local:
                for ln in range(n_act):
                    v = np.int64(S[3, ln])
                    if j <= lt[ln] and (v > best[ln] or (v == best[ln] and v > 0 and j < bj[ln])):
                        best[ln] = v
                        bi[ln] = np.int64(S[4, ln])
                        bj[ln] = j
            else:
                for ln in range(n_act):
                    lql = lq[ln]
                    if j > lt[ln] or not ((i0 <= lql <= i1) or (lql == 0 and blk == 0)):
                        continue
                    if lql == 0:
                        v = np.int64(_border(j, mode, True, go, ge))
                    else:
                        v = np.int64(HE[lql - i0 + 1, 0, ln])
                    if mode == MODE_GLOBAL:
                        if j == lt[ln]:
                            best[ln] = v
                            bi[ln] = lql
                            bj[ln] = j
                    elif v > best[ln]:
                        best[ln] = v
                        bi[ln] = lql
                        bj[ln] = j
    return best, bi, bj


# --------------------------------------------------------------------------------------
# antidiagonal layout: one pair, wavefront over anti-diagonals d = i + j


@njit(cache=True, inline="always")
def _diag_range(d, lq, lt, w):
    """Rows i of anti-diagonal d inside the matrix and the band |i - j| <= w."""
    lo = max(0, d - lt, (d - w + 1) // 2)
    hi = min(lq, d, (d + w) // 2)
    return lo, hi


@njit(cache=True)
def diag_layout_sizes(lq, lt, bands):  # pragma: no cover - compiled by numba
    """Traceback bytes of each pair in the anti-diagonal layout (cells of its band)."""
    out = np.zeros(lq.shape[0], np.int64)
    for p in range(lq.shape[0]):
        total = 0
        for d in range(lq[p] + lt[p] + 1):
            lo, hi = _diag_range(d, lq[p], lt[p], bands[p])
            total += max(0, hi - lo + 1)
        out[p] = total
    return out


@njit(cache=True)
def _diag_layout(lq, lt, w):
    """Compact trace layout of the band: start of each anti-diagonal and its first row."""
    nd = lq + lt + 1
    dstart = np.zeros(nd + 1, np.int64)
    dlo = np.zeros(nd, np.int64)
    for d in range(nd):
        lo, hi = _diag_range(d, lq, lt, w)
        dlo[d] = lo
        dstart[d + 1] = dstart[d] + max(0, hi - lo + 1)
    return dstart, dlo


@njit(cache=True, fastmath=True, boundscheck=False)
def _antidiag_pair(  # pragma: no cover - compiled by numba
    qcodes, tcodes, prm, w, use_matrix, local, trace, tb, dstart, dlo
):
    """DP of one pair by anti-diagonals, restricted to the band |i - j| <= w.

    qcodes/tcodes: uint8 codes (0..4). prm: as :func:`_lanes_group`. With ``trace``,
    tb receives the direction byte of cell (i, j) at dstart[i+j] + i - dlo[i+j].
    Returns (score, end_i, end_j) as int64. ``use_matrix``, ``local`` and ``trace`` must be
    compile-time constants (see :func:`antidiag_driver`).
    """
    literally(use_matrix)
    literally(local)
    literally(trace)
    M, match, mismatch, go, ge, mode, NEG = prm
    dt = M.dtype.type
    zero = dt(0)
    one = dt(1)
    two = dt(2)
    three = dt(3)
    four = dt(4)
    eight = dt(8)
    gov = dt(go)
    gev = dt(ge)
    lq = qcodes.shape[0]
    lt = tcodes.shape[0]
    floor = zero if local else NEG
    n = lq + 2
    Hd2 = np.full(n, NEG, M.dtype)
    Hd1 = np.full(n, NEG, M.dtype)
    Hd = np.full(n, NEG, M.dtype)
    Ed1 = np.full(n, NEG, M.dtype)
    Ed = np.full(n, NEG, M.dtype)
    Fd1 = np.full(n, NEG, M.dtype)
    Fd = np.full(n, NEG, M.dtype)
    rb = np.zeros(n, M.dtype)
    rbj = np.zeros(n, M.dtype)  # (j < 32000 in the int16 kernel: same lane width as H)
    # query codes at row i (index i) and its profile rows, the target reversed
    qv = np.zeros(n, M.dtype)
    qp = np.zeros((5, n), M.dtype)
    for i in range(1, lq + 1):
        c = qcodes[i - 1]
        qv[i] = dt(c)
        for a in range(5):
            qp[a, i] = M[c, a]
    tr = np.zeros(lt + 1, M.dtype)
    for k in range(lt):
        tr[k] = dt(tcodes[lt - 1 - k])

    best = np.int64(0) if local else np.int64(_NEG64)
    bi = np.int64(0)
    bj = np.int64(0)
    if not local and (lt == 0 or (lq == 0 and mode != MODE_GLOBAL)):  # ends in column 0
        best = -_gap(lq, go, ge)
        bi = lq
    one64 = np.uint64(1)
    for d in range(lq + lt + 1):
        lo, hi = _diag_range(d, lq, lt, w)
        if lo == 0:
            Hd[0] = dt(_border(d, mode, True, go, ge))
            Ed[0] = NEG
            Fd[0] = NEG
        if hi == d:
            Hd[d] = dt(_border(d, mode, False, go, ge))
            Ed[d] = NEG
            Fd[d] = NEG
        a = max(1, lo)
        b = min(hi, d - 1)
        if a <= b:
            ua = np.uint64(a)
            cnt = np.uint64(b - a + 1)
            ut = np.uint64(lt - d + a)  # tr index of t[j-1] for i = a
            jd = dt(d - a)
            utb = np.uint64(dstart[d] + a - dlo[d] if trace else 0)  # unsigned: no wraparound
            for k in range(cnt):
                i = ua + k
                im = i - one64
                tc = tr[ut + k]
                if use_matrix:
                    s = vsel(
                        tc == 0,
                        qp[0, i],
                        vsel(
                            tc == 1,
                            qp[1, i],
                            vsel(tc == 2, qp[2, i], vsel(tc == 3, qp[3, i], qp[4, i])),
                        ),
                    )
                else:
                    s = vsel(qv[i] == tc, match, mismatch)
                e_ext = subs(Ed1[i], gev)
                e_open = subs(Hd1[i], gov)
                e = vmax(e_ext, e_open)
                f_ext = subs(Fd1[im], gev)
                f_open = subs(Hd1[im], gov)
                f = vmax(f_ext, f_open)
                hd = adds(Hd2[im], s)
                h = vmax(vmax(hd, floor), vmax(e, f))
                Hd[i] = h
                Ed[i] = e
                Fd[i] = f
                if local:
                    r = rb[i]
                    rbj[i] = vsel(h > r, subs(jd, dt(k)), rbj[i])
                    rb[i] = vmax(r, h)
                if trace:
                    src = vsel(h == hd, zero, vsel(h == e, one, two))
                    src = vsel(h == floor, three, src)
                    src = adds(src, vsel(e_ext > e_open, four, zero))
                    src = adds(src, vsel(f_ext > f_open, eight, zero))
                    tb[utb + k] = np.uint8(src)
        # sentinels just outside this diagonal's band (none once the band has left the matrix)
        if 1 <= lo <= hi:
            Hd[lo - 1] = NEG
            Ed[lo - 1] = NEG
            Fd[lo - 1] = NEG
        if lo <= hi and hi + 1 <= lq:
            Hd[hi + 1] = NEG
            Ed[hi + 1] = NEG
            Fd[hi + 1] = NEG
        # last-row cell (lq, d - lq)
        if not local and lo <= lq <= hi:
            jj = d - lq
            if mode == MODE_GLOBAL:
                if jj == lt:
                    best = np.int64(Hd[lq])
                    bi = lq
                    bj = jj
            elif jj >= 1:
                v = np.int64(Hd[lq])
                if v > best:
                    best = v
                    bi = lq
                    bj = jj
        Hd2, Hd1, Hd = Hd1, Hd, Hd2
        Ed1, Ed = Ed, Ed1
        Fd1, Fd = Fd, Fd1
    if local:
        for i in range(1, lq + 1):
            v = np.int64(rb[i])
            if v > best or (v == best and v > 0 and np.int64(rbj[i]) < bj):
                best = v
                bi = i
                bj = np.int64(rbj[i])
    return best, bi, bj


# --------------------------------------------------------------------------------------
# traceback


@njit(cache=True, inline="always")
def _push(ops, lens, pos, n, op, length):
    """Append a run (op, length) at ops[pos + n], merging with the previous run."""
    if length <= 0:
        return n
    if n > 0 and ops[pos + n - 1] == op:
        lens[pos + n - 1] += length
        return n
    ops[pos + n] = op
    lens[pos + n] = length
    return n + 1


@njit(cache=True, inline="always")
def _walk_begin(lq, iend, score, mode, ops, lens, pos):
    """Start a walk: the trailing soft clip of a local alignment. Returns (n_runs, active)."""
    if mode == MODE_LOCAL:
        if score <= 0:  # empty local alignment: all soft clip
            return _push(ops, lens, pos, 0, OP_S, lq), False
        return _push(ops, lens, pos, 0, OP_S, lq - iend), True
    return 0, True


@njit(cache=True, inline="always")
def _walk_end(i, j, stopped, mode, ops, lens, pos, n):
    """Finish a walk at (i, j): border gaps (non-local), leading soft clip (local), and put
    the runs (pushed last to first) in order. Returns (n_runs, query_start, target_start)."""
    if mode == MODE_LOCAL:
        n = _push(ops, lens, pos, n, OP_S, i)
    elif not stopped:
        if j == 0 and i > 0:
            n = _push(ops, lens, pos, n, OP_I, i)
            i = 0
        if i == 0 and j > 0 and mode != MODE_SEMIGLOBAL:
            n = _push(ops, lens, pos, n, OP_D, j)
            j = 0
    lo_ = pos
    hi_ = pos + n - 1
    while lo_ < hi_:
        o = ops[lo_]
        ops[lo_] = ops[hi_]
        ops[hi_] = o
        ln = lens[lo_]
        lens[lo_] = lens[hi_]
        lens[hi_] = ln
        lo_ += 1
        hi_ -= 1
    return n, i, j


@njit(cache=True)
def traceback_walk(  # pragma: no cover - compiled by numba
    tb, layout, base, si, sj, dstart, dlo, qcodes, tcodes, iend, jend, score, mode, ops, lens, pos
):
    """Walk the direction bytes from the end cell (iend, jend) back to the alignment start.

    Writes the CIGAR runs, first to last, at ops/lens[pos:], soft clips included for local
    alignment. Returns (n_runs, query_start, target_start). ``layout`` 0: the byte of (i, j)
    is tb[base + (i-1)*si + (j-1)*sj]; 1: tb[dstart[i+j] + i - dlo[i+j]].
    """
    n, active = _walk_begin(qcodes.shape[0], iend, score, mode, ops, lens, pos)
    if not active:
        return n, 0, 0
    i = iend
    j = jend
    state = 0  # 0 H, 1 E (gap in the query, 'D'), 2 F (gap in the target, 'I')
    stopped = False
    # (the step is written out here and in _walk_group: a helper taking the arrays costs
    # reference counting on every step, 20x the step itself)
    while i > 0 and j > 0:
        if layout == 0:
            b = tb[base + (i - 1) * si + (j - 1) * sj]
        else:
            d = i + j
            b = tb[dstart[d] + i - dlo[d]]
        if state == 0:
            src = b & 3
            if src == 3:
                stopped = True
                break
            if src == 0:
                op = OP_EQ if qcodes[i - 1] == tcodes[j - 1] else OP_X
                n = _push(ops, lens, pos, n, op, 1)
                i -= 1
                j -= 1
                continue
            state = 1 if src == 1 else 2
        if state == 1:
            n = _push(ops, lens, pos, n, OP_D, 1)
            state = 1 if b & 4 else 0
            j -= 1
        else:
            n = _push(ops, lens, pos, n, OP_I, 1)
            state = 2 if b & 8 else 0
            i -= 1
    return _walk_end(i, j, stopped, mode, ops, lens, pos, n)


@njit(cache=True)
def _walk_group(  # pragma: no cover - compiled by numba
    tb,
    maxq,
    n_act,
    order,
    a,
    qc,
    qo,
    tc,
    to,
    best,
    bi,
    bj,
    mode,
    ops,
    lens,
    cap_off,
    nops,
    qs,
    ts,
):
    """Traceback of every lane of a group, the lanes advanced in turn one step at a time:
    their paths run close together through tb (uint8[maxt*maxq, LANES]), so each cache line
    of it is fetched once for all lanes instead of once per lane."""
    L = LANES
    WI = np.zeros(L, np.int64)
    WJ = np.zeros(L, np.int64)
    ST = np.zeros(L, np.int64)
    N = np.zeros(L, np.int64)
    active = np.zeros(L, np.bool_)
    stopped = np.zeros(L, np.bool_)
    remaining = 0
    for m in range(n_act):
        p = order[a + m]
        n, act = _walk_begin(qo[p + 1] - qo[p], bi[m], best[m], mode, ops, lens, cap_off[p])
        N[m] = n
        WI[m] = bi[m]
        WJ[m] = bj[m]
        if act and WI[m] > 0 and WJ[m] > 0:
            active[m] = True
            remaining += 1
        elif not act:
            nops[p] = n
            qs[p] = 0
            ts[p] = 0
    while remaining > 0:
        for m in range(n_act):
            if not active[m]:
                continue
            p = order[a + m]
            i = WI[m]
            j = WJ[m]
            state = ST[m]
            n = N[m]
            pos = cap_off[p]
            b = tb[(j - 1) * maxq + i - 1, m]
            stop = False
            if state == 0:
                src = b & 3
                if src == 3:
                    stop = True
                elif src == 0:
                    op = OP_EQ if qc[qo[p] + i - 1] == tc[to[p] + j - 1] else OP_X
                    n = _push(ops, lens, pos, n, op, 1)
                    i -= 1
                    j -= 1
                else:
                    state = 1 if src == 1 else 2
            if not stop and state == 1:
                n = _push(ops, lens, pos, n, OP_D, 1)
                state = 1 if b & 4 else 0
                j -= 1
            elif not stop and state == 2:
                n = _push(ops, lens, pos, n, OP_I, 1)
                state = 2 if b & 8 else 0
                i -= 1
            WI[m] = i
            WJ[m] = j
            ST[m] = state
            N[m] = n
            if stop or i == 0 or j == 0:
                active[m] = False
                stopped[m] = stop
                remaining -= 1
    for m in range(n_act):
        p = order[a + m]
        if mode == MODE_LOCAL and best[m] <= 0:
            continue
        n, i0, j0 = _walk_end(WI[m], WJ[m], stopped[m], mode, ops, lens, cap_off[p], N[m])
        nops[p] = n
        qs[p] = i0
        ts[p] = j0


# --------------------------------------------------------------------------------------
# drivers (parallel over groups / pairs)


@njit(cache=True)
def _fill_group(qc, qo, tc, to, order, a, b, dtype_proxy):
    n = b - a
    lq = np.zeros(LANES, np.int64)
    lt = np.zeros(LANES, np.int64)
    for m in range(n):
        p = order[a + m]
        lq[m] = qo[p + 1] - qo[p]
        lt[m] = to[p + 1] - to[p]
    maxq = lq.max()
    maxt = lt.max()
    q = np.full((maxq, LANES), QPAD, dtype_proxy.dtype)
    t = np.full((maxt, LANES), TPAD, dtype_proxy.dtype)
    for m in range(n):
        p = order[a + m]
        s = qo[p]
        for i in range(lq[m]):
            q[i, m] = qc[s + i]
        s = to[p]
        for j in range(lt[m]):
            t[j, m] = tc[s + j]
    return q, t, lq, lt, maxq, maxt


@njit(cache=True)
def _lanes_dp(q, t, lq, lt, na, maxq, maxt, prm, use_matrix, local, trace, tb):
    """:func:`_lanes_group` with its three flags as compile-time constants.

    A runtime flag tested inside the DP's lane loop keeps LLVM from vectorising it unless
    LLVM unswitches the loop first, and whether it does depends on the CPU it compiles
    for: with AVX-512 it did for ``use_matrix``; on an AVX2 CPU (AMD EPYC Zen 3) it did
    not (no vector instruction in the loop): ``python -m biometal.align.bench --headline``,
    20,000 pairs of 150 bp, 0.09 GCUPS, 0.06x parasail, and 3.26 GCUPS, 2.20x, with this;
    tests/unit/test_align_vectorised.py checks the loop's code). Runtime ``local`` /
    ``trace`` had cost ~1.5x with AVX-512 too."""
    if use_matrix:
        if trace:
            if local:
                return _lanes_group(q, t, lq, lt, na, maxq, maxt, prm, True, True, True, tb)
            return _lanes_group(q, t, lq, lt, na, maxq, maxt, prm, True, False, True, tb)
        if local:
            return _lanes_group(q, t, lq, lt, na, maxq, maxt, prm, True, True, False, tb)
        return _lanes_group(q, t, lq, lt, na, maxq, maxt, prm, True, False, False, tb)
    if trace:
        if local:
            return _lanes_group(q, t, lq, lt, na, maxq, maxt, prm, False, True, True, tb)
        return _lanes_group(q, t, lq, lt, na, maxq, maxt, prm, False, False, True, tb)
    if local:
        return _lanes_group(q, t, lq, lt, na, maxq, maxt, prm, False, True, False, tb)
    return _lanes_group(q, t, lq, lt, na, maxq, maxt, prm, False, False, False, tb)


@njit(cache=True)
def _lanes_unit(g, seqs, order, gstart, prm, use_matrix, local, trace, out):
    """One lane group g (pairs ``order[gstart[g]:gstart[g+1]]``): DP, outputs, traceback.

    ``use_matrix``, ``local`` and ``trace`` select one of eight compile-time
    specialisations of the group DP (:func:`_lanes_dp`). numba compiles all eight with
    this function: 32 CPU s from an empty cache against 20 for the earlier four (AMD EPYC
    Zen 3; numba caches them). Taking the flags ``literally`` in the drivers instead
    would compile only those a run uses, but each call then went through numba's
    literal dispatch: ~9 ms more per call, twice the time of 2,000 pairs of 150 bp (a
    one-off script, three runs of each version, 0.018-0.019 s against 0.009-0.010 s).
    """
    qc, qo, tc, to = seqs
    score, qs, qe, ts, te, ops, lens, cap_off, nops, tbuf = out
    mode = prm[5]
    a = gstart[g]
    b = gstart[g + 1]
    q, t, lq, lt, maxq, maxt = _fill_group(qc, qo, tc, to, order, a, b, prm[0])
    # the traceback bytes go to this thread's reusable buffer: a fresh allocation of tens
    # of MB would pay for its page faults every time
    if trace:
        tb = tbuf[get_thread_id()][: maxq * maxt * LANES].reshape((maxq * maxt, LANES))
    else:
        tb = tbuf[0][:LANES].reshape((1, LANES))
    best, bi, bj = _lanes_dp(q, t, lq, lt, b - a, maxq, maxt, prm, use_matrix, local, trace, tb)
    for m in range(b - a):
        p = order[a + m]
        score[p] = best[m]
        qe[p] = bi[m]
        te[p] = bj[m]
    if trace:
        _walk_group(
            tb, maxq, b - a, order, a, qc, qo, tc, to, best, bi, bj, mode, ops, lens,
            cap_off, nops, qs, ts,
        )  # fmt: skip


@njit(cache=True, parallel=True)
def lanes_driver(seqs, order, gstart, groups, prm, use_matrix, local, trace, out):
    """Align the pairs of the listed lane groups (``order[gstart[g]:gstart[g+1]]``), groups in
    parallel. seqs = (qc, qo, tc, to): codes and offsets; prm as :func:`_lanes_group`;
    out = (score, qs, qe, ts, te, ops, lens, cap_off, nops, tbuf): writes score/qs/qe/ts/te
    per pair and, with ``trace``, the CIGAR runs at ops/lens[cap_off[p]:] and their number
    in nops[p]; tbuf (uint8[threads, bytes]) is each thread's traceback scratch, with a row
    per numba thread id and room for the largest group (pair) traced.
    """
    for k in prange(groups.shape[0]):  # pragma: no cover - compiled by numba
        _lanes_unit(groups[k], seqs, order, gstart, prm, use_matrix, local, trace, out)


@njit(cache=True)
def lanes_driver_serial(seqs, order, gstart, groups, prm, use_matrix, local, trace, out):
    """:func:`lanes_driver` on the calling thread (no ~35 us thread-pool start: small work)."""
    for k in range(groups.shape[0]):
        _lanes_unit(groups[k], seqs, order, gstart, prm, use_matrix, local, trace, out)


@njit(cache=True)
def _antidiag_unit(p, seqs, bands, prm, use_matrix, local, trace, out):
    """One pair p by anti-diagonals: DP, outputs, traceback. Each flag combination runs its
    own compile-time specialisation of the pair DP (a runtime flag there stops LLVM
    vectorising the anti-diagonal loop: 3x slower, measured)."""
    qc, qo, tc, to = seqs
    score, qs, qe, ts, te, ops, lens, cap_off, nops, tbuf = out
    mode = prm[5]
    qv = qc[qo[p] : qo[p + 1]]
    tv = tc[to[p] : to[p + 1]]
    w = bands[p]
    if trace:
        dstart, dlo = _diag_layout(qv.shape[0], tv.shape[0], w)
        tb = tbuf[get_thread_id()][: dstart[-1]]  # this thread's reusable buffer
    else:
        dstart = np.zeros(1, np.int64)
        dlo = np.zeros(1, np.int64)
        tb = tbuf[0][:0]
    if use_matrix:
        if trace:
            if local:
                best, bi, bj = _antidiag_pair(qv, tv, prm, w, True, True, True, tb, dstart, dlo)
            else:
                best, bi, bj = _antidiag_pair(qv, tv, prm, w, True, False, True, tb, dstart, dlo)
        elif local:
            best, bi, bj = _antidiag_pair(qv, tv, prm, w, True, True, False, tb, dstart, dlo)
        else:
            best, bi, bj = _antidiag_pair(qv, tv, prm, w, True, False, False, tb, dstart, dlo)
    elif trace:
        if local:
            best, bi, bj = _antidiag_pair(qv, tv, prm, w, False, True, True, tb, dstart, dlo)
        else:
            best, bi, bj = _antidiag_pair(qv, tv, prm, w, False, False, True, tb, dstart, dlo)
    elif local:
        best, bi, bj = _antidiag_pair(qv, tv, prm, w, False, True, False, tb, dstart, dlo)
    else:
        best, bi, bj = _antidiag_pair(qv, tv, prm, w, False, False, False, tb, dstart, dlo)
    score[p] = best
    qe[p] = bi
    te[p] = bj
    if trace:
        n, i0, j0 = traceback_walk(
            tb, 1, 0, 0, 0, dstart, dlo, qv, tv, bi, bj, best, mode, ops, lens, cap_off[p]
        )
        nops[p] = n
        qs[p] = i0
        ts[p] = j0


@njit(cache=True, parallel=True)
def antidiag_driver(seqs, pairs, bands, prm, use_matrix, local, trace, out):
    """Align the listed pairs one at a time (anti-diagonal wavefront), pairs in parallel,
    pair p in the band bands[p]; arguments as :func:`lanes_driver`."""
    for k in prange(pairs.shape[0]):  # pragma: no cover - compiled by numba
        _antidiag_unit(pairs[k], seqs, bands, prm, use_matrix, local, trace, out)


@njit(cache=True)
def antidiag_driver_serial(seqs, pairs, bands, prm, use_matrix, local, trace, out):
    """:func:`antidiag_driver` on the calling thread (small work)."""
    for k in range(pairs.shape[0]):
        _antidiag_unit(pairs[k], seqs, bands, prm, use_matrix, local, trace, out)


@njit(cache=True, parallel=True)
def trace_walk_driver(  # pragma: no cover - compiled by numba
    tb,
    tb_off,
    si,
    sj,
    base_add,
    qc,
    qo,
    tc,
    to,
    pairs,
    score,
    qe,
    te,
    mode,
    ops,
    lens,
    cap_off,
    nops,
    qs,
    ts,
):
    """Traceback of pairs whose direction bytes another backend (Metal) wrote, layout 0:
    pair p's byte of (i, j) at tb[tb_off[p] + base_add[p] + (i-1)*si[p] + (j-1)*sj[p]]."""
    dummy = np.zeros(1, np.int64)
    for k in prange(pairs.shape[0]):
        p = pairs[k]
        n, i0, j0 = traceback_walk(
            tb,
            0,
            tb_off[p] + base_add[p],
            si[p],
            sj[p],
            dummy,
            dummy,
            qc[qo[p] : qo[p + 1]],
            tc[to[p] : to[p + 1]],
            qe[p],
            te[p],
            score[p],
            mode,
            ops,
            lens,
            cap_off[p],
        )
        nops[p] = n
        qs[p] = i0
        ts[p] = j0


@njit(cache=True)
def cigar_text(ops, lens, offsets):  # pragma: no cover - compiled by numba
    """CIGAR strings of all pairs as one ASCII buffer and its offsets (n+1)."""
    n = offsets.shape[0] - 1
    out_off = np.zeros(n + 1, np.int64)
    for p in range(n):
        size = 0
        for k in range(offsets[p], offsets[p + 1]):
            v = lens[k]
            digits = 1
            while v >= 10:
                v //= 10
                digits += 1
            size += digits + 1
        out_off[p + 1] = out_off[p] + size
    buf = np.empty(out_off[n], np.uint8)
    chars = np.array([61, 88, 73, 68, 83], np.uint8)  # = X I D S
    for p in range(n):
        w = out_off[p]
        for k in range(offsets[p], offsets[p + 1]):
            v = lens[k]
            digits = 1
            x = v
            while x >= 10:
                x //= 10
                digits += 1
            for d in range(digits - 1, -1, -1):
                buf[w + d] = 48 + v % 10
                v //= 10
            w += digits
            buf[w] = chars[ops[k]]
            w += 1
    return buf, out_off


# --------------------------------------------------------------------------------------
# shared-target layout: many queries against one target (local alignment, score only)
#
# The lanes of a group are one explicit LLVM vector, <SHARED_LANES x i16>, through the
# intrinsics below: a numba loop over an int16 array row is vectorised by LLVM's loop
# vectoriser at its preferred width (256 bits on AVX-512 CPUs: ymm) and keeps the running
# values (F, the diagonal H, the column maximum) in memory, loaded and stored for every
# row. A value of the vector type is an SSA value: LLVM keeps it in registers across the
# row loop, and the x86 backend splits it into what the CPU has (the lane count below is
# chosen so that it stays in registers: 2 zmm with AVX-512BW, 1 ymm with AVX2). Only the
# shared and segments layouts use it (CPU only: the Metal kernel keeps one thread per
# pair).


def _vector_register_bytes() -> int:
    """Bytes of the widest integer vector register of the CPU numba compiles for: 64 with
    AVX-512BW, 32 with AVX2, else 16 (SSE, NEON). ``NUMBA_CPU_FEATURES``, when set, is what
    numba compiles for, so it decides; otherwise the host's features."""
    import os

    from llvmlite import binding

    wanted = os.environ.get("NUMBA_CPU_FEATURES")
    if wanted:
        on = {f[1:] for f in wanted.split(",") if f.startswith("+")}
    else:
        on = {name for name, flag in binding.get_host_cpu_features().items() if flag}
    if "avx512bw" in on:
        return 64
    if "avx2" in on:
        return 32
    return 16


#: Lanes per group of the shared-target and segments layouts: one vector register's worth
#: of int16 on AVX2 (16) and SSE/NEON (8), two 512-bit registers' worth with AVX-512BW
#: (64: 32 zmm registers hold the ~8 live vectors of the DP at 2 registers each). With 64
#: lanes on AVX2 (4 of its 16 ymm registers per vector) LLVM spilled the row loop's
#: vectors to the stack. 64 x 1-2.5 kb reads against a seeded random 48.5 kb target took
#: 0.88 s with 64 lanes, 0.67 with 32 and 0.48 with 16 (AMD EPYC Zen 3, 1 thread, `python
#: bench/align_long_target.py --repeats 3 --shapes reads1k_genome`, biometal-int16, one
#: run each); against phage lambda, 5 repeats, 2.20 s with 64 lanes and 0.68 with 16.
_VECTOR_BYTES = _vector_register_bytes()
#: queries per lane group of the shared-target layout (int16; see above)
SHARED_LANES = 64 if _VECTOR_BYTES == 64 else _VECTOR_BYTES // 2
#: most query rows per block of the shared-target layout (the rows are split into equal
#: blocks: 300 rows go as 150 + 150). With F, the diagonal and the column maximum in
#: registers the H and E rows of a block (256 x 64 x 2 x 2 bytes = 64 KiB) stream from L1/L2
#: well enough; 256 was ~10% faster than 128 for 150 bp reads (one block instead of two),
#: within noise for 1-2.5 kb reads (measured, 1 thread)
SHARED_QBLOCK = 256


class _LaneVec(types.Type):
    """numba type of an LLVM vector ``<lanes x i{bits}>`` (a lane group's values)."""

    def __init__(self, bits: int, lanes: int):
        self.bits, self.lanes = bits, lanes
        self.ir = ir.VectorType(ir.IntType(bits), lanes)
        super().__init__(name=f"i{bits}x{lanes}")


@register_model(_LaneVec)
class _LaneVecModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, fe_type.ir)


def _vector_ops(vt: _LaneVec, dtype, signed: bool):
    """Intrinsics on ``vt`` over 1-D arrays of ``dtype``: load, store, splat, max,
    saturating add, saturating unsigned subtract (for values >= 0: max(a - b, 0)) and
    any_rise (see :func:`vany_rise`); ``signed`` picks the comparisons and the add."""
    vec = vt.ir

    def is_array(a) -> bool:
        return isinstance(a, types.Array) and a.dtype == dtype and a.ndim == 1

    def lane_ptr(context, builder, aty, arr, oty, off):
        data = context.make_array(aty)(context, builder, value=arr).data
        o = context.cast(builder, off, oty, types.intp)
        return builder.bitcast(builder.gep(data, [o], inbounds=True), vec.as_pointer())

    def gt(builder, x, y):
        return (builder.icmp_signed if signed else builder.icmp_unsigned)(">", x, y)

    def ge(builder, x, y):
        return (builder.icmp_signed if signed else builder.icmp_unsigned)(">=", x, y)

    def load(typingctx, arr, off):
        if not (is_array(arr) and isinstance(off, types.Integer)):
            return None

        def codegen(context, builder, sig, args):
            ptr = lane_ptr(context, builder, arr, args[0], off, args[1])
            return builder.load(ptr, align=vt.bits // 8)

        return vt(arr, off), codegen

    def store(typingctx, arr, off, v):
        if not (is_array(arr) and isinstance(off, types.Integer) and v == vt):
            return None

        def codegen(context, builder, sig, args):
            ptr = lane_ptr(context, builder, arr, args[0], off, args[1])
            builder.store(args[2], ptr, align=vt.bits // 8)
            return context.get_dummy_value()

        return types.none(arr, off, v), codegen

    def splat(typingctx, x):
        if x != dtype:
            return None

        def codegen(context, builder, sig, args):
            undef = ir.Constant(vec, ir.Undefined)
            one = builder.insert_element(undef, args[0], ir.Constant(ir.IntType(32), 0))
            zeros = ir.Constant(ir.VectorType(ir.IntType(32), vt.lanes), None)
            return builder.shuffle_vector(one, undef, zeros)

        return vt(x), codegen

    def binary(name: str):
        def impl(typingctx, a, b):
            if not (a == vt and b == vt):
                return None

            def codegen(context, builder, sig, args):
                x, y = args
                if name == "max":
                    return builder.select(gt(builder, x, y), x, y)
                fnty = ir.FunctionType(vec, [vec, vec])
                fn = cgutils.get_or_insert_function(
                    builder.module, fnty, f"llvm.{name}.sat.v{vt.lanes}i{vt.bits}"
                )
                return builder.call(fn, [x, y])

            return vt(a, b), codegen

        return impl

    def any_rise(typingctx, c, best, ties):
        if not (c == vt and best == vt and isinstance(ties, types.Boolean)):
            return None

        def codegen(context, builder, sig, args):
            x, y, tie = args
            up = gt(builder, x, y)
            eq = builder.and_(ge(builder, x, y), gt(builder, x, ir.Constant(vec, None)))
            m = builder.select(tie, eq, up)
            bits = builder.bitcast(m, ir.IntType(vt.lanes))
            return builder.icmp_unsigned("!=", bits, ir.Constant(ir.IntType(vt.lanes), 0))

        return types.boolean(c, best, ties), codegen

    def rise_mask(typingctx, c, best):
        if not (c == vt and best == vt):
            return None
        words = (vt.lanes + 63) // 64
        rty = types.UniTuple(types.uint64, words)

        def codegen(context, builder, sig, args):
            bits = builder.bitcast(gt(builder, args[0], args[1]), ir.IntType(vt.lanes))
            wide = builder.zext(bits, ir.IntType(64 * words))
            parts = [
                builder.trunc(builder.lshr(wide, ir.Constant(wide.type, 64 * w)), ir.IntType(64))
                for w in range(words)
            ]
            return context.make_tuple(builder, rty, parts)

        return rty(c, best), codegen

    return tuple(
        intrinsic(f)
        for f in (load, store, splat, binary("max"), binary("sadd" if signed else "uadd"),
                  binary("usub"), any_rise, rise_mask)
    )  # fmt: skip


@intrinsic
def cttz64(typingctx, x):
    """The number of trailing zero bits of a nonzero uint64 (its lowest set bit)."""
    if x != types.uint64:
        return None

    def codegen(context, builder, sig, args):
        fnty = ir.FunctionType(ir.IntType(64), [ir.IntType(64), ir.IntType(1)])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.cttz.i64")
        return builder.call(fn, [args[0], ir.Constant(ir.IntType(1), 1)])

    return types.uint64(x), codegen


i16vec = _LaneVec(16, SHARED_LANES)
#: the int16 lane-group vector: ``vload(arr, off)`` (the SHARED_LANES values at
#: ``arr[off:]``), ``vstore(arr, off, v)``, ``vsplat(x)`` (every lane x), lane-wise signed
#: max, saturating signed add, saturating *unsigned* subtract (for values >= 0: max(a - b,
#: 0)), and ``vany_rise(c, best, ties)``: whether any lane has ``c > best`` or, with
#: ``ties``, ``c == best > 0`` (c, best >= 0)
vload, vstore, vsplat, vvmax, vvadds, vvsubs0, vany_rise, _ = _vector_ops(i16vec, types.int16, True)


@njit(cache=True, fastmath=True, boundscheck=False)
def _shared_group(prof, t, lq, n_act, maxq, go, ge):  # pragma: no cover - compiled by numba
    """Local DP (int16, saturating) of up to SHARED_LANES queries against one target.

    prof: int16[5 * maxq * SHARED_LANES] query profile, prof[(c * maxq + i - 1) * L + ln] =
    M[q_ln[i-1], c] (rows past a query's end: the pad score -1); t: uint8[lt] target codes;
    lq: int64 query lengths (lanes n_act.. are padding). Returns (score, end_i, end_j)
    int64[SHARED_LANES].

    Each lane is one query; the target is streamed once, one column for all lanes (one
    :data:`i16vec`); the rows go in blocks of SHARED_QBLOCK (the last row's H of every
    column and the F entering the next block are handed to it). E and F are kept clamped
    at 0 (a saturating unsigned subtract): in local alignment H >= 0, so a negative E or F
    never decides an H, and H = max(diagonal + score, E, F) needs no max with 0. E is
    stored already advanced to the next column, and H - gap_open is shared by E and F
    (SWIPE's order): 9 vector operations per cell, F, the diagonal H and the column
    maximum held in registers. The DP keeps only a running column maximum per lane; the
    end row is looked up, for the few columns that raise a lane's best, by a scan of that
    lane's column (first row equal to the maximum: the smallest query end, and a strict
    "greater" across columns keeps the smallest target end, as parasail). Pad rows score
    strictly below a real cell they depend on, so they never raise a column maximum above
    the real cells' best (see :func:`_lanes_group`).
    """
    L = SHARED_LANES
    lt = t.shape[0]
    best = np.zeros(L, np.int64)
    bi = np.zeros(L, np.int64)
    bj = np.zeros(L, np.int64)
    best16 = np.zeros(L, np.int16)
    cmv = np.zeros(L, np.int16)
    nb = max(1, (maxq + SHARED_QBLOCK - 1) // SHARED_QBLOCK)
    # the last row's H of the block above, and F of its next row, every column (local:
    # row 0 is 0, F clamped at 0)
    Hrow = np.zeros((lt + 1) * L if nb > 1 else L, np.int16)
    Frow = np.zeros((lt + 1) * L if nb > 1 else L, np.int16)
    qb = (maxq + nb - 1) // nb  # rows per block, balanced (150 rows: 75 + 75, not 128 + 22)
    # H of the previous column (then the current one), E of the next column, by row
    H = np.empty(qb * L, np.int16)
    E = np.empty(qb * L, np.int16)
    zv = vsplat(np.int16(0))
    gov = vsplat(np.int16(go))
    gev = vsplat(np.int16(ge))
    bestv = zv
    for blk in range(nb):
        i0 = blk * qb  # rows i0+1 .. i0+nr (1-based)
        nr = min(qb, maxq - i0)
        if nr <= 0:
            break
        first = blk == 0
        last = blk == nb - 1
        H[: nr * L] = 0  # column 0 (local)
        E[: nr * L] = 0  # E(i, 1) = H(i, 0) - gap_open, clamped
        hsv = zv  # H(i0, 0)
        for j in range(1, lt + 1):
            pbase = (np.int64(t[j - 1]) * maxq + i0) * L
            if first:
                f = zv
                hdg = zv
            else:
                # (Hrow[j - 1] already holds this block's row: the row above comes from hsv)
                f = vload(Frow, j * L)
                hdg = hsv
                hsv = vload(Hrow, j * L)
            cm = zv
            h = zv
            for r in range(nr):
                o = r * L
                hl = vload(H, o)
                e = vload(E, o)
                h = vvmax(vvmax(vvadds(hdg, vload(prof, pbase + o)), e), f)
                hdg = hl
                vstore(H, o, h)
                hg = vvsubs0(h, gov)
                vstore(E, o, vvmax(vvsubs0(e, gev), hg))
                f = vvmax(vvsubs0(f, gev), hg)
                cm = vvmax(cm, h)
            if not last:
                vstore(Hrow, j * L, h)
                vstore(Frow, j * L, f)
            # a lane whose best rises (rare): find the first row holding its column maximum
            # (after the first block, an equal score in a smaller column wins as well:
            # the target end decides before the query end)
            if vany_rise(cm, bestv, not first):
                vstore(cmv, 0, cm)
                for ln in range(n_act):
                    v = cmv[ln]
                    if v > best16[ln] or (v == best16[ln] and v > 0 and j < bj[ln]):
                        hi = min(nr, lq[ln] - i0)
                        for r in range(hi):
                            if H[r * L + ln] == v:
                                best16[ln] = v
                                best[ln] = np.int64(v)
                                bi[ln] = i0 + r + 1
                                bj[ln] = j
                                break
                bestv = vload(best16, 0)
    return best, bi, bj


@intrinsic
def vsel_eq(typingctx, a, b, x, y):
    """Lane-wise ``x if a == b else y``."""
    if not all(v == i16vec for v in (a, b, x, y)):
        return None

    def codegen(context, builder, sig, args):
        return builder.select(builder.icmp_signed("==", args[0], args[1]), args[2], args[3])

    return i16vec(a, b, x, y), codegen


@intrinsic
def vsel_gt(typingctx, a, b, x, y):
    """Lane-wise ``x if a > b else y``."""
    if not all(v == i16vec for v in (a, b, x, y)):
        return None

    def codegen(context, builder, sig, args):
        return builder.select(builder.icmp_signed(">", args[0], args[1]), args[2], args[3])

    return i16vec(a, b, x, y), codegen


@intrinsic
def vshift_keep(typingctx, v, keep):
    """Each lane takes the value of the lane before it (lane 0: 0), then ``& keep``."""
    if not (v == i16vec and keep == i16vec):
        return None

    def codegen(context, builder, sig, args):
        idx = [SHARED_LANES] + list(range(SHARED_LANES - 1))
        mask = ir.Constant(ir.VectorType(ir.IntType(32), SHARED_LANES), idx)
        sh = builder.shuffle_vector(args[0], ir.Constant(i16vec.ir, None), mask)
        return builder.and_(sh, args[1])

    return i16vec(v, keep), codegen


@njit(cache=True)
def _query_profile(qc, qo, order, a, b, L, M7, bias, dtype_proxy):
    """Lane lengths, the longest, and the query profile of the queries ``order[a:b]`` in L
    lanes: prof[(c * maxq + i) * L + ln] = M7[q_ln[i], c] + bias (rows past a query's end:
    the pad score + bias), of ``dtype_proxy``'s dtype."""
    lq = np.zeros(L, np.int64)
    for m in range(b - a):
        p = order[a + m]
        lq[m] = qo[p + 1] - qo[p]
    maxq = max(1, lq.max())
    prof = np.empty(5 * maxq * L, dtype_proxy.dtype)
    for c in range(5):
        base = c * maxq * L
        prof[base : base + maxq * L] = M7[QPAD, c] + bias
        for m in range(b - a):
            s = qo[order[a + m]]
            for i in range(lq[m]):
                prof[base + i * L + m] = M7[qc[s + i], c] + bias
    return lq, maxq, prof


@njit(cache=True)
def _shared_unit(g, qc, qo, t, order, gstart, M7, go, ge, score, qe, te):
    """One lane group g of the shared-target layout: query profile, DP, outputs."""
    a = gstart[g]
    b = gstart[g + 1]
    lq, maxq, prof = _query_profile(qc, qo, order, a, b, SHARED_LANES, M7, 0, M7)
    best, bi, bj = _shared_group(prof, t, lq, b - a, maxq, go, ge)
    for m in range(b - a):
        p = order[a + m]
        score[p] = best[m]
        qe[p] = bi[m]
        te[p] = bj[m]


@njit(cache=True, parallel=True)
def shared_driver(qc, qo, t, order, gstart, groups, M7, go, ge, score, qe, te):
    """Local alignment, score and end cell, of every query against the one target ``t``
    (uint8 codes), in lane groups of SHARED_LANES queries (``order[gstart[g]:gstart[g+1]]``),
    groups in parallel. M7: int16[7, 7] matrix (row QPAD: the pad score, negative)."""
    for k in prange(groups.shape[0]):  # pragma: no cover - compiled by numba
        _shared_unit(groups[k], qc, qo, t, order, gstart, M7, go, ge, score, qe, te)


@njit(cache=True)
def shared_driver_serial(qc, qo, t, order, gstart, groups, M7, go, ge, score, qe, te):
    """:func:`shared_driver` on the calling thread (small work)."""
    for k in range(groups.shape[0]):
        _shared_unit(groups[k], qc, qo, t, order, gstart, M7, go, ge, score, qe, te)


# --------------------------------------------------------------------------------------
# shared-target layout in 8 bits: twice the queries per vector, exact by re-running the
# stretches where a lane's scores reach the top of the byte
#
# Local scores of short reads against a long target stay small except where a read
# aligns: a 150 bp read against a 48.5 kb genome scores above 252 in a few hundred of the
# 48,500 columns, if at all. So the DP runs in unsigned bytes, 128 queries per vector
# (parasail's "sat" idea, with its bias: a cell is max(H_diag + (M + bias), bias) - bias),
# and its values are min(true value, cap) at worst (every operation is monotone, and the
# saturating add clamps at 255 = cap + bias): a lane whose values stay below cap is exact.
# Where a lane reaches cap its true values are >= cap there and may be anything after, so
# that stretch is re-run exactly (int32, one lane at a time, :func:`_shared8_rerun`) from
# a saved state of the lane, until the byte DP is exact again for every cell that can
# matter: the target is cut into intervals of K columns; the DP records each (lane,
# interval) that reaches cap and keeps a copy of the state (H and E by row) at the start of
# the interval of the
# lanes that could reach cap in it (a cell gains at most the largest score per column, so
# a lane whose largest H or E is below cap - K * max score cannot: most lanes, most of the
# time, so the copies cost next to nothing). A lane
# whose interval reaches cap gets that start state saved (a "start" slot: exact, as no
# earlier interval of the lane saturated, or an earlier stretch was resolved), and its
# state at each following checkpoint ("check" slots) until D intervals in a row stay below
# cap. The re-run goes from the start slot and stops at a checkpoint where every row whose
# exact H or E differs from the check slot's stays under cap even if all the rows below it
# matched, when no interval from there to the lane's next start slot saturates (see
# :func:`_shared8_rerun`). A saturated lane's best score is >= cap, and only re-run columns
# can hold it (every other column's cells that can reach it are exact, and < cap); the
# re-run keeps the same end-cell rule (strict greater across columns, first row). Counted
# once (an instrumented copy of _shared8_rerun, 128 mutated 150 bp reads from a 5 kb random
# target): median 64 re-run columns per read, at most 96.

#: queries per lane group of the 8-bit shared layout (uint8: two 512-bit registers with
#: AVX-512BW, else one register, as SHARED_LANES)
SHARED8_LANES = 2 * SHARED_LANES
#: uint64 words of a lane mask of the 8-bit layout (brise_mask)
_MASK_WORDS8 = (SHARED8_LANES + 63) // 64
#: columns per checkpoint interval of the 8-bit shared layout (a re-run starts up to K
#: columns before a lane reaches cap and ends on a checkpoint)
SHARED8_K = 32
#: intervals below cap after a saturated one for which a lane's state is still kept
#: (0: enough for E, decaying by gap_extend per column, to fall from cap to 0 and for a
#: query's length, from the scores)
SHARED8_D = 0

u8vec = _LaneVec(8, SHARED8_LANES)
#: the uint8 lane-group vector: as the int16 ones above, unsigned; ``brise_mask(c, best)``:
#: the lanes with c > best as bits of _MASK_WORDS8 uint64 (lanes 0-63, 64-127, ...)
bload, bstore, bsplat, bvmax, bvadds, bvsubs0, bany_rise, brise_mask = _vector_ops(
    u8vec, types.uint8, False
)


@njit(cache=True)
def _push_slot(s_lane, s_ck, s_kind, s_state, ns, ln, ck, kind, H, E, L, nr):  # pragma: no cover
    """Append lane ``ln``'s state (H and E rows of the lane-major arrays) as slot ``ns``
    (arrays doubled when full); returns the arrays and the new count."""
    if ns == s_lane.shape[0]:
        n = ns
        a = np.empty(2 * n, np.int64)
        b = np.empty(2 * n, np.int64)
        c = np.empty(2 * n, np.int64)
        d = np.empty((2 * n, s_state.shape[1]), np.uint8)
        a[:n] = s_lane
        b[:n] = s_ck
        c[:n] = s_kind
        d[:n] = s_state
        s_lane, s_ck, s_kind, s_state = a, b, c, d
    s_lane[ns] = ln
    s_ck[ns] = ck
    s_kind[ns] = kind
    for r in range(nr):
        s_state[ns, r] = H[r * L + ln]
        s_state[ns, nr + r] = E[r * L + ln]
    return s_lane, s_ck, s_kind, s_state, ns + 1


@njit(cache=True)
def _push_event(e_lane, e_iv, ne, ln, c):  # pragma: no cover - compiled by numba
    """Append (lane, interval) as saturation event ``ne`` (arrays doubled when full)."""
    if ne == e_lane.shape[0]:
        a = np.empty(2 * ne, np.int64)
        b = np.empty(2 * ne, np.int64)
        a[:ne] = e_lane
        b[:ne] = e_iv
        e_lane, e_iv = a, b
    e_lane[ne] = ln
    e_iv[ne] = c
    return e_lane, e_iv, ne + 1


@njit(cache=True, fastmath=True, boundscheck=False)
def _shared8_group(prof, t, lq, n_act, maxq, go, ge, bias, maxs, K, D):  # pragma: no cover
    """Local DP in unsigned bytes of up to SHARED8_LANES queries (<= SHARED_QBLOCK rows)
    against one target (see the section's comment).

    prof: uint8[5 * maxq * L], M + bias (rows past a query's end: the pad score + bias);
    t: uint8[lt] target codes; maxs: the largest score of the matrix (>= 0). Returns
    (best, end_i, end_j) int64[L] of the lanes that
    stayed below cap, the saturation events (lane, interval: int64 arrays and their count,
    in interval order; memory grows with them, not with the target),
    and the slots: lane, checkpoint, kind (0 start, 1 check), state (H rows then E rows,
    uint8[2 * maxq]), count.
    """
    L = SHARED8_LANES
    lt = t.shape[0]
    nr = maxq
    cap = 255 - bias
    best = np.zeros(L, np.int64)
    bi = np.zeros(L, np.int64)
    bj = np.zeros(L, np.int64)
    best8 = np.zeros(L, np.uint8)
    cmv = np.zeros(L, np.uint8)
    e_lane = np.empty(64, np.int64)
    e_iv = np.empty(64, np.int64)
    ne = 0
    in_ep = np.zeros(L, np.bool_)
    ep_bits = np.zeros(_MASK_WORDS8, np.uint64)  # in_ep as bits
    clean = np.zeros(L, np.int64)
    H = np.zeros(nr * L, np.uint8)
    E = np.zeros(nr * L, np.uint8)
    # H and E at the start of the current interval, of the lanes that could reach cap in
    # it (snap): a cell gains at most maxs per column over the state's largest value
    PH = np.zeros(nr * L, np.uint8)
    PE = np.zeros(nr * L, np.uint8)
    snap = np.ones(L, np.bool_)
    smv = np.zeros(L, np.uint8)
    riskv = bsplat(np.uint8(min(255, K * maxs)))
    s_lane = np.empty(64, np.int64)
    s_ck = np.empty(64, np.int64)
    s_kind = np.empty(64, np.int64)
    s_state = np.empty((64, 2 * nr), np.uint8)
    ns = 0
    zv = bsplat(np.uint8(0))
    gov = bsplat(np.uint8(go))
    gev = bsplat(np.uint8(ge))
    biasv = bsplat(np.uint8(bias))
    below = bsplat(np.uint8(cap - 1))
    bestv = zv
    im = zv
    for j in range(1, lt + 1):
        pbase = np.int64(t[j - 1]) * maxq * L
        f = zv
        hdg = zv
        cm = zv
        for r in range(nr):
            o = r * L
            hl = bload(H, o)
            e = bload(E, o)
            h = bvmax(bvmax(bvsubs0(bvadds(hdg, bload(prof, pbase + o)), biasv), e), f)
            hdg = hl
            bstore(H, o, h)
            hg = bvsubs0(h, gov)
            bstore(E, o, bvmax(bvsubs0(e, gev), hg))
            f = bvmax(bvsubs0(f, gev), hg)
            cm = bvmax(cm, h)
        im = bvmax(im, cm)
        if bany_rise(cm, bestv, False):
            # the lanes whose best rises (bits of a mask: usually one of them), each
            # with the first row holding its column maximum
            bstore(cmv, 0, cm)
            masks = brise_mask(cm, bestv)
            for w in range(_MASK_WORDS8):
                mask = masks[w]
                while mask != 0:
                    ln = w * 64 + np.int64(cttz64(mask))
                    mask &= mask - np.uint64(1)
                    if ln >= n_act:
                        continue
                    v = cmv[ln]
                    for r in range(min(nr, lq[ln])):
                        if H[r * L + ln] == v:
                            best8[ln] = v
                            best[ln] = np.int64(v)
                            bi[ln] = r + 1
                            bj[ln] = j
                            break
            bestv = bload(best8, 0)
        if j % K == 0 or j == lt:
            c = (j - 1) // K  # the interval just finished: columns c*K+1 .. j
            # the lanes that reached cap in it, or are in a stretch (bits, as above)
            sat_w = brise_mask(im, below)
            for w in range(_MASK_WORDS8):
                sat_bits = sat_w[w]
                mask = sat_bits | ep_bits[w]
                while mask != 0:
                    b = cttz64(mask)
                    mask &= mask - np.uint64(1)
                    ln = w * 64 + np.int64(b)
                    if ln >= n_act:
                        continue
                    sat = ((sat_bits >> b) & np.uint64(1)) != 0
                    if sat:
                        e_lane, e_iv, ne = _push_event(e_lane, e_iv, ne, ln, c)
                    if sat and not in_ep[ln]:  # (snap[ln]: it could reach cap)
                        s_lane, s_ck, s_kind, s_state, ns = _push_slot(
                            s_lane, s_ck, s_kind, s_state, ns, ln, c, 0, PH, PE, L, nr
                        )
                        in_ep[ln] = True
                        ep_bits[w] |= np.uint64(1) << b
                        clean[ln] = 0
                    elif in_ep[ln]:
                        clean[ln] = 0 if sat else clean[ln] + 1
                    if in_ep[ln] and j < lt:
                        s_lane, s_ck, s_kind, s_state, ns = _push_slot(
                            s_lane, s_ck, s_kind, s_state, ns, ln, c + 1, 1, H, E, L, nr
                        )
                    if in_ep[ln] and clean[ln] >= D:
                        in_ep[ln] = False
                        ep_bits[w] &= ~(np.uint64(1) << b)
            if j < lt:
                sm = zv
                for r in range(nr):
                    sm = bvmax(sm, bvmax(bload(H, r * L), bload(E, r * L)))
                up = bvadds(sm, riskv)
                snap[:] = False
                if bany_rise(up, below, False):
                    bstore(smv, 0, up)
                    for ln in range(n_act):
                        if smv[ln] >= cap:
                            snap[ln] = True
                            for r in range(nr):
                                PH[r * L + ln] = H[r * L + ln]
                                PE[r * L + ln] = E[r * L + ln]
            im = zv
    return best, bi, bj, e_lane, e_iv, ne, s_lane, s_ck, s_kind, s_state, ns


@njit(cache=True, boundscheck=False)
def _shared8_rerun(q, M7, t, go, ge, K, ln, sat_iv, s_lane, s_ck, s_kind, s_state, ns, nr,
                   maxs, cap):  # fmt: skip
    """The exact best score and end cell (int64) of lane ``ln`` (query codes ``q``) whose
    byte DP saturated: its stretches re-run from their start slots (see the section's
    comment). Returns (best, end_i, end_j).

    A stretch ends at a checkpoint where every row whose exact H or E differs from the
    byte DP's can no longer matter: that value plus the most the rows below can add
    ((lq - i) * maxs: a path gains at most maxs per row it goes down) stays under cap. The
    byte DP from there is exact except on cells reached through those rows, whose exact
    values stay under cap too: never a best (>= cap), never a false saturation, and a
    later stretch started from such a state still gets its best cells exactly."""
    lq = q.shape[0]
    lt = t.shape[0]
    n_iv = (lt + K - 1) // K
    H = np.zeros(lq + 1, np.int32)
    E = np.zeros(lq + 1, np.int32)
    sc = np.empty((5, lq + 1), np.int32)  # query profile: sc[target code, row]
    for c in range(5):
        for i in range(1, lq + 1):
            sc[c, i] = M7[q[i - 1], c]
    go32 = np.int32(go)
    ge32 = np.int32(ge)
    z = np.int32(0)
    best = np.int64(0)
    bi = np.int64(0)
    bj = np.int64(0)
    k = 0
    while k < ns:
        if not (s_lane[k] == ln and s_kind[k] == 0):
            k += 1
            continue
        c0 = s_ck[k]
        # the lane's next start slot (its checkpoint bounds this stretch's checks)
        nxt = k + 1
        while nxt < ns and not (s_lane[nxt] == ln and s_kind[nxt] == 0):
            nxt += 1
        c_next = s_ck[nxt] if nxt < ns else n_iv
        for i in range(1, lq + 1):
            H[i] = s_state[k, i - 1]
            E[i] = s_state[k, nr + i - 1]
        kk = k + 1  # the check slots follow in checkpoint order
        resolved = False
        j = c0 * K
        while j < lt:
            j += 1
            row = sc[np.int64(t[j - 1])]
            hd = z
            f = z
            cmax = z
            crow = 0
            for i in range(1, lq + 1):
                e = E[i]
                h = max(max(hd + row[i], e), max(f, z))
                hd = H[i]
                H[i] = h
                hg = h - go32
                E[i] = max(max(e - ge32, hg), z)
                f = max(f - ge32, hg)
                if h > cmax:
                    cmax = h
                    crow = i
            if cmax > best:
                best = cmax
                bi = crow
                bj = j
            if j % K == 0 and j < lt:
                m = j // K
                while kk < nxt and not (s_lane[kk] == ln and s_kind[kk] == 1 and s_ck[kk] >= m):
                    kk += 1
                if kk < nxt and s_ck[kk] == m:
                    # no saturated interval of the lane from m to its next start
                    x = np.searchsorted(sat_iv, m)
                    quiet = x == len(sat_iv) or sat_iv[x] >= c_next
                    if quiet:
                        same = True
                        for i in range(1, lq + 1):
                            if H[i] != s_state[kk, i - 1] or E[i] != s_state[kk, nr + i - 1]:
                                if max(H[i], E[i]) + (lq - i) * maxs >= cap:
                                    same = False
                                    break
                        if same:
                            resolved = True
                            break
        if not resolved:
            break  # ran to the end of the target
        k = nxt
    return best, bi, bj


@njit(cache=True)
def _shared8_unit(g, qc, qo, t, order, gstart, M7, go, ge, bias, K, D, score, qe, te):
    """One lane group g of the 8-bit shared layout: query profile, byte DP, re-runs."""
    a = gstart[g]
    b = gstart[g + 1]
    L = SHARED8_LANES
    lq, maxq, prof = _query_profile(qc, qo, order, a, b, L, M7, bias, np.zeros(1, np.uint8))
    maxs = 0
    for c in range(5):
        for r in range(QPAD + 1):
            maxs = max(maxs, np.int64(M7[r, c]))
    if D <= 0:  # enough intervals for E to fall from cap back to 0, and a query's length
        D = (maxq + (255 - bias) // max(ge, 1) + K - 1) // K + 1
    best, bi, bj, e_lane, e_iv, ne, s_lane, s_ck, s_kind, s_state, ns = _shared8_group(
        prof, t, lq, b - a, maxq, go, ge, bias, maxs, K, D
    )
    n_sat = np.zeros(L, np.int64)
    for x in range(ne):
        n_sat[e_lane[x]] += 1
    for m in range(b - a):
        p = order[a + m]
        if n_sat[m]:
            sat_iv = np.empty(n_sat[m], np.int64)  # the lane's saturated intervals, in order
            y = 0
            for x in range(ne):
                if e_lane[x] == m:
                    sat_iv[y] = e_iv[x]
                    y += 1
            s = qo[p]
            v, i, j = _shared8_rerun(qc[s : s + lq[m]], M7, t, go, ge, K, m, sat_iv,
                                     s_lane, s_ck, s_kind, s_state, ns, maxq, maxs,
                                     255 - bias)  # fmt: skip
            score[p] = v
            qe[p] = i
            te[p] = j
        else:
            score[p] = best[m]
            qe[p] = bi[m]
            te[p] = bj[m]


@njit(cache=True, parallel=True)
def shared8_driver(qc, qo, t, order, gstart, groups, M7, go, ge, bias, K, D, score, qe, te):
    """:func:`shared_driver` in bytes (lane groups of SHARED8_LANES queries of at most
    SHARED_QBLOCK rows; M7 + bias within 0..255, go and ge <= 255), groups in parallel."""
    for k in prange(groups.shape[0]):  # pragma: no cover - compiled by numba
        _shared8_unit(groups[k], qc, qo, t, order, gstart, M7, go, ge, bias, K, D, score,
                      qe, te)  # fmt: skip


@njit(cache=True)
def shared8_driver_serial(qc, qo, t, order, gstart, groups, M7, go, ge, bias, K, D, score,
                          qe, te):  # fmt: skip
    """:func:`shared8_driver` on the calling thread (small work)."""
    for k in range(groups.shape[0]):
        _shared8_unit(groups[k], qc, qo, t, order, gstart, M7, go, ge, bias, K, D, score,
                      qe, te)  # fmt: skip


# --------------------------------------------------------------------------------------
# segments layout: few long pairs (local alignment, score only, match/mismatch scores)


@njit(cache=True, fastmath=True, boundscheck=False)
def _seg_group(Q, T, keep, R, nsteps, match, mismatch, go, ge):  # pragma: no cover
    """Local DP (int16, saturating) of pairs cut into query segments, one segment a lane.

    Lane ln holds R consecutive query rows of one pair (its codes Q[r * L + ln], QPAD past
    the query's end); a pair's segments are adjacent lanes, and segment s works at step k
    on target column j = k - s + 1 (T[k * L + ln]: that column's code, TPAD outside
    1..lt). So at step k a lane's first row takes, from the lane before it (a shift
    across lanes, ``keep`` = 0 for a pair's first segment: row 0), F of the same column
    (computed at step k-1) and the diagonal H (step k-2). Before its first column a lane
    stays at 0 (the local border), after the last one the pad code only lowers scores.
    Scores: ``match if q == t else mismatch`` (match/mismatch matrices; mismatch < 0).
    E, F clamped at 0 as in :func:`_shared_group`. Each lane keeps its best score, the
    row (first within the column) and step (first) where it was reached: the strict
    "greater" keeps the smallest target end, then query end, of that lane. Returns
    (best, row r, step k) int64[L].
    """
    L = SHARED_LANES
    H = np.zeros(R * L, np.int16)
    E = np.zeros(R * L, np.int16)
    zv = vsplat(np.int16(0))
    gov = vsplat(np.int16(go))
    gev = vsplat(np.int16(ge))
    mv = vsplat(np.int16(match))
    xv = vsplat(np.int16(mismatch))
    kv = vload(keep, 0)
    bestv = zv
    besti = zv
    fo = zv
    ho1 = zv
    ho2 = zv
    bk = np.zeros(L, np.int64)
    cur = np.empty(L, np.int16)
    old = np.empty(L, np.int16)
    for k in range(nsteps):
        tv = vload(T, k * L)
        f = vshift_keep(fo, kv)
        hdg = vshift_keep(ho2, kv)
        prev = bestv
        h = zv
        for r in range(R):
            o = r * L
            hl = vload(H, o)
            e = vload(E, o)
            sc = vsel_eq(vload(Q, o), tv, mv, xv)
            h = vvmax(vvmax(vvadds(hdg, sc), e), f)
            hdg = hl
            vstore(H, o, h)
            hg = vvsubs0(h, gov)
            vstore(E, o, vvmax(vvsubs0(e, gev), hg))
            f = vvmax(vvsubs0(f, gev), hg)
            besti = vsel_gt(h, bestv, vsplat(np.int16(r)), besti)
            bestv = vvmax(bestv, h)
        ho2 = ho1
        ho1 = h
        fo = f
        if vany_rise(bestv, prev, False):
            vstore(cur, 0, bestv)
            vstore(old, 0, prev)
            for ln in range(L):
                if cur[ln] > old[ln]:
                    bk[ln] = k
    best = np.empty(L, np.int64)
    bi = np.empty(L, np.int64)
    vstore(cur, 0, bestv)
    vstore(old, 0, besti)
    for ln in range(L):
        best[ln] = cur[ln]
        bi[ln] = old[ln]
    return best, bi, bk


@njit(cache=True)
def _seg_unit(g, qc, qo, tc, to, order, gstart, S, R, match, mismatch, go, ge, score, qe, te):
    """Group g of the segments layout: pairs ``order[gstart[g]:gstart[g+1]]``, S segments
    of R rows each; fills the lanes, runs :func:`_seg_group`, reduces each pair's lanes
    (best score, then smallest target end, then smallest query end)."""
    a = gstart[g]
    b = gstart[g + 1]
    L = SHARED_LANES
    maxt = 0
    for m in range(b - a):
        p = order[a + m]
        maxt = max(maxt, to[p + 1] - to[p])
    nsteps = maxt + S - 1
    Q = np.full(R * L, QPAD, np.int16)
    T = np.full(nsteps * L, TPAD, np.int16)
    keep = np.zeros(L, np.int16)
    for m in range(b - a):
        p = order[a + m]
        lqp = qo[p + 1] - qo[p]
        ltp = to[p + 1] - to[p]
        for s in range(S):
            ln = m * S + s
            keep[ln] = -1 if s > 0 else 0
            for r in range(R):
                i = s * R + r
                if i < lqp:
                    Q[r * L + ln] = qc[qo[p] + i]
            for j in range(1, ltp + 1):
                T[(j + s - 1) * L + ln] = tc[to[p] + j - 1]
    best, bi, bk = _seg_group(Q, T, keep, R, nsteps, match, mismatch, go, ge)
    for m in range(b - a):
        p = order[a + m]
        sc = 0
        ie = 0
        je = 0
        for s in range(S):
            ln = m * S + s
            v = best[ln]
            if v <= 0:
                continue
            i = s * R + bi[ln] + 1
            j = bk[ln] - s + 1
            if v > sc or (v == sc and (j < je or (j == je and i < ie))):
                sc = v
                ie = i
                je = j
        score[p] = sc
        qe[p] = ie
        te[p] = je


@njit(cache=True, parallel=True)
def seg_driver(qc, qo, tc, to, order, gstart, S, R, groups, match, mismatch, go, ge, score,
               qe, te):  # fmt: skip
    """Local alignment, score and end cell, of the pairs of the listed groups of the
    segments layout (``order[gstart[g]:gstart[g+1]]``, S[g] segments of R[g] rows),
    groups in parallel."""
    for k in prange(groups.shape[0]):  # pragma: no cover - compiled by numba
        g = groups[k]
        _seg_unit(g, qc, qo, tc, to, order, gstart, S[g], R[g], match, mismatch, go, ge,
                  score, qe, te)  # fmt: skip


@njit(cache=True)
def seg_driver_serial(qc, qo, tc, to, order, gstart, S, R, groups, match, mismatch, go, ge,
                      score, qe, te):  # fmt: skip
    """:func:`seg_driver` on the calling thread (small work)."""
    for k in range(groups.shape[0]):
        g = groups[k]
        _seg_unit(g, qc, qo, tc, to, order, gstart, S[g], R[g], match, mismatch, go, ge,
                  score, qe, te)  # fmt: skip
