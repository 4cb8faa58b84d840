"""numba loops of the seed-window builder (see :mod:`biometal.ml.seedfilter.windows`)."""

from __future__ import annotations

from numba import njit, prange

PAD = 4  # code of padding (N): an all-zero one-hot column


@njit(cache=True, inline="always")
def _oriented(codes, start, rlen, reverse, j):
    """Base j of the read as it lies on the forward reference strand (revcomp if reverse)."""
    if reverse:
        c = codes[start + rlen - 1 - j]
        return c if c > 3 else 3 - c
    return codes[start + j]


@njit(cache=True, parallel=True)
def build_windows(
    read_codes,
    read_offsets,
    ref_codes,
    contig_offsets,
    occ_read,
    occ_qs,
    occ_qe,
    occ_contig,
    occ_pos,
    occ_reverse,
    flank,
    max_seed,
    width,
    ext_pad,
    qwin,
    rwin,
    flank_mm,
    left_q_off,
    left_t_off,
    right_q_off,
    right_t_off,
    left_q,
    left_t,
    right_q,
    right_t,
):
    """Windows and extension sequences of every seed occurrence.

    Per occurrence i (seed ``[qs, qe)`` of read ``occ_read[i]``, forward start ``pos`` on
    contig ``occ_contig[i]``, ``reverse`` strand): the read is taken on the forward strand
    (reverse complemented when ``reverse``), so the seed is at ``[qs', qe')`` with
    ``qs' = rlen - qe`` when reversed. ``qwin[i]``/``rwin[i]``: ``flank`` bases before the
    seed, the seed (its first and last ``max_seed // 2`` bases when longer than
    ``max_seed``), ``flank`` bases after, padded with N to ``width``. ``flank_mm[i]``:
    mismatches between read and reference in the left and right flanks. Extension inputs
    (reversed for the left side): the read before/after the seed, the reference before/after
    the seed with ``ext_pad`` extra bases; the offsets arrays (prefix sums) are precomputed.
    """
    n = occ_read.shape[0]
    half = max_seed // 2
    for i in prange(n):
        r = occ_read[i]
        rs = read_offsets[r]
        rlen = read_offsets[r + 1] - rs
        rev = occ_reverse[i]
        if rev:
            qs = rlen - occ_qe[i]
            qe = rlen - occ_qs[i]
        else:
            qs = occ_qs[i]
            qe = occ_qe[i]
        slen = qe - qs
        c0 = contig_offsets[occ_contig[i]]
        c1 = contig_offsets[occ_contig[i] + 1]
        g = c0 + occ_pos[i]  # seed start in ref_codes
        for j in range(width):
            qwin[i, j] = PAD
            rwin[i, j] = PAD
        # left flank
        mm_l = 0
        for j in range(flank):
            qj = qs - flank + j
            gj = g - flank + j
            qc = PAD
            rc = PAD
            if qj >= 0:
                qc = _oriented(read_codes, rs, rlen, rev, qj)
            if gj >= c0:
                rc = ref_codes[gj]
            qwin[i, j] = qc
            rwin[i, j] = rc
            if qc != PAD and rc != PAD and qc != rc:
                mm_l += 1
        # seed
        w = flank
        if slen <= max_seed:
            for j in range(slen):
                qwin[i, w + j] = _oriented(read_codes, rs, rlen, rev, qs + j)
                rwin[i, w + j] = ref_codes[g + j]
            w += slen
        else:
            for j in range(half):
                qwin[i, w + j] = _oriented(read_codes, rs, rlen, rev, qs + j)
                rwin[i, w + j] = ref_codes[g + j]
            for j in range(half):
                qwin[i, w + half + j] = _oriented(read_codes, rs, rlen, rev, qe - half + j)
                rwin[i, w + half + j] = ref_codes[g + slen - half + j]
            w += 2 * half
        # right flank
        mm_r = 0
        for j in range(flank):
            qj = qe + j
            gj = g + slen + j
            qc = PAD
            rc = PAD
            if qj < rlen:
                qc = _oriented(read_codes, rs, rlen, rev, qj)
            if gj < c1:
                rc = ref_codes[gj]
            if w + j < width:
                qwin[i, w + j] = qc
                rwin[i, w + j] = rc
            if qc != PAD and rc != PAD and qc != rc:
                mm_r += 1
        flank_mm[i, 0] = mm_l
        flank_mm[i, 1] = mm_r
        # extension inputs: left side reversed (anchored at the seed start)
        o = left_q_off[i]
        for j in range(qs):
            left_q[o + j] = _oriented(read_codes, rs, rlen, rev, qs - 1 - j)
        o = left_t_off[i]
        nt = left_t_off[i + 1] - o
        for j in range(nt):
            left_t[o + j] = ref_codes[g - 1 - j]
        o = right_q_off[i]
        for j in range(rlen - qe):
            right_q[o + j] = _oriented(read_codes, rs, rlen, rev, qe + j)
        o = right_t_off[i]
        nt = right_t_off[i + 1] - o
        for j in range(nt):
            right_t[o + j] = ref_codes[g + slen + j]


@njit(cache=True, parallel=True)
def one_hot(qwin, rwin, out):
    """uint8 windows (B, W) x2 -> float32 one-hot ``out`` (B, 2, W, 4); N/pad is all zeros."""
    n, w = qwin.shape
    for i in prange(n):
        for j in range(w):
            for c in range(4):
                out[i, 0, j, c] = 0.0
                out[i, 1, j, c] = 0.0
            a = qwin[i, j]
            if a < 4:
                out[i, 0, j, a] = 1.0
            b = rwin[i, j]
            if b < 4:
                out[i, 1, j, b] = 1.0
