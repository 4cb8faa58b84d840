"""numba loops of the gVCF writer (CPU only, imported lazily by biometal.variants.gvcf).

:func:`locus_costs` is the per-read loop of
:func:`biometal.variants.call.indel_read_support` (CIGAR walk to the locus, gap-free
mismatch cost of the read against every haplotype) over reads held in flat arrays, so a
gVCF loads each read once per window instead of once per indel locus through pysam.
tests/unit/test_gvcf.py checks that the gVCF's read support equals indel_read_support's.
"""

from __future__ import annotations

import numpy as np

from biometal.kernels.jit import BYTES, njit, signature


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


@njit(cache=True, nogil=True)
def _assign(cost, idx, strand, mapq, items, out, margin):  # pragma: no cover - compiled
    """:func:`biometal.variants.call._assign_reads` compiled: count the reads of one locus
    (``cost`` int[m, 1 + alleles], REF first; read ``idx[j]``'s strand and MAPQ) into
    ``out`` rows ``items`` (the locus's alleles)."""
    m, k = cost.shape
    best = np.empty(m, np.int64)
    clear = np.empty(m, np.bool_)
    alt_min = np.empty(m, np.int64)
    support = np.zeros(k, np.int64)
    for j in range(m):
        b = 0
        lo = cost[j, 0]
        for t in range(1, k):
            if cost[j, t] < lo:
                lo = cost[j, t]
                b = t
        second = np.int64(1) << 62  # the next cost in sorted order (lo again on a tie)
        am = np.int64(1) << 62
        for t in range(k):
            if t != b and cost[j, t] < second:
                second = cost[j, t]
            if t > 0 and cost[j, t] < am:
                am = cost[j, t]
        best[j] = b
        alt_min[j] = am
        clear[j] = second - lo >= margin
        if b > 0 and cost[j, 0] - am >= margin:  # clearly not REF: a vote for its best
            support[b] += 1
    for j in range(m):
        # clearly not REF, as good for two alleles: the one more reads show best, then
        # the one it matches best
        if not clear[j] and cost[j, 0] - alt_min[j] >= margin:
            bb = -1
            for t in range(1, k):
                if cost[j, t] < alt_min[j] + margin and (
                    bb < 0
                    or support[t] > support[bb]
                    or (support[t] == support[bb] and cost[j, t] < cost[j, bb])
                ):
                    bb = t
            best[j] = bb
            clear[j] = True
    for j in range(m):
        if not clear[j]:
            continue
        b = best[j]
        rev = strand[idx[j]]
        for t in range(1, k):
            i = items[t - 1]
            if b == 0:
                out[i, rev] += 1
            elif b == t:
                out[i, 2 + rev] += 1
            else:
                out[i, 4] += 1
                continue
            out[i, 5] += mapq[idx[j]]


@njit(
    cache=True,
    nogil=True,
    aot=signature(
        "none",
        "int64[::1]",
        "int64[::1]",
        "int64[::1]",
        "int64[::1]",
        "int64[::1]",
        "int64[::1]",
        "uint8[::1]",
        "uint8[::1]",
        "int64[::1]",
        "int64[::1]",
        "int64",
        "int64[::1]",
        "int64[::1]",
        "int64[::1]",
        "int64[::1]",
        "int64[::1]",
        BYTES,
        "int64[::1]",
        "int64[::1]",
        "int64[::1]",
        "int64[::1]",
        "int64",
        "int64",
        "int64[:, ::1]",
    ),
)
def support_loci(
    r_start, r_end, cig_off, cig_op, cig_len, seq_off, seq, qual, strand, mapq, max_span,
    l_start, l_end, l_hs, l_he, l_hap, haps, hap_off, shifts, l_item, items, min_bq,
    margin, out,
):  # fmt: skip  # pragma: no cover - compiled
    """The read support of a window's loci in one call: for locus ``L`` ([``l_start``,
    ``l_end``], haplotypes ``hap_off[l_hap[L]:l_hap[L + 1] + 1]`` of ``haps`` with their
    ``shifts``, alleles ``items[l_item[L]:l_item[L + 1]]``, anchor and end at ``l_hs`` /
    ``l_he`` in the haplotypes) the reads' costs (:func:`locus_costs`) counted into ``out``
    (:func:`_assign`). Reads sorted by start, none longer than ``max_span``."""
    for L in range(l_start.shape[0]):
        start = l_start[L]
        end = l_end[L]
        i0 = np.searchsorted(r_start, start - max_span, side="right")
        i1 = np.searchsorted(r_start, end + 1, side="left")
        h0, h1 = l_hap[L], l_hap[L + 1]
        costs, idx = locus_costs(
            r_start, r_end, cig_off, cig_op, cig_len, seq_off, seq, qual, i0, i1, start, end,
            haps, hap_off[h0 : h1 + 1], shifts[h0:h1], l_hs[L], l_he[L], min_bq,
        )  # fmt: skip
        if idx.shape[0]:
            _assign(costs, idx, strand, mapq, items[l_item[L] : l_item[L + 1]], out, margin)


