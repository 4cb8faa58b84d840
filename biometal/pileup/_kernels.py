"""numba host loops of the pileup: indel events and TSV formatting (imported lazily)."""

from __future__ import annotations

import numpy as np

from biometal.io._bam_kernels import NT16_LETTERS as _NT16_LETTER
from biometal.kernels.jit import BYTES, njit, prange, signature


@njit(cache=True, nogil=True, inline="always")
def _u32(buf, off):  # pragma: no cover - compiled
    return (
        np.int64(buf[off])
        | (np.int64(buf[off + 1]) << 8)
        | (np.int64(buf[off + 2]) << 16)
        | (np.int64(buf[off + 3]) << 24)
    )


# A private copy of ``next_indel`` of kernels/pileup_cpu.py, not an import of it: the CPU twin
# of pileup.metal must keep its own (kernels/ does not import biometal), and a numba call graph
# stays in one file (numba caches per source file, so calling the compiled function of
# another file could keep a stale copy here after an edit there). Keep the two identical;
# tests/kernels/test_pileup.py checks that they agree.
@njit(cache=True, nogil=True)
def next_indel(buf, cig, k, n_cigar, op):  # pragma: no cover - compiled
    """htslib's look-ahead after operation k: +len insertion, -len deletion, 0 none."""
    if k + 1 >= n_cigar:
        return 0
    c2 = _u32(buf, cig + 4 * (k + 1))
    op2 = c2 & 15
    l2 = np.int64(c2 >> 4)
    if op2 == 2 and op != 2:
        total = l2
        for j in range(k + 2, n_cigar):
            c = _u32(buf, cig + 4 * j)
            if c & 15 != 2:
                break
            total += c >> 4
        return -total
    if op2 == 1:
        total = l2
        for j in range(k + 2, n_cigar):
            c = _u32(buf, cig + 4 * j)
            o = c & 15
            if o == 1:
                total += c >> 4
            elif o != 6:
                break
        return total
    if op2 == 6 and k + 2 < n_cigar:
        total = np.int64(0)
        for j in range(k + 2, n_cigar):
            c = _u32(buf, cig + 4 * j)
            o = c & 15
            if o == 1:
                total += c >> 4
            elif o == 0 or o == 2 or o == 3 or o == 7 or o == 8:
                break
        return total
    return 0


@njit(cache=True, nogil=True)
def _base(buf, seq, q):  # pragma: no cover - compiled
    packed = np.int64(buf[seq + (q >> 1)])
    return (packed & 15) if (q & 1) else (packed >> 4)


