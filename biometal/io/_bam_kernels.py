"""numba loops of the BAM record reader (imported lazily: numba is slow to load).

A BAM record (SAM/BAM specification 4.2) is ``block_size`` (int32) followed by a fixed
32-byte core (refID, pos, l_read_name, mapq, bin, n_cigar_op, flag, l_seq, next_refID,
next_pos, tlen), the read name, the CIGAR (uint32 per op: length << 4 | op), the 4-bit
packed sequence, the qualities and the tags. :func:`parse_records` indexes the complete
records of a buffer without copying them: the kernels read CIGAR, bases and qualities
straight from the decompressed bytes through the offsets recorded here.
"""

from __future__ import annotations

import numpy as np

from biometal.kernels.jit import BYTES, njit, signature

# Status codes of parse_records (the Python side turns them into one-line errors).
OK = 0
BAD_BLOCK_SIZE = 1
BAD_LAYOUT = 2
UNSORTED = 3
BAD_REF_ID = 4

#: Columns of the record index table (int64[n, N_FIELDS]).
F_OFFSET, F_TID, F_POS, F_END, F_FLAG, F_MAPQ, F_CIGAR, F_NCIGAR, F_SEQ, F_QUAL, F_LSEQ = range(11)
N_FIELDS = 11


@njit(cache=True, nogil=True, inline="always")
def _i32(buf, p):  # pragma: no cover - compiled
    v = np.int64(buf[p]) | (np.int64(buf[p + 1]) << 8) | (np.int64(buf[p + 2]) << 16)
    v |= np.int64(buf[p + 3]) << 24
    if v >= 2147483648:
        v -= 4294967296
    return v


@njit(cache=True, nogil=True, inline="always")
def _u32(buf, p):  # pragma: no cover - compiled
    v = np.int64(buf[p]) | (np.int64(buf[p + 1]) << 8) | (np.int64(buf[p + 2]) << 16)
    return v | (np.int64(buf[p + 3]) << 24)


@njit(
    cache=True,
    nogil=True,
    aot=signature("UniTuple(int64, 5)", BYTES, "int64", "int64", "int64", "int64", "int64[:, ::1]"),
)
def parse_records(buf, start, n_ref, last_tid, last_pos, out):  # pragma: no cover - compiled
    """Index the complete BAM records in ``buf[start:]``.

    ``out`` int64[max_records, N_FIELDS] receives one row per record: byte offset of the
    record's core (after block_size), refID, pos, end (pos + reference length of the
    CIGAR), flag, mapq, byte offsets of CIGAR / sequence / qualities, n_cigar, l_seq.
    ``last_tid``/``last_pos`` are the previous record's coordinates (-2, -1 before the
    first record), to check the sort order across calls: (refID, pos) must not decrease and
    unplaced reads (refID -1) come after every placed one.

    Returns (n_records, next_offset, status, last_tid, last_pos): status 0 (OK) when every
    complete record was indexed (next_offset is where the first incomplete one starts);
    otherwise an error code, ``n_records`` being the index of the bad record and
    ``next_offset`` its byte offset.
    """
    p = start
    n = 0
    size = buf.shape[0]
    max_n = out.shape[0]
    while n < max_n and p + 4 <= size:
        bs = _i32(buf, p)
        if bs < 32:
            return n, p, BAD_BLOCK_SIZE, last_tid, last_pos
        if p + 4 + bs > size:
            break
        r = p + 4
        tid = _i32(buf, r)
        pos = _i32(buf, r + 4)
        l_name = np.int64(buf[r + 8])
        mapq = np.int64(buf[r + 9])
        n_cigar = np.int64(buf[r + 12]) | (np.int64(buf[r + 13]) << 8)
        flag = np.int64(buf[r + 14]) | (np.int64(buf[r + 15]) << 8)
        l_seq = _i32(buf, r + 16)
        cig = r + 32 + l_name
        seq = cig + 4 * n_cigar
        qual = seq + (l_seq + 1) // 2
        if l_name < 1 or l_seq < 0 or qual + l_seq > r + bs:
            return n, p, BAD_LAYOUT, last_tid, last_pos
        if tid < -1 or tid >= n_ref:
            return n, p, BAD_REF_ID, last_tid, last_pos
        # sort order: (tid, pos) non-decreasing; unplaced reads (refID -1) after all others
        if tid == -1:
            last_tid = -1
        else:
            if last_tid == -1:
                return n, p, UNSORTED, last_tid, last_pos
            if tid < last_tid or (tid == last_tid and pos < last_pos):
                return n, p, UNSORTED, last_tid, last_pos
            last_tid = tid
            last_pos = pos
        rlen = 0
        for k in range(n_cigar):
            c = _u32(buf, cig + 4 * k)
            op = c & 0xF
            if op == 0 or op == 2 or op == 3 or op == 7 or op == 8:
                rlen += c >> 4
        out[n, 0] = r
        out[n, 1] = tid
        out[n, 2] = pos
        out[n, 3] = pos + rlen
        out[n, 4] = flag
        out[n, 5] = mapq
        out[n, 6] = cig
        out[n, 7] = n_cigar
        out[n, 8] = seq
        out[n, 9] = qual
        out[n, 10] = l_seq
        n += 1
        p = r + bs
    return n, p, OK, last_tid, last_pos


#: BAM 4-bit base codes -> letters (SAM/BAM specification 4.2.3)
NT16_LETTERS = np.frombuffer(b"=ACMGRSVTWYHKDBN", dtype=np.uint8).copy()


@njit(
    cache=True,
    nogil=True,
    aot=signature(
        "none",
        BYTES,
        "int64[:, ::1]",
        "int64[::1]",
        "int64[::1]",
        "int64[::1]",
        "int64[::1]",
        "int64[::1]",
        "uint8[::1]",
        "uint8[::1]",
        "int64",
    ),
)
def gather_reads(
    buf, table, rows, cig_off, seq_off, cig_op, cig_len, seq, qual, missing_qual
):  # pragma: no cover - compiled
    """Copy the CIGAR, bases and qualities of the records ``table[rows]`` of ``buf`` into
    flat arrays: record ``i``'s ops at ``cig_off[i]:cig_off[i + 1]`` (``cig_op``,
    ``cig_len``), its bases as letters and its qualities (phred, not +33) at
    ``seq_off[i]:seq_off[i + 1]``; a record whose qualities are absent (first byte 0xFF,
    as pysam's ``query_qualities`` is None) gets ``missing_qual`` for every base."""
    for i in range(rows.shape[0]):
        r = rows[i]
        c = table[r, F_CIGAR]
        o = cig_off[i]
        for k in range(table[r, F_NCIGAR]):
            v = _u32(buf, c + 4 * k)
            cig_op[o + k] = v & 0xF
            cig_len[o + k] = v >> 4
        s = table[r, F_SEQ]
        q = table[r, F_QUAL]
        o = seq_off[i]
        n = table[r, F_LSEQ]
        for k in range(n):
            b = np.int64(buf[s + (k >> 1)])
            seq[o + k] = NT16_LETTERS[(b >> 4) if (k & 1) == 0 else (b & 0xF)]
        if n and buf[q] == 0xFF:
            for k in range(n):
                qual[o + k] = missing_qual
        else:
            for k in range(n):
                qual[o + k] = buf[q + k]