@njit(
    cache=True,
    nogil=True,
    aot=signature(
        "Tuple((int64[::1], int64[::1], int64[::1], int64[::1], int64[::1], int64[:, ::1]))",
        "boolean[::1]",
        "int64[::1]",
        "int64[::1]",
        "int64[:, ::1]",
        "int64[::1]",
    ),
)
def ref_block_runs(mask, ref_gq, depth, pl_in, bands):  # pragma: no cover - compiled
    """The reference blocks of one pileup block (biometal.variants.gvcf.ref_blocks): runs
    of consecutive ``mask`` rows whose ``ref_gq`` falls in the same band (``bands``: sorted
    lower bounds, 0 implicit). Per run: first row, end row (exclusive), lowest GQ, mean
    ``depth`` rounded half to even, lowest depth, the lowest of each of ``pl_in``'s three
    PLs less their minimum."""
    n = len(mask)
    lo = np.empty(n, np.int64)
    hi = np.empty(n, np.int64)
    gq = np.empty(n, np.int64)
    dp = np.empty(n, np.int64)
    min_dp = np.empty(n, np.int64)
    pl = np.empty((n, 3), np.int64)
    k = 0
    prev = np.int64(-1)
    tot = np.int64(0)
    for i in range(n):
        key = np.int64(-1)
        if mask[i]:
            g = np.int64(ref_gq[i])
            key = 0
            while key < len(bands) and bands[key] <= g:
                key += 1
        if key != prev or key < 0:
            if prev >= 0:
                hi[k - 1] = i
                dp[k - 1] = np.int64(np.rint(tot / (i - lo[k - 1])))
            prev = key
            if key < 0:
                continue
            lo[k] = i
            gq[k] = ref_gq[i]
            tot = depth[i]
            min_dp[k] = depth[i]
            for j in range(3):
                pl[k, j] = pl_in[i, j]
            k += 1
            continue
        r = k - 1
        gq[r] = min(gq[r], np.int64(ref_gq[i]))
        tot += depth[i]
        min_dp[r] = min(min_dp[r], np.int64(depth[i]))
        for j in range(3):
            pl[r, j] = min(pl[r, j], np.int64(pl_in[i, j]))
    if prev >= 0:
        hi[k - 1] = n
        dp[k - 1] = np.int64(np.rint(tot / (n - lo[k - 1])))
    for r in range(k):
        m = min(pl[r, 0], min(pl[r, 1], pl[r, 2]))
        for j in range(3):
            pl[r, j] -= m
    return lo[:k], hi[:k], gq[:k], dp[:k], min_dp[:k], pl[:k].copy()


_S_DOT = np.frombuffer(b"\t.\t", np.uint8)
_S_END = np.frombuffer(b"\t<*>\t.\t.\tEND=", np.uint8)
_S_FMT = np.frombuffer(b"\tGT:GQ:DP:MIN_DP:PL\t0/0:", np.uint8)


# The text writers below index through np.uint64(...): numba checks every signed index
# for a negative value to wrap around, an unsigned one not (as in biometal.pileup._kernels).


@njit(cache=True, nogil=True, inline="always")
def _put(out, p, s):  # pragma: no cover - compiled
    for i in range(len(s)):
        out[np.uint64(p + i)] = s[np.uint64(i)]
    return p + len(s)


@njit(cache=True, nogil=True, inline="always")
def _put_int(out, p, v):  # pragma: no cover - compiled
    """Decimal text of the integer ``v`` at ``out[p:]`` (as Python's str); the new end."""
    if v < 0:
        out[np.uint64(p)] = 45  # -
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
        out[np.uint64(q)] = 48 + v % 10
        v //= 10
        if q == p:
            break
    return p + n


@njit(cache=True, nogil=True, inline="always")
def _block_line(out, p, contig, start, end, base, row, gq, dp, min_dp, pl, i):  # pragma: no cover
    """gVCF reference-block line ``i`` at ``out[p:]`` (see :func:`format_lines`): the
    block ``[start[i], end[i])`` (0-based; REF ``base[i]``) with the statistics of block
    ``row[i]``. Returns the new end."""
    r = row[i]
    p = _put(out, p, contig)
    out[np.uint64(p)] = 9
    p = _put_int(out, p + 1, start[i] + 1)
    p = _put(out, p, _S_DOT)
    out[np.uint64(p)] = base[i]
    p = _put(out, p + 1, _S_END)
    p = _put_int(out, p, end[i])
    p = _put(out, p, _S_FMT)
    p = _put_int(out, p, gq[r])
    out[np.uint64(p)] = 58  # :
    p = _put_int(out, p + 1, dp[r])
    out[np.uint64(p)] = 58
    p = _put_int(out, p + 1, min_dp[r])
    out[np.uint64(p)] = 58
    p = _put_int(out, p + 1, pl[r, 0])
    out[np.uint64(p)] = 44  # ,
    p = _put_int(out, p + 1, pl[r, 1])
    out[np.uint64(p)] = 44
    p = _put_int(out, p + 1, pl[r, 2])
    out[np.uint64(p)] = 10
    return p + 1


