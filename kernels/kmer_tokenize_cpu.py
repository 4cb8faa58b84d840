"""CPU twin of kmer_tokenize.metal (numba): overlapping k-mer tokens of one chunk of reads.

One ``prange`` iteration per read mirrors the Metal grid (one thread per read); the outputs
are the Metal kernel's, bit for bit (integers only). See kmer_tokenize.metal for the layout
and conventions.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(parallel=True, cache=True, nogil=True)
def kmer_tokenize_cpu(
    codes, qual, offsets, lut, rc, k, stride, max_length, add_special, mask_below, special
):  # pragma: no cover - compiled by numba
    """k-mer token ids of every read.

    codes/qual uint8[n_bases], offsets int64[n_reads+1], lut int32[4^k] (k-mer index ->
    token id), rc uint8[n_reads] (1: reverse complement), k/stride/max_length int,
    add_special bool-like int, mask_below int (k-mers with min quality below it become
    [MASK]; 0 = off), special int32[5] = pad, unk, cls, sep, mask ids.

    Returns (ids int32[n_reads, max_length], n_tokens uint32[n_reads],
    min_qual uint8[n_reads, max_length]).
    """
    n_reads = offsets.shape[0] - 1
    ids = np.empty((n_reads, max_length), dtype=np.int32)
    n_tokens = np.empty(n_reads, dtype=np.uint32)
    min_qual = np.empty((n_reads, max_length), dtype=np.uint8)
    pad_id, unk_id, cls_id, sep_id, mask_id = (
        special[0],
        special[1],
        special[2],
        special[3],
        special[4],
    )
    room = max_length - (2 if add_special else 0)
    for r in prange(n_reads):
        start = offsets[r]
        length = offsets[r + 1] - start
        reverse = rc[r] != 0
        n_kmers = (length - k) // stride + 1 if length >= k else 0
        if n_kmers > room:
            n_kmers = room
        t = 0
        if add_special:
            ids[r, 0] = cls_id
            min_qual[r, 0] = 255
            t = 1
        for j in range(n_kmers):
            p0 = j * stride
            index = 0
            unknown = False
            lowest = 255
            for b in range(k):
                p = p0 + b
                src = start + length - 1 - p if reverse else start + p
                c = np.int64(codes[src])
                if c >= 4:
                    unknown = True
                elif reverse:
                    c = 3 - c
                index = (index << 2) | (c & 3)
                q = np.int64(qual[src])
                if q < lowest:
                    lowest = q
            tok = unk_id if unknown else lut[index]
            if lowest < mask_below:
                tok = mask_id
            ids[r, t] = tok
            min_qual[r, t] = lowest
            t += 1
        if add_special:
            ids[r, t] = sep_id
            min_qual[r, t] = 255
            t += 1
        n_tokens[r] = t
        for i in range(t, max_length):
            ids[r, i] = pad_id
            min_qual[r, i] = 255
    return ids, n_tokens, min_qual
