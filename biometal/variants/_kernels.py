"""numba loops of the gVCF writer (CPU only, imported lazily by biometal.variants.gvcf).

:func:`locus_costs` is the per-read loop of
:func:`biometal.variants.call.indel_read_support` (CIGAR walk to the locus, gap-free
mismatch cost of the read against every haplotype) over reads held in flat arrays, so a
gVCF loads each read once per window instead of once per indel locus through pysam.
tests/unit/test_gvcf.py checks that the gVCF's read support equals indel_read_support's.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def locus_costs(
    r_start, r_end, cig_off, cig_op, cig_len, seq_off, seq, qual, i0, i1,
    start, end, haps, hap_off, shifts, hs, he, min_bq,
):  # fmt: skip  # pragma: no cover - compiled
    """Costs of reads ``i0..i1`` that overlap ``[start, end + 1)`` and are aligned next to
    the locus: (int64[m, k] cost per haplotype, int64[m] read index). ``haps``: the k
    haplotypes concatenated (``hap_off`` [k + 1]); ``seq`` upper-case ASCII, ``qual``
    base qualities (40 where the BAM has none)."""
    k = len(hap_off) - 1
    min_len = hap_off[1] - hap_off[0]
    min_shift = shifts[0]
    for t in range(1, k):
        min_len = min(min_len, hap_off[t + 1] - hap_off[t])
        min_shift = min(min_shift, shifts[t])
    costs = np.zeros((i1 - i0, k), np.int64)
    index = np.empty(i1 - i0, np.int64)
    m = 0
    for r in range(i0, i1):
        if r_start[r] >= end + 1 or r_end[r] <= start:
            continue
        q_s = -1
        q_e = -1
        stop_r = -1
        stop_l = -1
        rpos = r_start[r]
        qpos = 0
        for c in range(cig_off[r], cig_off[r + 1]):
            op = cig_op[c]
            ln = cig_len[c]
            if op == 0 or op == 7 or op == 8:
                if rpos <= start < rpos + ln:
                    q_s = qpos + start - rpos
                if rpos <= end < rpos + ln:
                    q_e = qpos + end - rpos
                rpos += ln
                qpos += ln
            elif op == 1 or op == 2 or op == 3:
                if rpos - 1 >= end and stop_r < 0:
                    stop_r = qpos
                elif rpos + (ln if op != 1 else 0) <= start:
                    stop_l = qpos + (ln if op == 1 else 0)
                if op == 1:
                    qpos += ln
                else:
                    rpos += ln
            elif op == 4:
                qpos += ln
        if q_s < 0 and q_e < 0:
            continue
        s0 = seq_off[r]
        n_read = seq_off[r + 1] - s0
        if q_s >= 0:  # the bases after the anchor
            n = min(n_read - q_s - 1, min_len - hs - 1)
            if stop_r >= 0:
                n = min(n, stop_r - q_s - 1)
            for t in range(k):
                h0 = hap_off[t] + hs + 1
                tot = 0
                for i in range(max(n, 0)):
                    b = seq[s0 + q_s + 1 + i]
                    q = qual[s0 + q_s + 1 + i]
                    if b != haps[h0 + i] and q >= min_bq and b != 78:  # 78: N
                        tot += min(q, 40)
                costs[m, t] = tot
        else:  # the bases before the first base after the locus
            n = min(q_e, he + min_shift)
            if stop_l >= 0:
                n = min(n, q_e - stop_l)
            for t in range(k):
                h0 = hap_off[t] + he + shifts[t] - n
                tot = 0
                for i in range(max(n, 0)):
                    b = seq[s0 + q_e - n + i]
                    q = qual[s0 + q_e - n + i]
                    if b != haps[h0 + i] and q >= min_bq and b != 78:
                        tot += min(q, 40)
                costs[m, t] = tot
        index[m] = r
        m += 1
    return costs[:m], index[:m]


_S_DOT = np.frombuffer(b"\t.\t", np.uint8)
_S_END = np.frombuffer(b"\t<*>\t.\t.\tEND=", np.uint8)
_S_FMT = np.frombuffer(b"\tGT:GQ:DP:MIN_DP:PL\t0/0:", np.uint8)


@njit(cache=True, nogil=True, inline="always")
def _put(out, p, s):  # pragma: no cover - compiled
    for i in range(len(s)):
        out[p + i] = s[i]
    return p + len(s)


@njit(cache=True, nogil=True, inline="always")
def _put_int(out, p, v):  # pragma: no cover - compiled
    """Decimal text of the integer ``v`` at ``out[p:]`` (as Python's str); the new end."""
    if v < 0:
        out[p] = 45  # -
        p += 1
        v = -v
    n = 1
    t = v // 10
    while t > 0:
        n += 1
        t //= 10
    q = p + n
    while True:
        q -= 1
        out[q] = 48 + v % 10
        v //= 10
        if q == p:
            break
    return p + n


@njit(cache=True, nogil=True)
def format_blocks(contig, start, end, base, row, gq, dp, min_dp, pl):  # pragma: no cover
    """gVCF reference-block lines (see biometal.variants.gvcf): line i is the block
    ``[start[i], end[i])`` (0-based; REF ``base[i]``) with the statistics of block
    ``row[i]``. Returns (ASCII text, int64[n + 1] line offsets)."""
    n = len(start)
    out = np.empty(n * (len(contig) + 16 * 20 + 64), np.uint8)
    off = np.empty(n + 1, np.int64)
    p = 0
    for i in range(n):
        off[i] = p
        r = row[i]
        p = _put(out, p, contig)
        out[p] = 9
        p = _put_int(out, p + 1, start[i] + 1)
        p = _put(out, p, _S_DOT)
        out[p] = base[i]
        p = _put(out, p + 1, _S_END)
        p = _put_int(out, p, end[i])
        p = _put(out, p, _S_FMT)
        p = _put_int(out, p, gq[r])
        out[p] = 58  # :
        p = _put_int(out, p + 1, dp[r])
        out[p] = 58
        p = _put_int(out, p + 1, min_dp[r])
        out[p] = 58
        p = _put_int(out, p + 1, pl[r, 0])
        out[p] = 44  # ,
        p = _put_int(out, p + 1, pl[r, 1])
        out[p] = 44
        p = _put_int(out, p + 1, pl[r, 2])
        out[p] = 10
        p += 1
    off[n] = p
    return out[:p], off


@njit(cache=True, nogil=True)
def _pairwise0(a, lo, n):  # pragma: no cover - compiled
    """numpy's pairwise summation of ``a[lo:lo + n]`` (float64 ``add.reduce``), n <= 128:
    the same additions in the same order, so the same result bit for bit."""
    if n < 8:
        res = 0.0
        for i in range(n):
            res += a[lo + i]
        return res
    if n <= 128:
        r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
        r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
        i = 8
        while i < n - (n % 8):
            r0 += a[lo + i]
            r1 += a[lo + i + 1]
            r2 += a[lo + i + 2]
            r3 += a[lo + i + 3]
            r4 += a[lo + i + 4]
            r5 += a[lo + i + 5]
            r6 += a[lo + i + 6]
            r7 += a[lo + i + 7]
            i += 8
        res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        while i < n:
            res += a[lo + i]
            i += 1
        return res
    return np.nan  # longer: _pairwise<k> splits it


# numpy's recursion for n > 128, one function per level (a recursive numba function
# does not survive numba's cache): up to MAX_PAIRWISE samples
@njit(cache=True, nogil=True)
def _pairwise1(a, lo, n):  # pragma: no cover - compiled
    if n <= 128:
        return _pairwise0(a, lo, n)
    n2 = n // 2
    n2 -= n2 % 8
    return _pairwise0(a, lo, n2) + _pairwise0(a, lo + n2, n - n2)


@njit(cache=True, nogil=True)
def _pairwise2(a, lo, n):  # pragma: no cover - compiled
    if n <= 128:
        return _pairwise0(a, lo, n)
    n2 = n // 2
    n2 -= n2 % 8
    return _pairwise1(a, lo, n2) + _pairwise1(a, lo + n2, n - n2)


@njit(cache=True, nogil=True)
def _pairwise3(a, lo, n):  # pragma: no cover - compiled
    if n <= 128:
        return _pairwise0(a, lo, n)
    n2 = n // 2
    n2 -= n2 % 8
    return _pairwise2(a, lo, n2) + _pairwise2(a, lo + n2, n - n2)


@njit(cache=True, nogil=True)
def _pairwise4(a, lo, n):  # pragma: no cover - compiled
    if n <= 128:
        return _pairwise0(a, lo, n)
    n2 = n // 2
    n2 -= n2 % 8
    return _pairwise3(a, lo, n2) + _pairwise3(a, lo + n2, n - n2)


@njit(cache=True, nogil=True)
def _pairwise5(a, lo, n):  # pragma: no cover - compiled
    if n <= 128:
        return _pairwise0(a, lo, n)
    n2 = n // 2
    n2 -= n2 % 8
    return _pairwise4(a, lo, n2) + _pairwise4(a, lo + n2, n - n2)


@njit(cache=True, nogil=True)
def _pairwise6(a, lo, n):  # pragma: no cover - compiled
    if n <= 128:
        return _pairwise0(a, lo, n)
    n2 = n // 2
    n2 -= n2 % 8
    return _pairwise5(a, lo, n2) + _pairwise5(a, lo + n2, n - n2)


#: a part after k splits holds < n / 2**k + 16 values: at most 128 after six for this n
MAX_PAIRWISE = 112 * 2**6


@njit(cache=True, nogil=True)
def em_frequency(lik, has, f0, n_has, iterations):  # pragma: no cover - compiled
    """The EM steps of biometal.variants.joint.em_frequency_numpy, site by site: the same
    operations in the same order (numpy's pairwise sums included), so the same
    frequencies bit for bit without [m, N, 3] temporaries per step. ``lik``: the
    likelihoods scaled to the best genotype, ``f0`` the start, ``n_has`` max(1, samples
    with data), as the numpy function computes them."""
    m, n_s = lik.shape[0], lik.shape[1]
    out = np.empty(m, np.float64)
    ed = np.empty(n_s, np.float64)
    for i in range(m):
        f = f0[i]
        for _ in range(iterations):
            p0 = (1 - f) ** 2
            p1 = 2 * f * (1 - f)
            p2 = f**2
            for j in range(n_s):
                q0 = lik[i, j, 0] * p0
                q1 = lik[i, j, 1] * p1
                q2 = lik[i, j, 2] * p2
                s = (q0 + q1) + q2
                e = ((q0 / s) * 0.0 + (q1 / s) * 1.0) + (q2 / s) * 2.0
                ed[j] = e * (1.0 if has[i, j] else 0.0)
            f = min(max(_pairwise6(ed, 0, n_s) / (2.0 * n_has[i]), 1e-6), 1 - 1e-6)
        out[i] = f
    return out