@njit(
    cache=True,
    nogil=True,
    aot=signature("int64[:, ::1]", "uint32[:, ::1]", "int32[:, ::1]", "uint8[::1]", "int64[::1]"),
)
def site_counts(counts, ints, ref, rows):  # pragma: no cover - compiled
    """The read counts of SNP site records (biometal.variants.gvcf): for each of ``rows``
    of a pileup block (``counts`` uint32[n, 24], site_stats' ``ints``, REF codes ``ref``)
    int64 REF code, ALT code (site_stats' best ALT), REF / ALT / other reads, depth, and
    the REF / ALT / other quality sums (other: the two remaining bases), as the rows of
    int64[9, len(rows)] (each a contiguous array)."""
    out = np.empty((9, len(rows)), np.int64)
    for i in range(len(rows)):
        g = rows[i]
        r = np.int64(ref[g])
        a = np.int64(ints[g, 0])
        n_r = np.int64(counts[g, r]) + np.int64(counts[g, 5 + r])
        n_a = np.int64(counts[g, a]) + np.int64(counts[g, 5 + a])
        depth = np.int64(ints[g, 3])
        q_all = np.int64(0)
        for b in range(4):
            q_all += np.int64(counts[g, 18 + b])
        q_r = np.int64(counts[g, 18 + r])
        q_a = np.int64(counts[g, 18 + a])
        out[0, i] = r
        out[1, i] = a
        out[2, i] = n_r
        out[3, i] = n_a
        out[4, i] = depth - n_r - n_a
        out[5, i] = depth
        out[6, i] = q_r
        out[7, i] = q_a
        out[8, i] = q_all - q_r - q_a
    return out


_MIX = np.uint64(0x9E3779B97F4A7C15)


@njit(
    cache=True,
    nogil=True,
    aot=signature("Tuple((int64[::1], int64[::1]))", "int64[:, ::1]"),
)
def group_rows(keys):  # pragma: no cover - compiled
    """The distinct rows of ``keys`` int64[m, k] by a hash table (no sort): (the first row
    of each distinct key, in order of first occurrence; each row's index into them), so
    ``keys[first][inverse]`` equals ``keys``."""
    m, k = keys.shape
    size = 16
    while size < 2 * m:
        size *= 2
    slot = np.full(size, -1, np.int64)
    first = np.empty(m, np.int64)
    inverse = np.empty(m, np.int64)
    u = 0
    for i in range(m):
        h = np.uint64(0)
        for j in range(k):
            h = (h ^ np.uint64(keys[i, j])) * _MIX
        s = np.int64((h ^ (h >> np.uint64(29))) & np.uint64(size - 1))
        while True:
            f = slot[s]
            if f < 0:
                slot[s] = u
                first[u] = i
                inverse[i] = u
                u += 1
                break
            same = True
            row = first[f]
            for j in range(k):
                if keys[row, j] != keys[i, j]:
                    same = False
                    break
            if same:
                inverse[i] = f
                break
            s = (s + 1) & (size - 1)
    return first[:u].copy(), inverse


