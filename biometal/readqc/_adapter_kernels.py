"""Compiled loops of :mod:`biometal.readqc.adapters` (CPU only, numba): adapter search in
single reads (semi-global edit-distance alignment, as cutadapt), insert detection in read
pairs by mate overlap (as Atropos' insert mode / AdapterRemoval), poly-G tails, and the
gather that cuts reads to their new lengths. Private to the package; one call graph, one
file (numba's cache does not follow calls into other files).

Reads are stored flat as :class:`biometal.io.fastx.ReadChunk` stores them: codes
``A0 C1 G2 T3 N4`` and Phred qualities, read ``i`` at ``offsets[i]:offsets[i + 1]``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

_BIG = 1 << 20


@njit(cache=True, inline="always")
def _qi(q):
    return q if q < 63 else 63


@njit(cache=True)
def dp_trim(codes, start, n, ad, err_rate, min_overlap, D, S, Dp, Sp):
    """Trimmed length of one read (``codes[start:start+n]``) cut at its 3' adapter ``ad``.

    Semi-global unit-cost alignment of the adapter (query) against the read (text): the
    adapter may start anywhere in the read; it matches in full (ending anywhere, the read
    may continue after it) with at most ``int(err_rate * m)`` edits, or a prefix of
    ``i >= min_overlap`` bases matches the read's 3' end with at most ``int(err_rate * i)``
    edits. The full match with fewest edits (leftmost on ties) wins, else the longest
    partial one; the read is cut where the alignment starts. A read ``N`` is a mismatch, an
    adapter ``N`` matches anything. Columns are cut off past the last row that can still
    match (Ukkonen). ``D S Dp Sp``: int32 work arrays of ``len(ad) + 2``. Returns ``n`` if no
    adapter is found.
    """
    m = ad.size
    kmax = int(err_rate * m + 1e-9)
    for i in range(m + 1):
        Dp[i] = i
        Sp[i] = 0
    if m + 1 < Dp.size:
        Dp[m + 1] = _BIG
    last = min(m, kmax)
    lim = m
    best_err = _BIG
    best_start = -1
    for j in range(1, n + 1):
        c = codes[start + j - 1]
        lim = min(m, last + 1)
        D[0] = 0
        S[0] = j
        newlast = 0
        for i in range(1, lim + 1):
            a = ad[i - 1]
            d = Dp[i - 1]
            if not (a == c and c < 4) and a != 4:
                d += 1
            s = Sp[i - 1]
            left = Dp[i] + 1
            if left < d:
                d = left
                s = Sp[i]
            up = D[i - 1] + 1
            if up < d:
                d = up
                s = S[i - 1]
            D[i] = d
            S[i] = s
            if d <= kmax:
                newlast = i
        if lim < m:
            D[lim + 1] = _BIG
        if lim == m and D[m] <= kmax and D[m] < best_err:
            best_err = D[m]
            best_start = S[m]
        last = newlast
        D, Dp = Dp, D
        S, Sp = Sp, S
    if best_start >= 0:
        return best_start
    # Dp/Sp hold the last column (rows 0..lim valid)
    top = min(lim, m - 1) if n > 0 else -1
    for i in range(top, max(min_overlap, 1) - 1, -1):
        if Dp[i] <= int(err_rate * i + 1e-9):
            return Sp[i]
    return n


PIECE = 6


def piece_table(ad: np.ndarray) -> np.ndarray:
    """int16[4**PIECE + 1]: for each ``PIECE``-mer, 1 + its index among the adapter's pieces
    at offsets 0, 6, 12, ... (0: not a piece); the last entry non-zero turns the filter off
    (an adapter shorter than 12 bases, with an ``N`` or with two equal pieces)."""
    seen = np.zeros(4**PIECE + 1, np.int16)
    if ad.size < 2 * PIECE or (ad > 3).any():
        seen[-1] = 1
        return seen
    for k, o in enumerate(range(0, ad.size - PIECE + 1, PIECE)):
        piece = ad[o : o + PIECE]
        h = int(sum(int(b) << (2 * (PIECE - 1 - t)) for t, b in enumerate(piece)))
        if seen[h]:
            seen[:] = 0
            seen[-1] = 1
            return seen
        seen[h] = k + 1
    return seen


@njit(cache=True)
def piece_candidates(codes, start, n, seen, top, cands, ncand):
    """Append to ``cands[:ncand]`` every insert ``I`` in ``0..top-1`` at which one of the
    adapter's pieces sits in this read (piece ``k`` at read position ``p``: ``I = p - 6k``),
    without duplicates; return the new count."""
    return piece_hits(codes, start, n, seen, top, cands, ncand)[0]


@njit(cache=True)
def piece_hits(codes, start, n, seen, top, cands, ncand):
    """:func:`piece_candidates`, and whether the read holds any of the pieces anywhere
    (:func:`_has_piece`): ``(count, hit)``."""
    mask = (1 << (2 * PIECE)) - 1
    h = 0
    valid = 0
    hit = False
    for j in range(n):
        c = codes[start + j]
        if c > 3:
            valid = 0
            continue
        h = ((h << 2) | c) & mask
        valid += 1
        if valid >= PIECE and seen[h]:
            hit = True
            ins = j - (PIECE - 1) - PIECE * (seen[h] - 1)
            if 0 <= ins < top:
                dup = False
                for t in range(ncand):
                    if cands[t] == ins:
                        dup = True
                        break
                if not dup and ncand < cands.size:
                    cands[ncand] = ins
                    ncand += 1
    return ncand, hit


@njit(cache=True)
def _has_piece(codes, start, n, seen):
    mask = (1 << (2 * PIECE)) - 1
    h = 0
    valid = 0
    for j in range(n):
        c = codes[start + j]
        if c > 3:
            valid = 0
            continue
        h = ((h << 2) | c) & mask
        valid += 1
        if valid >= PIECE and seen[h]:
            return True
    return False


@njit(cache=True)
def dp_exists(codes, start, n, ad, err_rate, min_overlap, D, Dp):
    """Whether :func:`dp_trim` finds an adapter (same cut-off DP, edit distances only)."""
    m = ad.size
    kmax = int(err_rate * m + 1e-9)
    for i in range(m + 1):
        Dp[i] = i
    if m + 1 < Dp.size:
        Dp[m + 1] = _BIG
    last = min(m, kmax)
    lim = m
    for j in range(1, n + 1):
        c = codes[start + j - 1]
        lim = min(m, last + 1)
        D[0] = 0
        newlast = 0
        prev = 0  # D[i - 1] of this column
        for i in range(1, lim + 1):
            a = ad[i - 1]
            d = Dp[i - 1]
            if not (a == c and c < 4) and a != 4:
                d += 1
            left = Dp[i] + 1
            if left < d:
                d = left
            if prev + 1 < d:
                d = prev + 1
            D[i] = d
            prev = d
            if d <= kmax:
                newlast = i
        if lim < m:
            D[lim + 1] = _BIG
        if lim == m and D[m] <= kmax:
            return True
        last = newlast
        D, Dp = Dp, D
    top = min(lim, m - 1) if n > 0 else -1
    for i in range(top, max(min_overlap, 1) - 1, -1):
        if Dp[i] <= int(err_rate * i + 1e-9):
            return True
    return False


@njit(cache=True)
def dp_trim_fast(codes, start, n, ad, err_rate, min_overlap, D, S, Dp, Sp, seen):
    """:func:`dp_trim`, with filters: an adapter part of 12 bases or more aligned with
    ``err_rate <= 0.1`` contains one of its 6-mers at offsets 0, 6, 12, ... exactly
    (pigeonhole; ``seen`` from :func:`piece_table`), so a read without one is only searched
    in its last 13 bases (partial adapters of up to 11 bases, one indel; not at all when
    ``min_overlap >= 12``); and the start of the alignment is traced only when
    :func:`dp_exists` says there is one. Same result as :func:`dp_trim` for
    ``err_rate <= 0.1``; a higher rate runs :func:`dp_trim` itself."""
    has = err_rate > 0.1 or seen[seen.size - 1] or _has_piece(codes, start, n, seen)
    return _dp_trim_filtered(codes, start, n, ad, err_rate, min_overlap, D, S, Dp, Sp, has)


@njit(cache=True)
def _dp_trim_filtered(codes, start, n, ad, err_rate, min_overlap, D, S, Dp, Sp, has):
    """:func:`dp_trim_fast` once its filter has answered: ``has`` (the read holds a piece,
    the filter is off, or ``err_rate > 0.1``)."""
    if has:
        if err_rate <= 0.1 and not dp_exists(codes, start, n, ad, err_rate, min_overlap, D, Dp):
            return n
        return dp_trim(codes, start, n, ad, err_rate, min_overlap, D, S, Dp, Sp)
    if min_overlap >= 2 * PIECE:
        return n
    tail = min(n, 13)
    k = dp_trim(codes, start + n - tail, tail, ad, err_rate, min_overlap, D, S, Dp, Sp)
    return n - tail + k


@njit(parallel=True, cache=True)
def single_trim(codes, offsets, ad, err_rate, min_overlap, seen, out_len):
    """``out_len[i]``: length of read ``i`` cut at its adapter (:func:`dp_trim_fast`)."""
    n = offsets.size - 1
    nblocks = min(n, 256)
    for blk in prange(nblocks):
        D = np.empty(ad.size + 2, np.int32)
        S = np.empty(ad.size + 2, np.int32)
        Dp = np.empty(ad.size + 2, np.int32)
        Sp = np.empty(ad.size + 2, np.int32)
        lo = blk * n // nblocks
        hi = (blk + 1) * n // nblocks
        for r in range(lo, hi):
            a = offsets[r]
            ln = offsets[r + 1] - a
            out_len[r] = dp_trim_fast(codes, a, ln, ad, err_rate, min_overlap, D, S, Dp, Sp, seen)


@njit(cache=True)
def adapter_llr(codes, qual, start, n, k, ad, am, ax):
    """Best prefix log-likelihood ratio (nats) that ``read[k:]`` starts with adapter ``ad``
    (ungapped; ``N`` scores 0; per base ``am[q]`` on a match, ``ax[q]`` on a mismatch)."""
    cnt = min(ad.size, n - k)
    s = 0.0
    best = 0.0
    for t in range(cnt):
        b = codes[start + k + t]
        x = ad[t]
        if b > 3 or x > 3:
            continue
        q = _qi(qual[start + k + t])
        if b == x:
            s += am[q]
        else:
            s += ax[q]
        if s > best:
            best = s
    return best


@njit(cache=True)
def pair_insert(
    c1, q1, s1, n1, c2, q2, s2, n2, ad1, ad2, am, ax, om, ox, max_rate, min_compare, lo
):
    """:func:`pair_insert_at` over every candidate from ``lo``."""
    top = max(n1, n2)
    cands = np.arange(max(lo, 0), max(top, max(lo, 0)))
    return pair_insert_at(
        c1,
        q1,
        s1,
        n1,
        c2,
        q2,
        s2,
        n2,
        ad1,
        ad2,
        am,
        ax,
        om,
        ox,
        max_rate,
        min_compare,
        cands,
        cands.size,
    )


@njit(cache=True)
def pair_insert_at(
    c1, q1, s1, n1, c2, q2, s2, n2, ad1, ad2, am, ax, om, ox, max_rate, min_compare, cands, ncand
):
    """Best insert size of a pair whose reads run into their adapters, and its score.

    Candidate insert ``I < max(n1, n2)``: R1[:I] is the reverse complement of R2[:I] (the
    mate overlap, ungapped), and R1[I:], R2[I:] start with ``ad1``, ``ad2``. Each candidate
    is scored by the log-likelihood ratio (nats) of those comparisons against unrelated
    sequence (quality-aware tables ``am ax`` per base quality for adapter bases, ``om ox``
    per pair of qualities for overlapping bases); a candidate is dropped as soon as its
    mismatches exceed ``max_rate`` of its compared bases (or, while it is compared, 2 +
    ``max_rate`` of the bases compared so far). Returns ``(I, llr, mismatches)``, ``(-1, -inf,
    0)`` when no candidate survives. Candidates: ``cands[:ncand]``.
    """
    best_llr = -np.inf
    best_i = -1
    best_mm = 0
    top = max(n1, n2)
    for ci in range(ncand):
        ins = cands[ci]
        if ins < 0 or ins >= top:
            continue
        n1a = min(ad1.size, n1 - ins) if ins < n1 else 0
        n2a = min(ad2.size, n2 - ins) if ins < n2 else 0
        ov_lo = max(0, ins - n2)
        ov_hi = min(ins, n1)
        nov = ov_hi - ov_lo if ov_hi > ov_lo else 0
        total = n1a + n2a + nov
        if total < min_compare:
            continue
        # integer pass (codes only), stopped at the first excess mismatch
        mism = 0
        seen = 0
        bad = False
        for t in range(n1a):
            b = c1[s1 + ins + t]
            x = ad1[t]
            if b > 3 or x > 3:
                continue
            seen += 1
            if b != x:
                mism += 1
                if mism > 2 + max_rate * seen:
                    bad = True
                    break
        if bad:
            continue
        for t in range(n2a):
            b = c2[s2 + ins + t]
            x = ad2[t]
            if b > 3 or x > 3:
                continue
            seen += 1
            if b != x:
                mism += 1
                if mism > 2 + max_rate * seen:
                    bad = True
                    break
        if bad:
            continue
        for j in range(ov_hi - 1, ov_lo - 1, -1):
            b1 = c1[s1 + j]
            b2 = c2[s2 + ins - 1 - j]
            if b1 > 3 or b2 > 3:
                continue
            seen += 1
            if b1 != 3 - b2:
                mism += 1
                if mism > 2 + max_rate * seen:
                    bad = True
                    break
        if bad or mism > int(max_rate * total):
            continue
        llr = _cand_llr(
            c1, q1, s1, n1a, c2, q2, s2, n2a, ins, ov_lo, ov_hi, ad1, ad2, am, ax, om, ox
        )
        if llr > best_llr or (llr == best_llr and ins < best_i):
            best_llr = llr
            best_i = ins
            best_mm = mism
    return best_i, best_llr, best_mm


@njit(cache=True)
def _cand_llr(c1, q1, s1, n1a, c2, q2, s2, n2a, ins, ov_lo, ov_hi, ad1, ad2, am, ax, om, ox):
    """Log-likelihood ratio of one candidate insert of :func:`pair_insert`."""
    llr = 0.0
    for t in range(n1a):
        b = c1[s1 + ins + t]
        x = ad1[t]
        if b > 3 or x > 3:
            continue
        q = _qi(q1[s1 + ins + t])
        llr += am[q] if b == x else ax[q]
    for t in range(n2a):
        b = c2[s2 + ins + t]
        x = ad2[t]
        if b > 3 or x > 3:
            continue
        q = _qi(q2[s2 + ins + t])
        llr += am[q] if b == x else ax[q]
    for j in range(ov_lo, ov_hi):
        llr += _ov(c1, q1, s1, j, c2, q2, s2, ins - 1 - j, om, ox)
    return llr


@njit(cache=True)
def _adapter_part(c, q, s, n, k, ad, am, ax, max_rate):
    """LLR of ``read[k:]`` against the adapter (ungapped, all of it), or -inf when its
    mismatches exceed 2 + ``max_rate`` of the bases compared so far."""
    m = min(ad.size, n - k)
    mism = 0
    seen = 0
    for t in range(m):  # codes only first: most calls stop here
        b = c[s + k + t]
        x = ad[t]
        if b > 3 or x > 3:
            continue
        seen += 1
        if b != x:
            mism += 1
            if mism > 2 + max_rate * seen:
                return -np.inf
    llr = 0.0
    for t in range(m):
        b = c[s + k + t]
        x = ad[t]
        if b > 3 or x > 3:
            continue
        qq = _qi(q[s + k + t])
        if b == x:
            llr += am[qq]
        else:
            llr += ax[qq]
    return llr


@njit(cache=True)
def pair_insert_gapped(
    c1, q1, s1, n1, c2, q2, s2, n2, ad1, ad2, am, ax, om, ox, max_rate, gap, lo, hi, buf0, buf1
):
    """As :func:`pair_insert` with one indel error in the overlap: R1's adapter at ``I1`` (in
    ``lo..hi-1``), R2's at ``I2 = I1 -+ 1``, and R1[:I1] aligned to the reverse complement of
    R2[:I2] with one gap (best position, ``gap`` nats). Both mates must reach their adapter.
    The overlap is extended from both ends while its mismatches stay within 2 + ``max_rate``
    of the bases compared; the gap must fall where the two extensions meet. Returns ``(I1,
    I2, llr)``; ``(-1, -1, -inf)`` when no candidate survives. ``buf0 buf1``: float64 work
    arrays of at least ``max(n1, n2) + 2``."""
    best_llr = -np.inf
    b1_best = -1
    b2_best = -1
    for i1 in range(max(lo, 0), min(hi, n1)):
        a1 = _adapter_part(c1, q1, s1, n1, i1, ad1, am, ax, max_rate)
        if a1 == -np.inf:
            continue
        for d in (-1, 1):
            i2 = i1 - d  # X = R1[:i1] is d bases longer than Y = rc(R2[:i2])
            if i2 < 0 or i2 >= n2:
                continue
            a2 = _adapter_part(c2, q2, s2, n2, i2, ad2, am, ax, max_rate)
            if a2 == -np.inf:
                continue
            lx = i1
            ly = i2
            m0 = min(lx, ly)
            # forward on the main diagonal: X[j] ~ Y[j], buf0[p] = sum over j < p
            buf0[0] = 0.0
            f = 0
            mm = 0
            while f < m0:
                sc = _ov(c1, q1, s1, f, c2, q2, s2, ly - 1 - f, om, ox)
                if sc < 0.0:
                    mm += 1
                    if mm > 2 + max_rate * (f + 1):
                        break
                buf0[f + 1] = buf0[f] + sc
                f += 1
            # backward on the shifted diagonal: X[j] ~ Y[j - d], buf1[k] = sum over j >= k
            buf1[lx] = 0.0
            bk = lx
            mm = 0
            stop = 1 if d == 1 else 0
            while bk - 1 >= stop:
                j = bk - 1
                sc = _ov(c1, q1, s1, j, c2, q2, s2, ly - 1 - j + d, om, ox)
                if sc < 0.0:
                    mm += 1
                    if mm > 2 + max_rate * (lx - j):
                        break
                buf1[j] = buf1[bk] + sc
                bk = j
            # gap at p: X[:p] on the main diagonal, the rest (from p+1 if d == 1, X[p]
            # unaligned; from p if d == -1) on the shifted one
            best_p = -np.inf
            first = bk - 1 if d == 1 else bk
            last = min(f, lx - 1) if d == 1 else min(f, lx)
            for p in range(max(first, 0), last + 1):
                v = buf0[p] + buf1[p + 1 if d == 1 else p]
                if v > best_p:
                    best_p = v
            if best_p == -np.inf:
                continue
            llr = a1 + a2 + best_p - gap
            if llr > best_llr:
                best_llr = llr
                b1_best = i1
                b2_best = i2
    return b1_best, b2_best, best_llr


@njit(cache=True, inline="always")
def _ov(c1, q1, s1, j, c2, q2, s2, k, om, ox):
    """Score of R1[j] against the complement of R2[k] (0 for an N)."""
    b1 = c1[s1 + j]
    b2 = c2[s2 + k]
    if b1 > 3 or b2 > 3:
        return 0.0
    qa = _qi(q1[s1 + j])
    qb = _qi(q2[s2 + k])
    if b1 == 3 - b2:
        return om[qa, qb]
    return ox[qa, qb]


@njit(cache=True)
def _refine(codes, qual, start, n, ins, ad, am, ax, window, min_bases, margin):
    """The adapter start of one mate near the pair's insert ``ins`` (an indel error in the
    mate's insert part moves its adapter by a base or two): the shift within ``window``
    whose adapter score beats the one at ``ins`` by ``margin`` nats, else ``ins``."""
    if ins >= n or n - ins < min_bases:
        return min(ins, n)
    base = adapter_llr(codes, qual, start, n, ins, ad, am, ax)
    best = ins
    best_s = base + margin
    for k in range(max(0, ins - window), min(n - min_bases, ins + window) + 1):
        if k == ins:
            continue
        s = adapter_llr(codes, qual, start, n, k, ad, am, ax)
        if s > best_s:
            best_s = s
            best = k
    return best


@njit(parallel=True, cache=True)
def pair_trim(
    c1,
    q1,
    off1,
    c2,
    q2,
    off2,
    ad1,
    ad2,
    am,
    ax,
    om,
    ox,
    max_rate,
    min_llr,
    min_compare,
    gap,
    err_rate,
    fallback_overlap,
    max_len,
    seen1,
    seen2,
    out1,
    out2,
    how,
):
    """Trimmed lengths of read pairs: ``out1[i]``, ``out2[i]``; ``how[i]``: 0 no adapter
    found, 1 insert from the mate overlap (:func:`pair_insert`, score >= ``min_llr``, each
    mate's cut then refined by :func:`_refine`; :func:`pair_insert_gapped` when the ungapped
    overlap failed or had 2+ mismatches and the gapped one scores higher; a cut of 3 bases
    or fewer must beat the plain overlap of an insert as long as the reads by 3 nats), 2
    adapter found in a mate on its own (:func:`dp_trim_fast`, ``err_rate``, partial adapters of
    ``fallback_overlap`` bases or more). ``max_len``: longest read. ``seen1 seen2``: the
    6-mer tables of :func:`piece_table` for the two adapters."""
    n = off1.size - 1
    nblocks = min(n, 256)
    for blk in prange(nblocks):
        m = max(ad1.size, ad2.size) + 2
        D = np.empty(m, np.int32)
        S = np.empty(m, np.int32)
        Dp = np.empty(m, np.int32)
        Sp = np.empty(m, np.int32)
        buf0 = np.empty(max_len + 2, np.float64)
        cands = np.empty(4 * max_len + 64, np.int64)
        buf1 = np.empty(max_len + 2, np.float64)
        lo = blk * n // nblocks
        hi = (blk + 1) * n // nblocks
        for r in range(lo, hi):
            s1 = off1[r]
            n1 = off1[r + 1] - s1
            s2 = off2[r]
            n2 = off2[r + 1] - s2
            # an insert that leaves 12+ adapter bases in both mates shows one of the adapter's
            # 6-mers where it should in one of them (pigeonhole, as dp_trim_fast): those
            # inserts and the last 11 are the candidates
            top = max(n1, n2)
            off = seen1[seen1.size - 1] or seen2[seen2.size - 1]
            hit1 = True
            hit2 = True
            if off:
                nc = 0
                for t in range(top):
                    cands[nc] = t
                    nc += 1
                nhits = nc
            else:
                nc, hit1 = piece_hits(c1, s1, n1, seen1, top, cands, 0)
                nc, hit2 = piece_hits(c2, s2, n2, seen2, top, cands, nc)
                nhits = nc
                for t in range(max(0, min(n1, n2) - 11), top):
                    dup = False
                    for u in range(nc):
                        if cands[u] == t:
                            dup = True
                            break
                    if not dup:
                        cands[nc] = t
                        nc += 1
            ins, llr, mm = pair_insert_at(
                c1,
                q1,
                s1,
                n1,
                c2,
                q2,
                s2,
                n2,
                ad1,
                ad2,
                am,
                ax,
                om,
                ox,
                max_rate,
                min_compare,
                cands,
                nc,
            )
            ok = ins >= 0 and llr >= min_llr
            k1 = n1
            k2 = n2
            if ok:
                k1 = _refine(c1, q1, s1, n1, ins, ad1, am, ax, 2, 8, 3.0)
                k2 = _refine(c2, q2, s2, n2, ins, ad2, am, ax, 2, 8, 3.0)
            if not ok or (mm >= 2 and ins >= min(n1, n2) - 8):
                # windows of R1 adapter starts: around the ungapped insert; else the last 13
                # and, where the reads hold adapter 6-mers, around their inserts (an adapter
                # part of 12+ bases shows one)
                g1 = -1
                g2 = -1
                gl = -np.inf
                nwin = 1 if ok else 1 + (nhits if not off else 0)
                for w in range(nwin):
                    if ok:
                        glo = ins - 2
                        ghi = ins + 3
                    elif w == 0:
                        glo = 0 if off else n1 - 13
                        ghi = n1
                    else:
                        glo = cands[w - 1] - 1
                        ghi = cands[w - 1] + 2
                    h1, h2, hl = pair_insert_gapped(
                        c1,
                        q1,
                        s1,
                        n1,
                        c2,
                        q2,
                        s2,
                        n2,
                        ad1,
                        ad2,
                        am,
                        ax,
                        om,
                        ox,
                        max_rate,
                        gap,
                        glo,
                        ghi,
                        buf0,
                        buf1,
                    )
                    if hl > gl:
                        g1 = h1
                        g2 = h2
                        gl = hl
                if gl >= min_llr and (not ok or gl > llr):
                    ok = True
                    k1 = g1
                    k2 = g2
                    llr = gl
            if ok and (k1 >= n1 - 3 or k2 >= n2 - 3):
                # a cut of a base or three competes with a plain overlap (insert >= reads)
                top = max(n1, n2)
                for ins2 in range(top, top + 4):
                    lo2 = max(0, ins2 - n2)
                    hi2 = min(ins2, n1)
                    if hi2 - lo2 < min_compare:
                        continue
                    plain = _cand_llr(
                        c1, q1, s1, 0, c2, q2, s2, 0, ins2, lo2, hi2, ad1, ad2, am, ax, om, ox
                    )
                    if plain + 3.0 >= llr:
                        ok = False
                        k1 = n1
                        k2 = n2
                        break
            if ok:
                how[r] = 1
            else:
                if off:  # the reads were not scanned for pieces
                    k1 = dp_trim_fast(
                        c1, s1, n1, ad1, err_rate, fallback_overlap, D, S, Dp, Sp, seen1
                    )
                    k2 = dp_trim_fast(
                        c2, s2, n2, ad2, err_rate, fallback_overlap, D, S, Dp, Sp, seen2
                    )
                else:
                    h1 = err_rate > 0.1 or hit1
                    h2 = err_rate > 0.1 or hit2
                    k1 = _dp_trim_filtered(
                        c1, s1, n1, ad1, err_rate, fallback_overlap, D, S, Dp, Sp, h1
                    )
                    k2 = _dp_trim_filtered(
                        c2, s2, n2, ad2, err_rate, fallback_overlap, D, S, Dp, Sp, h2
                    )
                how[r] = 2 if (k1 < n1 or k2 < n2) else 0
            out1[r] = k1
            out2[r] = k2


@njit(parallel=True, cache=True)
def poly_g_trim(codes, offsets, lengths, min_run):
    """Cut a 3' poly-G tail of at least ``min_run`` bases (one non-G per 8 bases allowed,
    as fastp) from each read's first ``lengths[i]`` bases; ``lengths`` is updated."""
    n = offsets.size - 1
    for r in prange(n):
        a = offsets[r]
        ln = lengths[r]
        cut = ln
        mism = 0
        for k in range(ln):
            pos = ln - 1 - k
            if codes[a + pos] == 2:
                cut = pos
            else:
                mism += 1
                if mism > 1 + k // 8:
                    break
        if ln - cut >= min_run:
            lengths[r] = cut


