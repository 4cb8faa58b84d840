"""CPU twin of site_stats.metal (numba): per-position site statistics of a pileup region.

The same single-precision operations in the same order as the Metal source (see its
header for the statistics and the output layout), one position per loop iteration,
contiguous chunks of positions in parallel (``prange``). Every float constant and
intermediate is float32, so the results equal the Metal source run through the C++ harness
bit for bit. One addition the GPU does not need: most positions of a gVCF have only
reference reads, and there the results depend on the reference count and quality sum
alone, so each chunk keeps a small table of them and copies instead of recomputing (2.9x
on four cohort pileups' 1.2M rows, 1.5x on a synthetic 30x table: ``bench/site_stats.py``,
README "Case study: population calling"; tests/kernels/test_site_stats.py holds it equal to
the plain loop and to the Metal source). A second table does the same for positions with
ALT reads, keyed by everything :func:`_one` reads (:func:`_alt_memo`): reads whose
qualities are one value (wgsim's) repeat those keys often (the kernel's share of a
2%-error cohort's gVCFs 0.145 -> 0.048 s under cProfile, ``bench/cohort_profile.py``).
"""

from __future__ import annotations

import math

import numpy as np

from .jit import njit, prange, signature

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


#: slots of a chunk's memo of hom-ref positions (a power of 2), and the most it fills
MEMO_BITS = 12
MEMO_FILL = 3 << (MEMO_BITS - 2)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@njit(cache=True, nogil=True)
def _alt_memo(
    counts, ref, gid, theta, rho, iout, fout, r, alt, k_ref, k_alt, keys, vi, vf, used
):  # pragma: no cover - compiled
    """Position ``gid`` (REF code ``r`` < 4, best ALT ``alt`` with ``k_alt`` reads, ``k_ref``
    reference reads) as :func:`_one` computes it, from the memo ``keys`` / ``vi`` / ``vf``
    (``used`` slots filled; returns the new count) where an earlier position had the same
    REF and ALT codes, REF / ALT / all read counts and REF / ALT / all quality sums: every
    value _one writes is a function of those (the other two bases enter only through the
    depth and the quality sum of all reads). Reads of other classes are summed into the
    depth the same way, so equal keys give equal outputs bit for bit."""
    depth = np.int64(0)
    qall = np.int64(0)
    for b in range(4):
        depth += np.int64(counts[gid, b]) + np.int64(counts[gid, 5 + b])
        qall += np.int64(counts[gid, 18 + b])
    q_ref = np.int64(counts[gid, 18 + r])
    q_alt = np.int64(counts[gid, 18 + alt])
    if depth >= 1 << 31 or q_ref >= 1 << 31 or q_alt >= 1 << 31:
        _one(counts, ref, gid, theta, rho, iout, fout)
        return used
    w0 = (k_ref << 32) | k_alt
    w1 = (depth << 32) | (r * 8 + alt)
    w2 = (q_ref << 32) | q_alt
    w3 = qall
    size = keys.shape[0]
    hv = np.uint64(w0) * _GOLDEN
    hv = (hv ^ np.uint64(w1)) * _GOLDEN
    hv = (hv ^ np.uint64(w2)) * _GOLDEN
    hv = (hv ^ np.uint64(w3)) * _GOLDEN
    h = np.int64(hv >> np.uint64(64 - MEMO_BITS))
    while keys[h, 0] != -1 and not (
        keys[h, 0] == w0 and keys[h, 1] == w1 and keys[h, 2] == w2 and keys[h, 3] == w3
    ):
        h = (h + 1) & (size - 1)
    if keys[h, 0] != -1:
        for j in range(10):
            iout[gid, j] = vi[h, j]
        for j in range(3):
            fout[gid, j] = vf[h, j]
        return used
    _one(counts, ref, gid, theta, rho, iout, fout)
    if used < MEMO_FILL:
        keys[h, 0] = w0
        keys[h, 1] = w1
        keys[h, 2] = w2
        keys[h, 3] = w3
        for j in range(10):
            vi[h, j] = iout[gid, j]
        for j in range(3):
            vf[h, j] = fout[gid, j]
        used += 1
    return used