@njit(
    cache=True,
    nogil=True,
    aot=signature(
        "none",
        "int64",
        "int64[::1]",
        "int64[::1]",
        "boolean[::1]",
        "int64[::1]",
        "int64[::1]",
        "int64[::1]",
        "int64[:, ::1]",
        "int64[:, ::1]",
        "boolean[::1]",
        "int64[::1]",
        "int64[::1]",
        "int64[::1]",
        "boolean[::1]",
        "int64[::1]",
        "int64[::1]",
        "int64[::1]",
        "int64[::1]",
        "int64[::1]",
        "int64[:, ::1]",
        "int64[::1]",
        "float64[::1]",
        "int64[:, :, ::1]",
        "int64[:, :, ::1]",
        "boolean[:, ::1]",
        "int64[:, ::1]",
        "boolean[:, ::1]",
    ),
)
def fill_sample(
    j, cand_pc, cand_contig, is_indel, hit, site_rows, site_allele, pl_rows, ad_rows, ad_ok,
    dp_rows, row_pc, row_order, row_indel, row_k, row_star, b_start, b_end, b_contig, b_pl,
    b_dp, lg, pl, ad, has_ad, dp, has,
):  # fmt: skip  # pragma: no cover - compiled
    """Sample ``j``'s evidence at every candidate (biometal.variants.joint._fill: column
    ``j`` of ``pl`` [m, N, 3], ``ad`` [m, N, 2], ``has_ad``, ``dp``, ``has`` [m, N]), one
    merge walk over the candidates (position codes ``cand_pc``, sorted) and the sample's
    record rows (position codes ``row_pc``, visited in ``row_order``: sorted, stable) and
    reference blocks (``b_start`` / ``b_end`` position codes, sorted; ``b_contig`` each
    one's contig index, as ``cand_contig`` the candidates'). Precedence: the
    sample's record of the allele (``hit[i]``: an item of its sites, -1 none), for an indel
    the first indel record at the position (its reads: 0/0 evidence at log10 error
    ``lg``), the first record at the position (its ``<*>``; none: no data), the block
    covering the position."""
    m = len(cand_pc)
    n_rows = len(row_order)
    n_blocks = len(b_start)
    r = 0  # first of row_order at or after the candidate's position
    b = -1  # last block starting at or before it
    for i in range(m):
        pc = cand_pc[i]
        t = hit[i]
        if t >= 0:
            row = site_rows[t]
            a = site_allele[t]
            g1 = a * (a + 1) // 2
            pl[i, j, 0] = pl_rows[row, 0]
            pl[i, j, 1] = pl_rows[row, g1]
            pl[i, j, 2] = pl_rows[row, g1 + a]
            ok = ad_ok[row] and a < ad_rows.shape[1]
            if ok:
                ad[i, j, 0] = ad_rows[row, 0]
                ad[i, j, 1] = ad_rows[row, a]
            has_ad[i, j] = ok
            dp[i, j] = dp_rows[row]
            has[i, j] = True
            continue
        while r < n_rows and row_pc[row_order[r]] < pc:
            r += 1
        if r < n_rows and row_pc[row_order[r]] == pc:
            if is_indel[i]:
                # the first indel record here counts every read it saw as lacking this one
                q = r
                while q < n_rows and row_pc[row_order[q]] == pc and not row_indel[row_order[q]]:
                    q += 1
                if (
                    q < n_rows
                    and row_pc[row_order[q]] == pc
                    and ad_ok[row_order[q]]
                    and ad_rows.shape[1] > 0
                ):
                    row = row_order[q]
                    n = np.int64(0)
                    for c in range(min(row_k[row], ad_rows.shape[1])):
                        n += ad_rows[row, c]
                    g0 = n * lg[0]
                    g1f = n * lg[1]
                    g2 = n * lg[2]
                    mx = max(max(g0, g1f), g2)
                    pl[i, j, 0] = np.int64(np.rint(-10.0 * (g0 - mx)))
                    pl[i, j, 1] = np.int64(np.rint(-10.0 * (g1f - mx)))
                    pl[i, j, 2] = np.int64(np.rint(-10.0 * (g2 - mx)))
                    ad[i, j, 0] = n
                    ad[i, j, 1] = 0
                    has_ad[i, j] = True
                    dp[i, j] = dp_rows[row]
                    has[i, j] = True
                    continue
            # the candidate is part of the first record's <*> here (none: no data)
            row = row_order[r]
            star = row_star[row]
            if star > 0:
                g1 = star * (star + 1) // 2
                pl[i, j, 0] = pl_rows[row, 0]
                pl[i, j, 1] = pl_rows[row, g1]
                pl[i, j, 2] = pl_rows[row, g1 + star]
                ok = ad_ok[row] and ad_rows.shape[1] > 0
                if ok:
                    ad[i, j, 0] = ad_rows[row, 0]
                    ad[i, j, 1] = 0
                has_ad[i, j] = ok
                dp[i, j] = dp_rows[row]
                has[i, j] = True
            continue
        while b + 1 < n_blocks and b_start[b + 1] <= pc:
            b += 1
        if b >= 0 and b_end[b] > pc and b_contig[b] == cand_contig[i]:
            pl[i, j, 0] = b_pl[b, 0]
            pl[i, j, 1] = b_pl[b, 1]
            pl[i, j, 2] = b_pl[b, 2]
            dp[i, j] = b_dp[b]
            has[i, j] = True


_S_SNP = np.frombuffer(b",<*>\t", np.uint8)
_S_BINQ = np.frombuffer(b";TYPE=SNP;BINOMQ=", np.uint8)
_S_BBQ = np.frombuffer(b";BBQ=", np.uint8)
_S_SFMT = np.frombuffer(b"\tGT:GQ:DP:AD:PL\t", np.uint8)


