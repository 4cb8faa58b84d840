"""numba loops for the FASTQ block parser and writer (imported lazily: numba is slow to load).

Both are plain byte copies through a lookup table; numpy would need an index array as long
as the data (8 bytes per base), these touch each byte once. The reader's kernels are also
built ahead of time (``aot=``, :mod:`biometal.kernels.jit`), so that a short job that reads
FASTQ (``biometal quant`` on one sample) need not import numba.
"""

from __future__ import annotations

import numpy as np

from biometal.kernels.jit import BYTES, njit, signature

# the block text: a writable array (the reader's own buffer) or a read-only view of bytes
_BUFS = ("uint8[::1]", BYTES)


@njit(
    cache=True,
    nogil=True,
    aot=tuple(
        signature("int64", b, "int64[::1]", "int64[::1]", "int64[::1]", BYTES, "uint8[::1]",
                  "uint8[::1]", "int64")
        for b in _BUFS
    ),
)  # fmt: skip
def fill_chunk(buf, seq_start, qual_start, lengths, lut, codes, qual, pos):  # pragma: no cover
    """Copy reads out of one text block into chunk arrays.

    buf uint8[block] (FASTQ text), seq_start/qual_start/lengths int64[n] (byte offsets in
    ``buf`` of each read's sequence and quality line, and its length), lut uint8[256]
    (byte -> nucleotide code). Writes codes[pos:pos+sum(lengths)] and qual (Phred, byte-33)
    and returns the new end position.
    """
    for i in range(seq_start.shape[0]):
        # unsigned indexes (numba checks a signed one for a negative value to wrap around,
        # which keeps LLVM from vectorising) and two loops, the quality one a plain
        # vectorised subtract: 5-7x faster than one signed loop (bench/fastq_reader.py)
        s = np.uint64(seq_start[i])
        q = np.uint64(qual_start[i])
        p = np.uint64(pos)
        n = np.uint64(lengths[i])
        for j in range(n):
            codes[p + j] = lut[buf[s + j]]
        for j in range(n):
            qual[p + j] = buf[q + j] - np.uint8(33)
        pos += lengths[i]
    return pos


@njit(
    cache=True,
    nogil=True,
    aot=tuple(
        signature("int64", b, "int64[::1]", "int64[::1]", BYTES, "uint8[::1]", "int64")
        for b in _BUFS
    ),
)
def fill_codes(buf, seq_start, lengths, lut, codes, pos):  # pragma: no cover
    """:func:`fill_chunk` without the qualities: codes[pos:pos+sum(lengths)] only."""
    for i in range(seq_start.shape[0]):
        s = np.uint64(seq_start[i])
        p = np.uint64(pos)
        for j in range(np.uint64(lengths[i])):
            codes[p + j] = lut[buf[s + j]]
        pos += lengths[i]
    return pos


@njit(cache=True, nogil=True)
def format_fastq(codes, qual, offsets, names, name_offsets, alphabet, out):  # pragma: no cover
    """FASTQ text of one chunk into ``out`` (uint8, large enough); returns bytes written.

    codes/qual uint8[n_bases], offsets int64[n+1], names uint8 (headers without '@',
    concatenated) with name_offsets int64[n+1], alphabet uint8[256] (code -> letter).
    Phred values above 93 are written as 93 ('~').
    """
    p = 0
    for i in range(offsets.shape[0] - 1):
        out[p] = 64
        p += 1
        for j in range(name_offsets[i], name_offsets[i + 1]):
            out[p] = names[j]
            p += 1
        out[p] = 10
        p += 1
        for j in range(offsets[i], offsets[i + 1]):
            out[p] = alphabet[codes[j]]
            p += 1
        out[p] = 10
        out[p + 1] = 43
        out[p + 2] = 10
        p += 3
        for j in range(offsets[i], offsets[i + 1]):
            v = qual[j]
            if v > 93:
                v = 93
            out[p] = v + 33
            p += 1
        out[p] = 10
        p += 1
    return p


_FNV_OFFSET = 14695981039346656037
_FNV_PRIME = 1099511628211


@njit(
    cache=True,
    nogil=True,
    aot=tuple(
        signature("none", b, "int64[::1]", "int64[::1]", "uint64[::1]", "int64") for b in _BUFS
    ),
)
def mate_id_hashes(buf, head_start, head_end, out, pos):  # pragma: no cover
    """64-bit FNV-1a hashes of the read IDs of FASTQ headers, as aligners compare mates.

    buf uint8[block] (FASTQ text), head_start/head_end int64[n] (offset of each header
    line's ``@`` and of its end). The ID is the header after ``@`` up to the first space or
    tab, without a trailing ``/1`` or ``/2``. Writes out[pos:pos+n] (uint64).
    """
    one = np.uint64(1)
    two = np.uint64(2)
    for i in range(head_start.shape[0]):
        # unsigned indexes: no negative-index wraparound check per byte (1.8x faster)
        s = np.uint64(head_start[i] + 1)
        e = np.uint64(head_end[i])
        j = s
        while j < e and buf[j] != 32 and buf[j] != 9:
            j += one
        if j - s >= two and buf[j - two] == 47 and (buf[j - one] == 49 or buf[j - one] == 50):
            j -= two
        h = np.uint64(_FNV_OFFSET)
        for t in range(s, j):
            h = (h ^ np.uint64(buf[t])) * np.uint64(_FNV_PRIME)
        out[np.uint64(pos + i)] = h
