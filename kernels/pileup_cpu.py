"""CPU twin of pileup.metal (numba): per-position pileup counts from BAM records.

The per-read walk (:func:`_add_reads`) is the Metal kernel's, with plain adds instead of
atomics and the match loop split into a bounds-free fast path and the rare tail (bases
beyond the table or beyond SEQ); the entries counted are the same.

Parallelism without atomics or per-thread copies: the reads (sorted by position) are cut
into segments of ``seg_len >= longest read span`` reference positions; a read of segment
``s`` only writes rows ``[start_s, start_s + 2 * seg_len)``, so all even segments can run at
once, then all odd ones. The counts are integer sums, so the result is identical to the
Metal kernel's whatever the order.
"""

from __future__ import annotations

import numpy as np

from .jit import BYTES, njit, prange, signature

NCOL = 24
_NT16_TO_CODE = np.array([4, 0, 1, 4, 2, 4, 4, 4, 3, 4, 4, 4, 4, 4, 4, 4], dtype=np.uint8)


@njit(cache=True, nogil=True, inline="always")
def _u32(buf, off):  # pragma: no cover - compiled
    return (
        np.uint32(buf[off])
        | (np.uint32(buf[off + 1]) << np.uint32(8))
        | (np.uint32(buf[off + 2]) << np.uint32(16))
        | (np.uint32(buf[off + 3]) << np.uint32(24))
    )


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


#: :data:`_NT16_TO_CODE` as sixteen 4-bit fields of one constant: code = field ``nibble``.
_NT16_CODES_PACKED = np.uint64(sum(int(c) << (4 * n) for n, c in enumerate(_NT16_TO_CODE)))


@njit(cache=True, nogil=True, inline="never")
def _count_run(buf, flat, qual, seq, qpos, rpos, s5, n, mapq, min_bq):  # pragma: no cover
    """The entries of ``n`` aligned bases from query ``qpos`` / table row ``rpos`` on: every
    position inside the table, every base inside SEQ (the caller's fast path).

    A function of its own (never inlined) so that its few values stay in registers: inlined
    into the per-read loop, LLVM spilled the base pointers, ``min_bq`` and the strand column
    to the stack and reloaded them for every base (numba's ``inspect_asm`` of the loop: 13
    memory operations a base before, 8 now: the quality and SEQ bytes and three
    read-modify-writes). On the dense 30x BAM's 39 batches, captured from a run of
    ``python -m biometal.pileup`` and replayed by a one-off script (pycc builds of both,
    median of 7), the counting took 0.148 s before and 0.104 s now. The base code comes from
    a constant's 4-bit fields instead of a table load; unsigned indices skip numba's
    negative-index checks."""
    qb = np.uint64(qual)
    sb = np.uint64(seq)
    q0 = np.uint64(qpos)
    r0 = np.uint64(rpos) * np.uint64(NCOL)
    s5u = np.uint64(s5)
    for iu in range(np.uint64(n)):
        i = np.uint64(iu)
        bq = np.uint32(buf[qb + i])
        if bq < min_bq:
            continue
        q = q0 + i
        packed = np.uint64(buf[sb + (q >> np.uint64(1))])
        nib = (packed >> ((np.uint64(1) - (q & np.uint64(1))) << np.uint64(2))) & np.uint64(15)
        base = (_NT16_CODES_PACKED >> (nib << np.uint64(2))) & np.uint64(15)
        row = r0 + i * np.uint64(NCOL)
        flat[row + base + s5u] += np.uint32(1)
        flat[row + np.uint64(18) + base] += bq
        flat[row + np.uint64(23)] += mapq