@njit(cache=True, nogil=True, inline="always")
def _put_text(out, p, txt, off, i):  # pragma: no cover - compiled
    """Entry ``i`` of a text table (``txt[off[i]:off[i + 1]]``) at ``out[p:]``."""
    for k in range(off[i], off[i + 1]):
        out[np.uint64(p)] = txt[np.uint64(k)]
        p += 1
    return p


@njit(cache=True, nogil=True)
def _widest(off):  # pragma: no cover - compiled
    w = 0
    for k in range(len(off) - 1):
        w = max(w, off[k + 1] - off[k])
    return w


@njit(cache=True, nogil=True, inline="always")
def _site_line(
    out, p, contig, pos, ref, alt, idx, q_txt, q_off, f_txt, f_off, a_txt, a_off, b_txt,
    b_off, c_txt, c_off, gt, gq, dp, ad, pl, i,
):  # fmt: skip  # pragma: no cover - compiled
    """gVCF SNP site-record line ``i`` at ``out[p:]`` (see :func:`format_lines`). Returns
    the new end."""
    p = _put(out, p, contig)
    out[np.uint64(p)] = 9
    p = _put_int(out, p + 1, pos[i] + 1)
    p = _put(out, p, _S_DOT)
    out[np.uint64(p)] = ref[i]
    out[np.uint64(p + 1)] = 9
    out[np.uint64(p + 2)] = alt[i]
    p = _put(out, p + 3, _S_SNP)
    p = _put_text(out, p, q_txt, q_off, idx[i, 0])
    out[np.uint64(p)] = 9
    p = _put_text(out, p + 1, f_txt, f_off, idx[i, 1])
    out[np.uint64(p)] = 9
    p = _put_text(out, p + 1, a_txt, a_off, idx[i, 2])
    p = _put(out, p, _S_BINQ)
    p = _put_text(out, p, b_txt, b_off, idx[i, 3])
    p = _put(out, p, _S_BBQ)
    p = _put_text(out, p, c_txt, c_off, idx[i, 4])
    p = _put(out, p, _S_SFMT)
    g = gt[i]
    out[np.uint64(p)] = 48 if g < 2 else 49  # 0/0, 0/1, 1/1
    out[np.uint64(p + 1)] = 47
    out[np.uint64(p + 2)] = 48 if g == 0 else 49
    out[np.uint64(p + 3)] = 58
    p = _put_int(out, p + 4, gq[i])
    out[np.uint64(p)] = 58
    p = _put_int(out, p + 1, dp[i])
    out[np.uint64(p)] = 58
    p += 1
    for k in range(3):
        p = _put_int(out, p, ad[i, k])
        out[np.uint64(p)] = 44 if k < 2 else 58
        p += 1
    for k in range(6):
        p = _put_int(out, p, pl[i, k])
        out[np.uint64(p)] = 44 if k < 5 else 10
        p += 1
    return p