@njit(parallel=True, cache=True)
def gather(codes, qual, offsets, lengths, new_offsets, out_codes, out_qual):
    """Copy the first ``lengths[i]`` bases of each read to ``out_*[new_offsets[i]:]``."""
    n = offsets.size - 1
    for r in prange(n):
        a = offsets[r]
        b = new_offsets[r]
        for k in range(lengths[r]):
            out_codes[b + k] = codes[a + k]
            out_qual[b + k] = qual[a + k]


# ------------------------------------------------------------------ raw FASTQ text blocks
# A validated block of FASTQ text (biometal.io.fastx): line ``j`` is ``arr[starts[j]:ends[j]]``
# (``ends[j]`` is its '\n'), record ``r`` is lines ``4r .. 4r+3``. The trimmer reads the
# codes it searches straight from the text and writes the trimmed records by slicing it.


@njit(cache=True, nogil=True)
def unpack(arr, starts, ends, i0, k, codes, qual, offsets, with_qual):
    """Codes (as :data:`biometal.io.encoding.ENCODE_LUT`: A/a 0, C/c 1, G/g 2, T/t 3, else 4)
    and, when ``with_qual``, Phred qualities (byte - 33) of records ``i0 .. i0+k-1`` of a
    block, flat into ``codes``/``qual`` (large enough), read ``r`` at
    ``offsets[r]:offsets[r + 1]`` (``offsets``: int64[k + 1]). Returns the bases. (Compares
    and selects rather than a table lookup, so that the loop can vectorise.)"""
    p = 0
    offsets[0] = 0
    for r in range(k):
        line = 4 * (i0 + r)
        s = starts[line + 1]
        n = ends[line + 1] - s
        src = arr[s : s + n]
        dst = codes[p : p + n]
        for j in range(n):
            u = src[j] & 0xDF  # upper case; bytes >= 128 keep their top bit
            c = np.uint8(4)
            c = np.uint8(0) if u == 65 else c
            c = np.uint8(1) if u == 67 else c
            c = np.uint8(2) if u == 71 else c
            c = np.uint8(3) if u == 84 else c
            dst[j] = c
        if with_qual:
            q = starts[line + 3]
            qs = arr[q : q + n]
            qd = qual[p : p + n]
            for j in range(n):
                qd[j] = qs[j] - 33
        p += n
        offsets[r + 1] = p
    return p


