"""CPU twin of site_stats.metal (numba): per-position site statistics of a pileup region.

The same single-precision operations in the same order as the Metal source (see its
header for the statistics and the output layout), one position per loop iteration,
positions in parallel (``prange``). Every float constant and intermediate is float32, so
the results equal the Metal source run through the C++ harness bit for bit.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

NCOL = 24
NI = 10
NF = 3

_F = np.float32
INV_LN10 = _F(0.43429448190325176)
LN10 = _F(2.302585092994046)
NEG_LN10_10 = _F(-0.2302585092994046)
MIN_ERR = _F(1e-6)
MAX_ERR = _F(0.75)
MAX_PHRED = _F(3000.0)
HALF_LN_2PI = _F(0.9189385332046727)
C1 = _F(0.083333333333)
C3 = _F(0.0027777777778)
C5 = _F(0.00079365079365)
ZERO = _F(0.0)
ONE = _F(1.0)
HALF = _F(0.5)
THREE = _F(3.0)
EIGHT = _F(8.0)
TEN = _F(10.0)
TWENTY = _F(20.0)
ONE_HALF = _F(1.5)
TAIL_STOP = _F(-25.0)
P_LO = _F(1e-12)
P_HI = ONE - _F(1e-7)


@njit(cache=True, nogil=True, inline="always")
def _error_rate(qsum, count):  # pragma: no cover - compiled
    q = TWENTY
    if count > 0:
        q = _F(qsum) / _F(count)
    e = math.exp(q * NEG_LN10_10)
    return min(max(e, MIN_ERR), MAX_ERR)


@njit(cache=True, nogil=True)
def _lgam(x):  # pragma: no cover - compiled
    prod = ONE
    while x < EIGHT:
        prod = prod * x
        x = x + ONE
    inv = ONE / x
    inv2 = inv * inv
    series = inv * (C1 - inv2 * (C3 - inv2 * C5))
    return (x - HALF) * math.log(x) - x + HALF_LN_2PI + series - math.log(prod)


@njit(cache=True, nogil=True)
def _log_choose(n, k):  # pragma: no cover - compiled
    return _lgam(_F(n) + ONE) - _lgam(_F(k) + ONE) - _lgam(_F(n - k) + ONE)


@njit(cache=True, nogil=True)
def tail_phred(k, n, p, a, b, beta):  # pragma: no cover - compiled
    """-10 log10 P(X >= k): Binomial(n, p) (beta 0) or BetaBinomial(n, a, b) (beta 1)."""
    if k == 0:
        return ZERO
    if k > n:
        return MAX_PHRED
    fk = _F(k)
    fn = _F(n)
    odds = p / (ONE - p)
    concave = True
    if beta == 0:
        l = _log_choose(n, k) + fk * math.log(p) + (fn - fk) * math.log(ONE - p)  # noqa: E741
    else:
        lbeta_ab = _lgam(a) + _lgam(b) - _lgam(a + b)
        lbeta_kn = _lgam(fk + a) + _lgam(fn - fk + b) - _lgam(fn + a + b)
        l = _log_choose(n, k) + lbeta_kn - lbeta_ab  # noqa: E741
        concave = a >= ONE and b >= ONE
    m = l
    s = ONE
    for i in range(k, n):
        if beta == 0:
            ratio = (_F(n - i) * odds) / _F(i + 1)
        else:
            ratio = (_F(n - i) * (a + _F(i))) / (_F(i + 1) * (b + _F(n - i - 1)))
        l = l + math.log(ratio)  # noqa: E741
        if l > m:
            s = s * math.exp(m - l) + ONE
            m = l
        else:
            s = s + math.exp(l - m)
            if concave and ratio < ONE and l - m < TAIL_STOP:
                break
    phred = -TEN * INV_LN10 * (m + math.log(s))
    return min(max(phred, ZERO), MAX_PHRED)


@njit(cache=True, nogil=True, inline="always")
def _lse2(x, y):  # pragma: no cover - compiled
    hi = max(x, y)
    lo = min(x, y)
    return hi + math.log(ONE + math.exp((lo - hi) * LN10)) * INV_LN10


@njit(cache=True, nogil=True, inline="always")
def _round_int(x):  # pragma: no cover - compiled
    return np.int32(math.floor(x + HALF))


@njit(cache=True, nogil=True)
def _one(counts, ref, gid, theta, rho, iout, fout):  # pragma: no cover - compiled
    c0 = np.int64(counts[gid, 0]) + np.int64(counts[gid, 5])
    c1 = np.int64(counts[gid, 1]) + np.int64(counts[gid, 6])
    c2 = np.int64(counts[gid, 2]) + np.int64(counts[gid, 7])
    c3 = np.int64(counts[gid, 3]) + np.int64(counts[gid, 8])
    acgt = (c0, c1, c2, c3)
    depth = c0 + c1 + c2 + c3
    qall = (
        np.int64(counts[gid, 18])
        + np.int64(counts[gid, 19])
        + np.int64(counts[gid, 20])
        + np.int64(counts[gid, 21])
    )
    r = np.int64(ref[gid])
    if r > 3:
        iout[gid, 0] = 4
        iout[gid, 3] = np.int32(depth)
        return
    alt = np.int64(4)
    k_alt = np.int64(0)
    for b in range(4):
        if b != r and (alt == 4 or acgt[b] > k_alt):
            alt = np.int64(b)
            k_alt = acgt[b]
    k_ref = acgt[r]
    e_ref = _error_rate(np.int64(counts[gid, 18 + r]), k_ref)
    e_alt = _error_rate(np.int64(counts[gid, 18 + alt]), k_alt)
    e_site = _error_rate(qall, depth)

    nr = _F(k_ref)
    na = _F(k_alt)
    ref_ok = math.log(ONE - e_ref) * INV_LN10
    ref_err = math.log(e_ref / THREE) * INV_LN10
    ref_het = math.log(HALF * (ONE - e_ref) + HALF * (e_ref / THREE)) * INV_LN10
    alt_ok = math.log(ONE - e_alt) * INV_LN10
    alt_err = math.log(e_alt / THREE) * INV_LN10
    alt_het = math.log(HALF * (ONE - e_alt) + HALF * (e_alt / THREE)) * INV_LN10
    gl0 = nr * ref_ok + na * alt_err
    gl1 = nr * ref_het + na * alt_het
    gl2 = nr * ref_err + na * alt_ok
    best_gl = max(max(gl0, gl1), gl2)
    pl0 = _round_int(-TEN * (gl0 - best_gl))
    pl1 = _round_int(-TEN * (gl1 - best_gl))
    pl2 = _round_int(-TEN * (gl2 - best_gl))

    lp0 = gl0 + math.log(ONE - ONE_HALF * theta) * INV_LN10
    lp1 = gl1 + math.log(theta) * INV_LN10
    lp2 = gl2 + math.log(HALF * theta) * INV_LN10
    gt = 0
    best = lp0
    if lp1 > best:
        gt = 1
        best = lp1
    if lp2 > best:
        gt = 2
    total = _lse2(_lse2(lp0, lp1), lp2)
    if gt == 0:
        wrong = _lse2(lp1, lp2)
    elif gt == 1:
        wrong = _lse2(lp0, lp2)
    else:
        wrong = _lse2(lp0, lp1)
    gq = min(99, max(0, _round_int(-TEN * (wrong - total))))
    qual = min(-TEN * (lp0 - total), MAX_PHRED)
    ref_gq = min(99, min(pl1, pl2))

    p = e_site / THREE
    pc = min(max(p, P_LO), P_HI)
    a = pc * (ONE - rho) / rho
    b = (ONE - pc) * (ONE - rho) / rho
    binq = tail_phred(k_alt, depth, p, ZERO, ZERO, 0)
    bbq = tail_phred(k_alt, depth, pc, a, b, 1)

    iout[gid, 0] = alt
    iout[gid, 1] = np.int32(k_ref)
    iout[gid, 2] = np.int32(k_alt)
    iout[gid, 3] = np.int32(depth)
    iout[gid, 4] = pl0
    iout[gid, 5] = pl1
    iout[gid, 6] = pl2
    iout[gid, 7] = gt
    iout[gid, 8] = gq
    iout[gid, 9] = ref_gq
    fout[gid, 0] = max(qual, ZERO)
    fout[gid, 1] = binq
    fout[gid, 2] = bbq


@njit(parallel=True, cache=True, nogil=True)
def site_stats_cpu(counts, ref, theta, rho, iout, fout):  # pragma: no cover - compiled
    """Fill ``iout`` int32[n, 10] and ``fout`` float32[n, 3] (zeroed) from ``counts``
    uint32[n, 24] and ``ref`` uint8[n]; ``theta``, ``rho`` float32 (site_stats.metal)."""
    for gid in prange(counts.shape[0]):
        _one(counts, ref, gid, theta, rho, iout, fout)