@njit(
    cache=True,
    nogil=True,
    aot=signature(
        "Tuple((uint8[::1], int64[::1]))",
        BYTES,
        "int64[::1]",
        "int64[::1]",
        # reference blocks
        "int64[::1]",
        "int64[::1]",
        "uint8[::1]",
        "int64[::1]",
        "int64[::1]",
        "int64[::1]",
        "int64[::1]",
        "int64[:, ::1]",
        # site records
        "int64[::1]",
        "uint8[::1]",
        "uint8[::1]",
        "int64[:, ::1]",
        BYTES,
        "int64[::1]",
        BYTES,
        "int64[::1]",
        BYTES,
        "int64[::1]",
        BYTES,
        "int64[::1]",
        BYTES,
        "int64[::1]",
        "int64[::1]",
        "int64[::1]",
        "int64[::1]",
        "int64[:, ::1]",
        "int64[:, ::1]",
        # preformatted lines (indel records)
        BYTES,
        "int64[::1]",
    ),
)
def format_lines(
    contig, kind, index,
    b_start, b_end, b_base, b_row, b_gq, b_dp, b_min_dp, b_pl,
    pos, ref, alt, idx, q_txt, q_off, f_txt, f_off, a_txt, a_off, b_txt, b_off, c_txt,
    c_off, gt, gq, dp, ad, pl,
    x_txt, x_off,
):  # fmt: skip  # pragma: no cover - compiled
    """A contig's gVCF lines in file order (biometal.variants.gvcf), written straight into
    one buffer: line ``i`` is reference block (``kind[i]`` 0), site record (1) or
    preformatted line (2) number ``index[i]`` of its kind.

    A block line is the block ``[b_start[j], b_end[j])`` (0-based; REF ``b_base[j]``) with
    the statistics of block ``b_row[j]`` (GQ, DP, MIN_DP, three PLs). A site line is the
    SNP at 0-based ``pos[j]``, REF / ALT the ASCII bases ``ref[j]`` / ``alt[j]`` (ALT
    ``X,<*>``), QUAL, FILTER, then INFO ``<DP and AF>;TYPE=SNP;BINOMQ=<b>;BBQ=<c>``: the
    texts ``idx[j, 0..4]`` of five tables (q, f, a, b, c: text ``*_txt``, offsets
    ``*_off``, formatted once per distinct value in Python), then ``GT:GQ:DP:AD:PL`` from
    the integers (GT index 0/1/2, AD [n, 3], PL [n, 6]). A preformatted line is
    ``x_txt[x_off[j]:x_off[j + 1]]``.
    Returns (ASCII text, int64[n + 1] line offsets)."""
    n = len(kind)
    w = _widest(q_off) + _widest(f_off) + _widest(a_off) + _widest(b_off) + _widest(c_off)
    size = x_off[len(x_off) - 1] - x_off[0]
    for i in range(n):
        if kind[i] == 0:
            size += len(contig) + 16 * 20 + 64
        elif kind[i] == 1:
            size += len(contig) + w + 12 * 21 + 80
    out = np.empty(size, np.uint8)
    off = np.empty(n + 1, np.int64)
    p = 0
    for i in range(n):
        off[i] = p
        j = index[i]
        if kind[i] == 0:
            p = _block_line(out, p, contig, b_start, b_end, b_base, b_row, b_gq, b_dp,
                            b_min_dp, b_pl, j)  # fmt: skip
        elif kind[i] == 1:
            p = _site_line(
                out, p, contig, pos, ref, alt, idx, q_txt, q_off, f_txt, f_off, a_txt, a_off,
                b_txt, b_off, c_txt, c_off, gt, gq, dp, ad, pl, j,
            )  # fmt: skip
        else:
            n_x = x_off[j + 1] - x_off[j]
            out[p : p + n_x] = x_txt[x_off[j] : x_off[j + 1]]
            p += n_x
    off[n] = p
    return out[:p], off


_J_PASS = np.frombuffer(b"PASS", np.uint8).copy()
_J_LOWQ = np.frombuffer(b"LowQual", np.uint8).copy()
_J_TYPES = np.frombuffer(b"SNPINSDEL", np.uint8).copy()
_J_AF = np.frombuffer(b"\tAF=", np.uint8).copy()
_J_AC = np.frombuffer(b";AC=", np.uint8).copy()
_J_AN = np.frombuffer(b";AN=", np.uint8).copy()
_J_DP = np.frombuffer(b";DP=", np.uint8).copy()
_J_NS = np.frombuffer(b";NS=", np.uint8).copy()
_J_TYPE = np.frombuffer(b";TYPE=", np.uint8).copy()
_J_FMT = np.frombuffer(b"\tGT:GQ:DP:AD:PL\t", np.uint8).copy()


@njit(
    cache=True,
    nogil=True,
    aot=signature(
        "Tuple((uint8[::1], int64[::1]))",
        BYTES,
        "int64[::1]",
        "int64[::1]",
        "int64[::1]",
        BYTES,
        "int64[::1]",
        "int64[::1]",
        BYTES,
        "int64[::1]",
        "int64[::1]",
        "boolean[::1]",
        BYTES,
        "int64[::1]",
        "int64[::1]",
        "int64[::1]",
        "int64[::1]",
        "int64[::1]",
        "int64[::1]",
        "int64[::1]",
        BYTES,
        "int64[::1]",
    ),
)
def format_records(
    c_txt, c_off, cidx, pos, p_txt, p_off, pair, q_txt, q_off, q_i, passed, f_txt, f_off,
    f_i, ac, an, dp, ns, kind, s_txt, s_off,
):  # fmt: skip  # pragma: no cover - compiled
    """The joint VCF's record lines (biometal.variants.joint): CHROM (entry ``cidx[i]`` of
    the contig table ``c_txt`` / ``c_off``), POS (``pos[i] + 1``), ID ``.``, REF and ALT
    (entry ``pair[i]`` of a table of ``REF\tALT`` texts), QUAL and AF (entries ``q_i[i]`` /
    ``f_i[i]`` of tables formatted once per distinct value in Python), FILTER PASS or
    LowQual (``passed``), ``AC``, ``AN``, ``DP``, ``NS``, TYPE SNP / INS / DEL (``kind`` 0 /
    1 / 2), FORMAT, then the sample columns (line ``i`` of ``s_txt`` / ``s_off``,
    :func:`format_samples`). Returns (ASCII text, int64[n + 1] line offsets)."""
    n = len(pos)
    w = _widest(c_off) + _widest(p_off) + _widest(q_off) + _widest(f_off)
    out = np.empty(n * (w + 6 * 21 + 80) + s_off[n] - s_off[0], np.uint8)
    off = np.empty(n + 1, np.int64)
    p = 0
    for i in range(n):
        off[i] = p
        p = _put_text(out, p, c_txt, c_off, cidx[i])
        out[np.uint64(p)] = 9
        p = _put_int(out, p + 1, pos[i] + 1)
        p = _put(out, p, _S_DOT)
        p = _put_text(out, p, p_txt, p_off, pair[i])
        out[np.uint64(p)] = 9
        p = _put_text(out, p + 1, q_txt, q_off, q_i[i])
        out[np.uint64(p)] = 9
        p = _put(out, p + 1, _J_PASS if passed[i] else _J_LOWQ)
        p = _put(out, p, _J_AF)
        p = _put_text(out, p, f_txt, f_off, f_i[i])
        p = _put(out, p, _J_AC)
        p = _put_int(out, p, ac[i])
        p = _put(out, p, _J_AN)
        p = _put_int(out, p, an[i])
        p = _put(out, p, _J_DP)
        p = _put_int(out, p, dp[i])
        p = _put(out, p, _J_NS)
        p = _put_int(out, p, ns[i])
        p = _put(out, p, _J_TYPE)
        for k in range(3):
            out[np.uint64(p + k)] = _J_TYPES[3 * kind[i] + k]
        p = _put(out, p + 3, _J_FMT)
        for k in range(s_off[i], s_off[i + 1]):
            out[np.uint64(p)] = s_txt[np.uint64(k)]
            p += 1
        out[np.uint64(p)] = 10
        p += 1
    off[n] = p
    return out[:p], off