@njit(cache=True, nogil=True)
def emit(arr, starts, ends, i0, k, cut, out):
    """FASTQ text of records ``i0 .. i0+k-1`` of a block, record ``r`` cut to its first
    ``cut[r]`` bases, into ``out`` (uint8, at least the records' bytes); returns the bytes
    written. Header line as read, bases upper-case ``ACGT`` (anything else ``N``, as
    ``DECODE_LUT[ENCODE_LUT]``), separator ``+``, qualities above ``~`` written as ``~``."""
    p = 0
    for r in range(k):
        line = 4 * (i0 + r)
        h = starts[line]
        nh = ends[line] - h
        hs = arr[h : h + nh]
        hd = out[p : p + nh]
        for j in range(nh):
            hd[j] = hs[j]
        p += nh
        out[p] = 10
        p += 1
        s = starts[line + 1]
        c = cut[r]
        src = arr[s : s + c]
        dst = out[p : p + c]
        for j in range(c):
            u = src[j] & 0xDF
            dst[j] = u if (u == 65 or u == 67 or u == 71 or u == 84) else np.uint8(78)
        p += c
        out[p] = 10
        out[p + 1] = 43
        out[p + 2] = 10
        p += 3
        q = starts[line + 3]
        qs = arr[q : q + c]
        qd = out[p : p + c]
        for j in range(c):
            v = qs[j]
            qd[j] = v if v < 126 else np.uint8(126)
        p += c
        out[p] = 10
        p += 1
    return p


@njit(cache=True, nogil=True)
def _id_end(arr, s, e):
    """End of a header's mate ID (``arr[s:e]`` after the '@'): up to the first space or
    tab, without a trailing ``/1`` or ``/2``."""
    j = s
    while j < e and arr[j] != 32 and arr[j] != 9:
        j += 1
    if j - s >= 2 and arr[j - 2] == 47 and (arr[j - 1] == 49 or arr[j - 1] == 50):
        j -= 2
    return j


@njit(cache=True, nogil=True)
def first_mate_mismatch(arr1, st1, en1, i1, arr2, st2, en2, i2, k):
    """Index (0-based, within the ``k`` records from ``i1``/``i2``) of the first pair whose
    mate IDs differ (:func:`biometal.io.mates.mate_id`), -1 if none."""
    for r in range(k):
        a = st1[4 * (i1 + r)] + 1
        ae = _id_end(arr1, a, en1[4 * (i1 + r)])
        b = st2[4 * (i2 + r)] + 1
        be = _id_end(arr2, b, en2[4 * (i2 + r)])
        if ae - a != be - b:
            return r
        for t in range(ae - a):
            if arr1[a + t] != arr2[b + t]:
                return r
    return -1