@njit(
    cache=True,
    nogil=True,
    aot=signature(
        "UniTuple(int64, 2)",
        BYTES,
        "uint32[:, ::1]",
        "int64",
        "int64",
        "int64[::1]",
        "int64[::1]",
        "uint8[::1]",
        "int64[::1]",
        "uint8[::1]",
    ),
)
def indel_events(buf, reads, acc_len, min_bq, ev_pos, ev_len, ev_rev, ev_seq_off, seq_blob):  # noqa: E501  # pragma: no cover
    """Insertions and deletions shown by ``reads`` (the pileup kernel's read table).

    An event is reported where the kernel counts one (column ins / delstart): on the entry
    of the last reference position before the indel, when that entry passes ``min_bq``.
    Writes, per event: ev_pos (rel. position of that entry), ev_len (+inserted length or
    -deleted length), ev_rev (strand), ev_seq_off (start of the inserted bases, as letters,
    in ``seq_blob``; -1 for deletions). Returns (n_events, blob bytes used), or (-1, 0)
    when the output arrays are too small.
    """
    n_ev = 0
    n_blob = 0
    max_ev = ev_pos.shape[0]
    max_blob = seq_blob.shape[0]
    for r in range(reads.shape[0]):
        cig = np.int64(reads[r, 2])
        n_cigar = np.int64(reads[r, 3])
        seq = np.int64(reads[r, 4])
        qual = np.int64(reads[r, 5])
        l_seq = np.int64(reads[r, 6])
        rev = reads[r, 7]
        rpos = np.int64(reads[r, 0])
        qpos = np.int64(0)
        for k in range(n_cigar):
            c = _u32(buf, cig + 4 * k)
            op = c & 15
            ln = c >> 4
            if op == 0 or op == 7 or op == 8 or op == 2 or op == 3:
                is_match = op == 0 or op == 7 or op == 8
                last_q = qpos + ln - 1 if is_match else qpos
                entry_q = last_q
                bq = np.int64(buf[qual + entry_q]) if entry_q < l_seq else 0
                p = rpos + ln - 1
                if bq >= min_bq and p < acc_len and ln > 0:
                    indel = next_indel(buf, cig, k, n_cigar, op)
                    if indel != 0:
                        if n_ev >= max_ev:
                            return -1, 0
                        ev_pos[n_ev] = p
                        ev_len[n_ev] = indel
                        ev_rev[n_ev] = rev
                        ev_seq_off[n_ev] = -1
                        if indel > 0:
                            if n_blob + indel > max_blob:
                                return -1, 0
                            ev_seq_off[n_ev] = n_blob
                            # inserted bases follow the entry's query position (after a
                            # D/N, whose entry has no base, they start at qpos itself)
                            q0 = last_q + 1 if is_match else qpos
                            for j in range(indel):
                                q = q0 + j
                                seq_blob[n_blob] = (
                                    _NT16_LETTER[_base(buf, seq, q)] if q < l_seq else 78
                                )
                                n_blob += 1
                        n_ev += 1
                rpos += ln
                if is_match:
                    qpos += ln
            elif op == 1 or op == 4:
                qpos += ln
    return n_ev, n_blob


# The formatting kernels index their arrays through np.uint64(...) in the per-row code:
# numba checks every signed index for a negative value to wrap around, an unsigned one
# not; format_rows took 34% less time so (same text; bench: a dense 30x BAM's rows).


@njit(cache=True, nogil=True, inline="always")
def _put_int(out, p, v):  # pragma: no cover - compiled
    if v < 10:
        out[np.uint64(p)] = 48 + v
        return p + 1
    if v < 100:
        out[np.uint64(p)] = 48 + v // 10
        out[np.uint64(p + 1)] = 48 + v % 10
        return p + 2
    n = 0
    x = v
    while x > 0:
        n += 1
        x //= 10
    q = p + n - 1
    while v > 0:
        out[np.uint64(q)] = 48 + v % 10
        v //= 10
        q -= 1
    return p + n


