"""numba loops of the exact k-mer read classifier (see :mod:`biometal.ml.kmer_classify`).

Private to :mod:`biometal.ml.kmer_classify`; one call graph in this file (numba's cache is
invalidated per source file). k-mers are 2-bit packed (A0 C1 G2 T3, first base in the high
bits) and canonical (the smaller of the k-mer and its reverse complement); a base coded 4
(N or other) breaks the k-mer run.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, nogil=True)
def canonical_kmers(codes, offsets, k):  # pragma: no cover - compiled by numba
    """uint64 canonical k-mers of every sequence (concatenated, in order; N-free only)."""
    total = 0
    for r in range(offsets.shape[0] - 1):
        n = offsets[r + 1] - offsets[r] - k + 1
        if n > 0:
            total += n
    out = np.empty(total, np.uint64)
    mask = np.uint64((1 << (2 * k)) - 1)
    shift = np.uint64(2 * (k - 1))
    m = 0
    for r in range(offsets.shape[0] - 1):
        fwd = np.uint64(0)
        rev = np.uint64(0)
        run = 0
        for p in range(offsets[r], offsets[r + 1]):
            c = codes[p]
            if c > 3:
                run = 0
                fwd = np.uint64(0)
                rev = np.uint64(0)
                continue
            fwd = ((fwd << np.uint64(2)) | np.uint64(c)) & mask
            rev = (rev >> np.uint64(2)) | (np.uint64(3 - c) << shift)
            run += 1
            if run >= k:
                out[m] = fwd if fwd < rev else rev
                m += 1
    return out[:m]


@njit(parallel=True, cache=True, nogil=True)
def classify_loop(codes, offsets, k, keys, vals, n_classes, min_hits):  # pragma: no cover
    """Per read: (class int32 (-1: unclassified or tied), specific hits int32[n, n_classes],
    shared hits int32, k-mers int32). ``keys`` sorted uint64, ``vals`` int16 (class or -1
    for a k-mer of several classes)."""
    n_reads = offsets.shape[0] - 1
    label = np.full(n_reads, -1, np.int32)
    hits = np.zeros((n_reads, n_classes), np.int32)
    shared = np.zeros(n_reads, np.int32)
    n_kmers = np.zeros(n_reads, np.int32)
    mask = np.uint64((1 << (2 * k)) - 1)
    shift = np.uint64(2 * (k - 1))
    n_keys = keys.shape[0]
    for r in prange(n_reads):
        fwd = np.uint64(0)
        rev = np.uint64(0)
        run = 0
        for p in range(offsets[r], offsets[r + 1]):
            c = codes[p]
            if c > 3:
                run = 0
                fwd = np.uint64(0)
                rev = np.uint64(0)
                continue
            fwd = ((fwd << np.uint64(2)) | np.uint64(c)) & mask
            rev = (rev >> np.uint64(2)) | (np.uint64(3 - c) << shift)
            run += 1
            if run < k:
                continue
            key = fwd if fwd < rev else rev
            n_kmers[r] += 1
            lo = 0
            hi = n_keys
            while lo < hi:
                mid = (lo + hi) >> 1
                if keys[mid] < key:
                    lo = mid + 1
                else:
                    hi = mid
            if lo < n_keys and keys[lo] == key:
                v = vals[lo]
                if v < 0:
                    shared[r] += 1
                else:
                    hits[r, v] += 1
        best = -1
        best_hits = 0
        tied = False
        for g in range(n_classes):
            h = hits[r, g]
            if h > best_hits:
                best = g
                best_hits = h
                tied = False
            elif h == best_hits and h > 0:
                tied = True
        if best >= 0 and not tied and best_hits >= min_hits:
            label[r] = best
    return label, hits, shared, n_kmers