@njit(cache=True, nogil=True)
def _chunk(counts, ref, lo, hi, theta, rho, iout, fout):  # pragma: no cover - compiled
    """Positions [lo, hi), each as :func:`_one` computes it; a position whose reads all
    show the reference base (no ALT read, no ALT quality) takes PL, GT, GQ, REF_GQ and
    QUAL from the last position with the same reference count and quality sum: there
    they depend on nothing else (the ALT's error rate is the no-read default, and both
    tails are 0 without an ALT read), so the values are the very ones _one would compute."""
    size = 1 << MEMO_BITS
    keys = np.full(size, -1, np.int64)
    vi = np.empty((size, 6), np.int32)
    vf = np.empty(size, np.float32)
    used = 0
    shift = np.uint64(64 - MEMO_BITS)
    akeys = np.full((size, 4), -1, np.int64)
    avi = np.empty((size, 10), np.int32)
    avf = np.empty((size, 3), np.float32)
    a_used = 0
    for gid in range(lo, hi):
        r = np.int64(ref[gid])
        if r > 3:
            _one(counts, ref, gid, theta, rho, iout, fout)
            continue
        k_alt = np.int64(0)
        alt = np.int64(4)
        for b in range(4):
            if b != r:
                c = np.int64(counts[gid, b]) + np.int64(counts[gid, 5 + b])
                if alt == 4 or c > k_alt:
                    alt = np.int64(b)
                    k_alt = c
        k_ref = np.int64(counts[gid, r]) + np.int64(counts[gid, 5 + r])
        q_ref = np.int64(counts[gid, 18 + r])
        if k_alt != 0 or counts[gid, 18 + alt] != 0 or k_ref >= 1 << 31 or q_ref >= 1 << 32:
            a_used = _alt_memo(
                counts, ref, gid, theta, rho, iout, fout, r, alt, k_ref, k_alt, akeys, avi,
                avf, a_used,
            )  # fmt: skip
            continue
        key = (k_ref << 32) | q_ref
        h = np.int64((np.uint64(key) * _GOLDEN) >> shift)
        while keys[h] != -1 and keys[h] != key:
            h = (h + 1) & (size - 1)
        if keys[h] == key:
            iout[gid, 0] = alt
            iout[gid, 1] = np.int32(k_ref)
            iout[gid, 2] = 0
            iout[gid, 3] = np.int32(k_ref)
            for j in range(6):
                iout[gid, 4 + j] = vi[h, j]
            fout[gid, 0] = vf[h]
            fout[gid, 1] = ZERO
            fout[gid, 2] = ZERO
            continue
        _one(counts, ref, gid, theta, rho, iout, fout)
        if used < MEMO_FILL:
            keys[h] = key
            for j in range(6):
                vi[h, j] = iout[gid, 4 + j]
            vf[h] = fout[gid, 0]
            used += 1


@njit(parallel=True, cache=True, nogil=True)
def site_stats_cpu(counts, ref, theta, rho, iout, fout, chunks):  # pragma: no cover - compiled
    """Fill ``iout`` int32[n, 10] and ``fout`` float32[n, 3] (zeroed) from ``counts``
    uint32[n, 24] and ``ref`` uint8[n]; ``theta``, ``rho`` float32 (site_stats.metal).
    Positions in ``chunks`` contiguous chunks run in parallel, each with its own memo
    (:func:`_chunk`); the results do not depend on ``chunks``."""
    n = counts.shape[0]
    for c in prange(chunks):
        _chunk(counts, ref, n * c // chunks, n * (c + 1) // chunks, theta, rho, iout, fout)


@njit(
    cache=True,
    nogil=True,
    aot=signature(
        "none",
        "uint32[:, ::1]",
        "uint8[::1]",
        "float32",
        "float32",
        "int32[:, ::1]",
        "float32[:, ::1]",
        "int64",
    ),  # fmt: skip
)
def site_stats_cpu_serial(counts, ref, theta, rho, iout, fout, chunks):  # pragma: no cover
    """:func:`site_stats_cpu` on the calling thread alone (no thread pool to start, and
    built ahead of time for short processes: biometal.kernels.jit); same results."""
    n = counts.shape[0]
    for c in range(chunks):
        _chunk(counts, ref, n * c // chunks, n * (c + 1) // chunks, theta, rho, iout, fout)