#: joint VCF genotype texts, by GT code 0, 1, 2
_GT_TEXT = np.frombuffer(b"0/00/11/1", np.uint8).copy()
_NO_DATA = np.frombuffer(b"./.:.:0:.:.", np.uint8).copy()


@njit(
    cache=True,
    nogil=True,
    aot=signature(
        "Tuple((uint8[::1], int64[::1]))",
        "boolean[:, ::1]",
        "int64[:, ::1]",
        "int64[:, ::1]",
        "int64[:, ::1]",
        "boolean[:, ::1]",
        "int64[:, :, ::1]",
        "int64[:, :, ::1]",
    ),
)
def format_samples(has, gt, gq, dp, has_ad, ad, pl):  # pragma: no cover - compiled
    """The sample columns of joint VCF records (``GT:GQ:DP:AD:PL`` per sample, tab-joined,
    without the newline), as biometal.variants.joint formats them: ``./.:.:0:.:.`` without
    data, AD ``.`` when unusable. ``has`` bool[m, N], ``gt`` / ``gq`` / ``dp`` int[m, N],
    ``has_ad`` bool[m, N], ``ad`` int[m, N, 2], ``pl`` int[m, N, 3]. Returns (text uint8,
    offsets int64[m + 1])."""
    m, n = has.shape
    out = np.empty(m * n * 160, np.uint8)  # a cell at its widest: 7 numbers of <= 20 digits
    off = np.zeros(m + 1, np.int64)
    p = 0
    for i in range(m):
        for j in range(n):
            if j:
                out[np.uint64(p)] = 9
                p += 1
            if not has[i, j]:
                for k in range(_NO_DATA.shape[0]):
                    out[np.uint64(p + k)] = _NO_DATA[k]
                p += _NO_DATA.shape[0]
                continue
            g = gt[i, j]
            out[np.uint64(p)] = _GT_TEXT[3 * g]
            out[np.uint64(p + 1)] = 47
            out[np.uint64(p + 2)] = _GT_TEXT[3 * g + 2]
            out[np.uint64(p + 3)] = 58
            p = _put_int(out, p + 4, gq[i, j])
            out[np.uint64(p)] = 58
            p = _put_int(out, p + 1, dp[i, j])
            out[np.uint64(p)] = 58
            p += 1
            if has_ad[i, j]:
                p = _put_int(out, p, ad[i, j, 0])
                out[np.uint64(p)] = 44
                p = _put_int(out, p + 1, ad[i, j, 1])
            else:
                out[np.uint64(p)] = 46
                p += 1
            out[np.uint64(p)] = 58
            p = _put_int(out, p + 1, pl[i, j, 0])
            out[np.uint64(p)] = 44
            p = _put_int(out, p + 1, pl[i, j, 1])
            out[np.uint64(p)] = 44
            p = _put_int(out, p + 1, pl[i, j, 2])
        off[i + 1] = p
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