@njit(cache=True, nogil=True, inline="always")
def _put_mean(out, p, total, n):  # pragma: no cover - compiled
    """total / n with one decimal, rounded half up (exact integer arithmetic); '.' if n == 0."""
    if n == 0:
        out[np.uint64(p)] = 46
        return p + 1
    tenths = (total * 20 + n) // (2 * n)
    p = _put_int(out, p, tenths // 10)
    out[np.uint64(p)] = 46
    out[np.uint64(p + 1)] = 48 + tenths % 10
    return p + 2


@njit(
    cache=True,
    nogil=True,
    aot=signature(
        "UniTuple(int64, 2)",
        BYTES,
        "int64[::1]",
        "int64[::1]",
        "uint32[:, ::1]",
        BYTES,
        "int64[::1]",
        BYTES,
        "int64[::1]",
        "int64[::1]",
        "int64[::1]",
        "uint8[::1]",
    ),
)
def format_rows(
    chrom, seg_pos, seg_row, counts, ref, indel_row, indel_text, indel_off, zero_from, zero_to, out
):  # pragma: no cover
    """TSV rows of one or more blocks (columns: biometal.pileup.tsv.COLUMNS) into ``out``.

    chrom uint8 (contig name); counts uint32[n, 24] holds the blocks back to back: block
    ``s`` is rows ``seg_row[s]:seg_row[s + 1]`` (int64[k + 1], seg_row[k] == n) and starts at
    0-based position ``seg_pos[s]`` (int64[k]); ref uint8[n] (reference letter of each row);
    the ``indels`` column: rows ``indel_row`` (int64[m], ascending) have the text
    ``indel_text[indel_off[e]:indel_off[e + 1]]``, every other row '.'; a depth-0 row is
    written where its position lies in one of the spans ``[zero_from[z], zero_to[z])``
    (int64[m], sorted by start; the positions reads cover, or everything), else left out.
    Returns (bytes written, rows written); ``out`` must hold the longest
    possible row for every row plus the text (biometal.pileup.tsv._format_run sizes it).
    """
    p = 0
    n_rows = 0
    # the row's start, "chrom<TAB>position", kept from row to row and copied in one loop:
    # consecutive rows add one to the position's digits in place (with carry) instead of
    # converting the number again
    d0 = chrom.shape[0] + 1  # first digit
    pre = np.empty(d0 + 24, np.uint8)
    for j in range(chrom.shape[0]):
        pre[j] = chrom[j]
    pre[d0 - 1] = 9
    n_dig = 0
    last = np.int64(-2)
    e = 0  # next entry of indel_row
    n_text = indel_row.shape[0]
    z = 0  # first span that may hold the next depth-0 row (rows come in position order)
    n_zero = zero_from.shape[0]
    for s in range(seg_pos.shape[0]):
        row_to_pos = seg_pos[s] - seg_row[s] + 1
        for i in range(seg_row[s], seg_row[s + 1]):
            ui = np.uint64(i)
            # counts[i, k], not a row view c = counts[i]: a view is reference-counted (two
            # atomic operations a row); 6% of this function on the sparse shape
            a = np.int64(counts[ui, 0]) + counts[ui, 5]
            cc = np.int64(counts[ui, 1]) + counts[ui, 6]
            g = np.int64(counts[ui, 2]) + counts[ui, 7]
            t = np.int64(counts[ui, 3]) + counts[ui, 8]
            nn = np.int64(counts[ui, 4]) + counts[ui, 9]
            dl = np.int64(counts[ui, 10]) + counts[ui, 11]
            sk = np.int64(counts[ui, 12]) + counts[ui, 13]
            bases = a + cc + g + t + nn
            depth = bases + dl + sk
            if depth == 0:
                at = row_to_pos + i - 1  # 0-based, as the spans
                while z < n_zero and zero_to[z] <= at:
                    z += 1
                if z == n_zero or zero_from[z] > at:
                    continue
            fwd = (
                np.int64(counts[ui, 0])
                + counts[ui, 1]
                + counts[ui, 2]
                + counts[ui, 3]
                + counts[ui, 4]
                + counts[ui, 10]
                + counts[ui, 12]
            )
            pos = row_to_pos + i
            if pos == last + 1:
                k = d0 + n_dig - 1
                while k >= d0 and pre[np.uint64(k)] == 57:
                    pre[np.uint64(k)] = 48
                    k -= 1
                if k >= d0:
                    pre[np.uint64(k)] += 1
                else:  # 99..9 + 1: one more digit
                    for m in range(d0 + n_dig, d0, -1):
                        pre[np.uint64(m)] = pre[np.uint64(m - 1)]
                    pre[np.uint64(d0)] = 49
                    n_dig += 1
            else:
                n_dig = _put_int(pre, d0, pos) - d0
            last = pos
            n_pre = d0 + n_dig
            for j in range(n_pre):
                out[np.uint64(p + j)] = pre[np.uint64(j)]
            p += n_pre
            out[np.uint64(p)] = 9
            out[np.uint64(p + 1)] = ref[ui]
            out[np.uint64(p + 2)] = 9
            p = _put_int(out, p + 3, depth)
            # the columns one by one: a loop over a tuple of them indexes the tuple at run
            # time (a jump table per column)
            out[np.uint64(p)] = 9
            p = _put_int(out, p + 1, a)
            out[np.uint64(p)] = 9
            p = _put_int(out, p + 1, cc)
            out[np.uint64(p)] = 9
            p = _put_int(out, p + 1, g)
            out[np.uint64(p)] = 9
            p = _put_int(out, p + 1, t)
            ins = np.int64(counts[ui, 14]) + counts[ui, 15]
            dst = np.int64(counts[ui, 16]) + counts[ui, 17]
            if (nn | dl | sk | ins | dst) == 0:  # the usual row: five zero columns at once
                for j in range(5):
                    out[np.uint64(p + 2 * j)] = 9
                    out[np.uint64(p + 2 * j + 1)] = 48
                p += 10
            else:
                out[np.uint64(p)] = 9
                p = _put_int(out, p + 1, nn)
                out[np.uint64(p)] = 9
                p = _put_int(out, p + 1, dl)
                out[np.uint64(p)] = 9
                p = _put_int(out, p + 1, sk)
                out[np.uint64(p)] = 9
                p = _put_int(out, p + 1, ins)
                out[np.uint64(p)] = 9
                p = _put_int(out, p + 1, dst)
            out[np.uint64(p)] = 9
            p = _put_int(out, p + 1, fwd)
            out[np.uint64(p)] = 9
            p = _put_int(out, p + 1, depth - fwd)
            out[np.uint64(p)] = 9
            qsum = (
                np.int64(counts[ui, 18])
                + counts[ui, 19]
                + counts[ui, 20]
                + counts[ui, 21]
                + counts[ui, 22]
            )
            p = _put_mean(out, p + 1, qsum, bases)
            out[np.uint64(p)] = 9
            p = _put_mean(out, p + 1, np.int64(counts[ui, 23]), depth)
            out[np.uint64(p)] = 9
            p += 1
            while e < n_text and indel_row[e] < i:
                e += 1
            if e < n_text and indel_row[e] == i:
                for j in range(indel_off[e], indel_off[e + 1]):
                    out[np.uint64(p)] = indel_text[np.uint64(j)]
                    p += 1
            else:
                out[np.uint64(p)] = 46
                p += 1
            out[np.uint64(p)] = 10
            p += 1
            n_rows += 1
    return p, n_rows


@njit(parallel=True, cache=True, nogil=True)
def format_rows_parallel(
    chrom,
    seg_pos,
    seg_row,
    counts,
    ref,
    indel_row,
    indel_text,
    indel_off,
    zero_from,
    zero_to,
    out,
    n_chunks,
    per_row,
):  # pragma: no cover
    """:func:`format_rows` on ``n_chunks`` row ranges at once.

    Chunk ``j`` formats rows ``bounds[j]:bounds[j+1]`` into its own region of ``out``
    (starting at ``region[j]``). Returns (bounds, region, used, rows) per chunk; the
    caller concatenates ``out[region[j] : region[j] + used[j]]``.
    """
    n = counts.shape[0]
    bounds = np.empty(n_chunks + 1, np.int64)
    region = np.empty(n_chunks + 1, np.int64)
    text_at = np.empty(n_chunks + 1, np.int64)  # first indel_row entry of each chunk
    for j in range(n_chunks + 1):
        bounds[j] = (n * j) // n_chunks
        text_at[j] = np.searchsorted(indel_row, bounds[j])
    region[0] = 0
    for j in range(n_chunks):
        text = indel_off[text_at[j + 1]] - indel_off[text_at[j]]
        region[j + 1] = region[j] + (bounds[j + 1] - bounds[j]) * per_row + text
    used = np.zeros(n_chunks, np.int64)
    rows = np.zeros(n_chunks, np.int64)
    for j in prange(n_chunks):
        a = bounds[j]
        b = bounds[j + 1]
        # the blocks that overlap rows [a, b), cut to them
        s0 = np.searchsorted(seg_row, a, side="right") - 1
        s1 = np.searchsorted(seg_row, b, side="left")
        k = s1 - s0
        sp = np.empty(k, np.int64)
        sr = np.empty(k + 1, np.int64)
        for t in range(k):
            r0 = max(seg_row[s0 + t], a)
            sp[t] = seg_pos[s0 + t] + r0 - seg_row[s0 + t]
            sr[t] = r0 - a
        sr[k] = b - a
        e0 = text_at[j]
        e1 = text_at[j + 1]
        u, nr = format_rows(
            chrom,
            sp,
            sr,
            counts[a:b],
            ref[a:b],
            indel_row[e0:e1] - a,
            indel_text,
            indel_off[e0 : e1 + 1],
            zero_from,
            zero_to,
            out[region[j] : region[j + 1]],
        )
        used[j] = u
        rows[j] = nr
    return bounds, region, used, rows


@njit(cache=True, nogil=True, inline="always")
def _u64(buf, off):  # pragma: no cover - compiled
    """Eight bytes from ``off`` (unsigned), little-endian (LLVM makes it one load)."""
    v = np.uint64(0)
    for i in range(8):
        v |= np.uint64(buf[off + np.uint64(i)]) << np.uint64(8 * i)
    return v


@njit(cache=True, nogil=True, aot=signature("int64[::1]", BYTES, "int64[:, ::1]"))
def eq_base_rows(buf, table):  # pragma: no cover - compiled
    """Rows of ``table`` (a BAM index table, columns ``biometal.io._bam_kernels.F_*``)
    whose SEQ has a '=' base: nibble 0, "the reference base" (``samtools calmd -e``
    writes them). One pass over the packed bases; the padding nibble after an odd
    length's last base is not a base."""
    out = np.empty(table.shape[0], np.int64)
    n = 0
    for r in range(table.shape[0]):
        seq = np.uint64(table[r, 8])
        lseq = np.uint64(table[r, 10])
        # eight bytes (16 bases) at a time: a nibble is zero when the OR of its four bits
        # is, and x's lowest bit of each nibble is that OR
        nb = lseq >> np.uint64(1)
        z = np.uint8(0)
        k = np.uint64(0)
        ones = np.uint64(0x1111111111111111)
        while k + np.uint64(8) <= nb:
            w = _u64(buf, seq + k)
            x = w | (w >> np.uint64(1))
            x |= x >> np.uint64(2)
            if (x & ones) != ones:
                z = np.uint8(1)
                break
            k += np.uint64(8)
        while z == 0 and k < nb:
            b = buf[seq + k]
            z = np.uint8((b & np.uint8(0xF0)) == 0) | np.uint8((b & np.uint8(0x0F)) == 0)
            k += np.uint64(1)
        if lseq & np.uint64(1):
            z |= np.uint8((buf[seq + (lseq >> np.uint64(1))] & np.uint8(0xF0)) == 0)
        if z:
            out[n] = r
            n += 1
    return out[:n]


@njit(
    cache=True,
    nogil=True,
    aot=signature("none", "uint8[::1]", "int64[:, ::1]", "int64[::1]", "uint8[::1]", "int64"),
)
def fill_eq_bases(buf, table, rows, ref_nt16, ref_start):  # pragma: no cover - compiled
    """Replace, in place, each '=' base of the records ``rows`` of ``table`` that is aligned
    (CIGAR M / = / X) with the reference base there, as a BAM nibble (``ref_nt16``: the
    reference from position ``ref_start`` on, A 1, C 2, G 4, T 8, others 15). An '=' in
    an insertion or soft clip has no reference base and stays."""
    n_ref = ref_nt16.shape[0]
    for k in range(rows.shape[0]):
        r = rows[k]
        cig = table[r, 6]
        seq = table[r, 8]
        lseq = table[r, 10]
        rpos = table[r, 2]
        qpos = np.int64(0)
        for c in range(table[r, 7]):
            v = _u32(buf, cig + 4 * c)
            op = v & 15
            ln = v >> 4
            if op == 0 or op == 7 or op == 8:
                for i in range(ln):
                    q = qpos + i
                    p = rpos + i - ref_start
                    if q >= lseq:
                        break
                    if p < 0 or p >= n_ref:
                        continue
                    at = seq + (q >> 1)
                    b = buf[at]
                    if q & 1:
                        if b & 15 == 0:
                            buf[at] = b | ref_nt16[p]
                    elif b >> 4 == 0:
                        buf[at] = b | (ref_nt16[p] << 4)
                rpos += ln
                qpos += ln
            elif op == 1 or op == 4:
                qpos += ln
            elif op == 2 or op == 3:
                rpos += ln