@njit(cache=True, nogil=True)
def _add_reads(buf, reads, lo, hi, acc, flat, min_bq, lut):  # pragma: no cover - compiled
    """Add reads ``lo:hi`` into ``acc``; ``flat`` is ``acc.reshape(-1)``, made once by the
    caller. One call for a range of reads, not one per read: each call of a compiled
    function takes and drops a reference to each array argument (two atomic operations
    apiece; ~1.5% of a dense pileup as a call per read), and so did a reshape per CIGAR
    operation."""
    acc_len = np.int64(acc.shape[0])
    for r in range(lo, hi):
        cig = np.int64(reads[r, 2])
        n_cigar = np.int64(reads[r, 3])
        seq = np.int64(reads[r, 4])
        qual = np.int64(reads[r, 5])
        l_seq = np.int64(reads[r, 6])
        strand = np.int64(1) if reads[r, 7] != 0 else np.int64(0)
        s5 = 5 * strand
        mapq = reads[r, 8]
        rpos = np.int64(reads[r, 0])
        qpos = np.int64(0)
        for k in range(n_cigar):
            c = _u32(buf, cig + 4 * k)
            op = c & 15
            ln = np.int64(c >> 4)
            if op == 0 or op == 7 or op == 8:
                # fast path: positions inside the table and bases inside SEQ
                n_fast = min(ln, acc_len - rpos, l_seq - qpos)
                if n_fast > 0:
                    _count_run(buf, flat, qual + qpos, seq, qpos, rpos, s5, n_fast, mapq, min_bq)
                # bases beyond SEQ ('*' or a short SEQ): N with quality 0
                for i in range(max(n_fast, 0), ln):
                    p = rpos + i
                    if p >= acc_len:
                        break
                    q = qpos + i
                    bq = np.uint32(buf[qual + q]) if q < l_seq else np.uint32(0)
                    if bq < min_bq:
                        continue
                    base = np.int64(4)
                    if q < l_seq:
                        packed = np.int64(buf[seq + (q >> 1)])
                        base = np.int64(lut[(packed >> (4 * (1 - (q & 1)))) & 15])
                    acc[p, base + s5] += 1
                    acc[p, 18 + base] += bq
                    acc[p, 23] += mapq
                # an indel after the last base is counted on that base's entry
                if ln > 0:
                    p = rpos + ln - 1
                    q = qpos + ln - 1
                    bq = np.uint32(buf[qual + q]) if q < l_seq else np.uint32(0)
                    if bq >= min_bq and p < acc_len:
                        indel = next_indel(buf, cig, k, n_cigar, op)
                        if indel > 0:
                            acc[p, 14 + strand] += 1
                        elif indel < 0:
                            acc[p, 16 + strand] += 1
                rpos += ln
                qpos += ln
            elif op == 2 or op == 3:
                bq = np.uint32(buf[qual + qpos]) if qpos < l_seq else np.uint32(0)
                if bq >= min_bq:
                    col = (10 if op == 2 else 12) + strand
                    for i in range(ln):
                        p = rpos + i
                        if p >= acc_len:
                            break
                        acc[p, col] += 1
                        acc[p, 23] += mapq
                        if i + 1 == ln:
                            indel = next_indel(buf, cig, k, n_cigar, op)
                            if indel > 0:
                                acc[p, 14 + strand] += 1
                            elif indel < 0:
                                acc[p, 16 + strand] += 1
                rpos += ln
            elif op == 1 or op == 4:
                qpos += ln


@njit(parallel=True, cache=True, nogil=True)
def pileup_cpu(buf, reads, acc, min_bq, n_chunks):  # pragma: no cover - compiled
    """Add the pileup of ``reads`` into ``acc`` (uint32[acc_len, 24]), in place.

    buf uint8[] (BAM record bytes), reads uint32[n, 9] sorted by rel_pos (layout of
    pileup.metal), min_bq uint32, n_chunks: segments per parity (about 2x threads).
    """
    n = reads.shape[0]
    if n == 0:
        return
    lut = _NT16_TO_CODE
    min_q = np.uint32(min_bq)
    max_span = np.int64(1)
    for r in range(n):
        span = np.int64(reads[r, 1]) - np.int64(reads[r, 0])
        if span > max_span:
            max_span = span
    first = np.int64(reads[0, 0])
    total = np.int64(reads[n - 1, 0]) - first + 1
    seg_len = max(max_span, (total + n_chunks - 1) // n_chunks)
    n_seg = (total + seg_len - 1) // seg_len
    bounds = np.empty(n_seg + 1, dtype=np.int64)
    bounds[0] = 0
    r = 0
    for s in range(1, n_seg + 1):
        limit = first + s * seg_len
        while r < n and np.int64(reads[r, 0]) < limit:
            r += 1
        bounds[s] = r
    bounds[n_seg] = n
    flat = acc.reshape(-1)
    for parity in range(2):
        n_par = (n_seg - parity + 1) // 2
        for j in prange(n_par):
            s = 2 * j + parity
            _add_reads(buf, reads, bounds[s], bounds[s + 1], acc, flat, min_q, lut)


@njit(
    cache=True,
    nogil=True,
    aot=signature("none", BYTES, "uint32[:, ::1]", "uint32[:, ::1]", "uint32"),
)
def pileup_cpu_serial(buf, reads, acc, min_bq):  # pragma: no cover - compiled
    """:func:`pileup_cpu` on the calling thread alone (same arguments, no n_chunks).

    For one thread: a ``parallel=True`` function starts numba's thread pool when it first
    runs, and its workers spin between calls, which costs a short process more CPU than the
    pileup of a few hundred reads (a sparse BAM's sites) takes.
    """
    lut = _NT16_TO_CODE
    min_q = np.uint32(min_bq)
    flat = acc.reshape(-1)
    _add_reads(buf, reads, 0, reads.shape[0], acc, flat, min_q, lut)