@njit(
    cache=True,
    nogil=True,
    aot=signature(
        "float64[::1]",
        "int64[:, :, ::1]",
        "float64[::1]",
        "int64[::1]",
        "boolean[:, ::1]",
        "float64[::1]",
        "int64[::1]",
        "int64",
    ),
)
def em_frequency(idx, table, rows, has, f0, n_has, iterations):  # pragma: no cover - compiled
    """The EM steps of biometal.variants.joint.em_frequency_numpy, site by site: the same
    operations in the same order (numpy's pairwise sums included), so the same
    frequencies bit for bit without [m, N, 3] temporaries per step (and without the steps
    after a site's frequency stops changing: a step is a function of f alone). Site ``i``
    is row ``rows[i]`` of ``idx`` / ``has``; its likelihoods (scaled to the best genotype)
    are ``table[idx[rows[i]]]`` (the likelihoods themselves with ``idx`` their positions,
    or a table of each PL value's with ``idx`` the PLs); ``f0`` the start, ``n_has``
    max(1, samples with data), as the numpy function computes them."""
    m, n_s = len(rows), idx.shape[1]
    out = np.empty(m, np.float64)
    ed = np.empty(n_s, np.float64)
    for i in range(m):
        r = rows[i]
        f = f0[i]
        for _ in range(iterations):
            p0 = (1 - f) ** 2
            p1 = 2 * f * (1 - f)
            p2 = f**2
            for j in range(n_s):
                if not has[r, j]:
                    ed[j] = 0.0
                    continue
                q0 = table[idx[r, j, 0]] * p0
                q1 = table[idx[r, j, 1]] * p1
                q2 = table[idx[r, j, 2]] * p2
                s = (q0 + q1) + q2
                # numpy's ((q0/s)*0 + (q1/s)*1) + (q2/s)*2, times 1: s > 0 (the best
                # genotype's likelihood is 1, every prior > 0), so (q0/s)*0 is 0.0 and
                # 0.0 + x, x * 1.0 are x exactly
                ed[j] = q1 / s + (q2 / s) * 2.0
            f_new = min(max(_pairwise6(ed, 0, n_s) / (2.0 * n_has[i]), 1e-6), 1 - 1e-6)
            if f_new == f:
                break  # a fixed point: every further step gives this f again
            f = f_new
        out[i] = f
    return out


@njit(
    cache=True,
    nogil=True,
    aot=signature(
        "Tuple((int64[::1], int64[::1], int64))",
        "int64[:, :, ::1]",
        "int64[::1]",
        "boolean[:, ::1]",
    ),
)
def shift_rows(pl, rows, has):  # pragma: no cover - compiled
    """For the joint step's EM (biometal.variants.joint): each listed row's PLs less their
    least, per sample, in place; per row the ALT dosage of the samples' likeliest
    genotypes (the least PL, the first on ties) over those with data, and those samples
    (at least 1); and the largest PL left."""
    n, n_s = len(rows), pl.shape[1]
    best = np.zeros(n, np.int64)
    n_has = np.zeros(n, np.int64)
    top = np.int64(0)
    for i in range(n):
        r = rows[i]
        for j in range(n_s):
            a, b, c = pl[r, j, 0], pl[r, j, 1], pl[r, j, 2]
            lo = min(a, min(b, c))
            pl[r, j, 0] = a - lo
            pl[r, j, 1] = b - lo
            pl[r, j, 2] = c - lo
            top = max(top, max(a, max(b, c)) - lo)
            if has[r, j]:
                n_has[i] += 1
                best[i] += 0 if a == lo else (1 if b == lo else 2)
        n_has[i] = max(n_has[i], 1)
    return best, n_has, top


@njit(
    cache=True,
    nogil=True,
    aot=signature(
        "boolean[::1]",
        "int64[:, :, ::1]",
        "int64[::1]",
        "boolean[:, ::1]",
        "int64[:, ::1]",
        "float64[:, ::1]",
        "float64",
        "int64",
    ),
)
def favour_alt(pl, rows, has, dp, log_prior, ln10, min_depth):  # pragma: no cover - compiled
    """Which listed rows can be joint records (biometal.variants.joint): a sample with
    data whose log posterior ``(-PL / 10) * ln10 + log_prior`` (numpy's operations, in
    its order) is highest at an ALT genotype, and depths adding up to ``min_depth``."""
    n, n_s = len(rows), pl.shape[1]
    out = np.zeros(n, np.bool_)
    for i in range(n):
        r = rows[i]
        depth = np.int64(0)
        for j in range(n_s):
            depth += dp[r, j]
        if depth < min_depth:
            continue
        for j in range(n_s):
            if not has[r, j]:
                continue
            l0 = (-pl[r, j, 0] / 10.0) * ln10 + log_prior[i, 0]
            l1 = (-pl[r, j, 1] / 10.0) * ln10 + log_prior[i, 1]
            l2 = (-pl[r, j, 2] / 10.0) * ln10 + log_prior[i, 2]
            if l1 > l0 or l2 > l0:
                out[i] = True
                break
    return out
