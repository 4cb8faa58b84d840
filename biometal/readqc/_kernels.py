"""Compiled loops of :mod:`biometal.readqc` (CPU only, numba): per-base covariates of reads
and the aligned bases of a batch of BAM records. Private to the package."""

from __future__ import annotations

from numba import njit, prange


@njit(parallel=True, cache=True)
def base_features(codes, quals, offsets, ctx, out_q, out_cycle, out_context, out_len):
    """Covariates of every base of reads stored flat (``codes[offsets[i]:offsets[i+1]]``).

    ``out_context[k, ctx + d]`` is the base ``d`` cycles from base ``k`` in the same read
    (4 beyond the read ends). Bases in sequencing order; outputs have ``offsets[-1]`` rows.
    """
    n = offsets.size - 1
    width = 2 * ctx + 1
    base0 = offsets[0]
    for i in prange(n):
        a = offsets[i]
        b = offsets[i + 1]
        length = b - a
        for j in range(length):
            k = a + j - base0
            c = codes[a + j]
            out_q[k] = quals[a + j]
            out_cycle[k] = j
            out_len[k] = length
            for w in range(width):
                jj = j + w - ctx
                if jj < 0 or jj >= length:
                    out_context[k, w] = 4
                else:
                    cc = codes[a + jj]
                    out_context[k, w] = cc if cc < 4 else 4
            if c > 4:
                out_context[k, ctx] = 4


@njit(cache=True)
def aligned_positions(cig_ops, cig_lens, cig_off, ref_start, out_read, out_qpos, out_rpos):
    """Query and reference positions of every M/=/X base of a batch of records.

    ``cig_ops``/``cig_lens``: CIGAR operations of all records, record ``i`` at
    ``cig_off[i]:cig_off[i+1]`` (BAM codes: M0 I1 D2 N3 S4 H5 P6 =7 X8). ``qpos`` counts
    bases of the stored query sequence (soft clips included, hard clips not). Returns the
    number of positions written.
    """
    m = 0
    for i in range(cig_off.size - 1):
        q = 0
        r = ref_start[i]
        for k in range(cig_off[i], cig_off[i + 1]):
            op = cig_ops[k]
            ln = cig_lens[k]
            if op == 0 or op == 7 or op == 8:
                for t in range(ln):
                    out_read[m] = i
                    out_qpos[m] = q + t
                    out_rpos[m] = r + t
                    m += 1
                q += ln
                r += ln
            elif op == 1 or op == 4:
                q += ln
            elif op == 2 or op == 3:
                r += ln
    return m


@njit(parallel=True, cache=True)
def table_lookup(quality, mate, cycle, context, ctx, table, out):
    """``out[k] = table[q, mate, cycle, dinucleotide]`` for every base ``k``.

    ``table``: float32 [Q, 2, C + 1, 17]; a quality above ``Q - 1`` is ``Q - 1``, a
    cycle outside ``0..C-1`` uses index ``C``; the dinucleotide is ``4 * previous + base``
    (``context[k, ctx - 1]``, ``context[k, ctx]``), 16 when either is 4 or more.
    """
    nq = table.shape[0]
    nc = table.shape[2] - 1
    for k in prange(quality.size):
        q = quality[k]
        if q >= nq:
            q = nq - 1
        m = 1 if mate[k] > 0 else 0
        c = cycle[k]
        if c < 0 or c >= nc:
            c = nc
        a = context[k, ctx - 1]
        b = context[k, ctx]
        d = 16 if a >= 4 or b >= 4 else 4 * a + b
        out[k] = table[q, m, c, d]
