"""numba loops of the quality-aware tokenization (see :mod:`biometal.ml.quality`).

Private to :mod:`biometal.ml`; each loop is one numba function (no calls into compiled code of
another file: numba's cache is invalidated per source file).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(parallel=True, cache=True, nogil=True)
def token_weight_loop(
    qual, offsets, rc, k, stride, max_length, add_special, log_correct
):  # pragma: no cover - compiled by numba
    n_reads = offsets.shape[0] - 1
    out = np.zeros((n_reads, max_length), dtype=np.float32)
    room = max_length - (2 if add_special else 0)
    first = 1 if add_special else 0
    for r in prange(n_reads):
        start = offsets[r]
        length = offsets[r + 1] - start
        n_kmers = (length - k) // stride + 1 if length >= k else 0
        if n_kmers > room:
            n_kmers = room
        if add_special:
            out[r, 0] = 1.0
            out[r, n_kmers + 1] = 1.0
        for j in range(n_kmers):
            s = 0.0
            for b in range(k):
                p = j * stride + b
                src = start + length - 1 - p if rc[r] != 0 else start + p
                s += log_correct[qual[src]]
            out[r, first + j] = np.float32(np.exp(s))
    return out


@njit(parallel=True, cache=True, nogil=True)
def candidate_loop(
    codes, qual, offsets, rc, lut, ids, k, stride, add_special, threshold, top, err
):  # pragma: no cover - compiled by numba
    n_reads, max_length = ids.shape
    cand = np.empty((n_reads, max_length, top), dtype=np.int32)
    prob = np.zeros((n_reads, max_length, top), dtype=np.float32)
    room = max_length - (2 if add_special else 0)
    first = 1 if add_special else 0
    for r in prange(n_reads):
        for t in range(max_length):
            cand[r, t, 0] = ids[r, t]
            prob[r, t, 0] = 1.0
            for m in range(1, top):
                cand[r, t, m] = ids[r, t]
        start = offsets[r]
        length = offsets[r + 1] - start
        n_kmers = (length - k) // stride + 1 if length >= k else 0
        if n_kmers > room:
            n_kmers = room
        beam_i = np.zeros(top, np.int64)
        beam_p = np.zeros(top, np.float64)
        new_i = np.zeros(4 * top, np.int64)
        new_p = np.zeros(4 * top, np.float64)
        base_p = np.zeros(4, np.float64)
        for j in range(n_kmers):
            low = False
            for b in range(k):
                p = j * stride + b
                src = start + length - 1 - p if rc[r] != 0 else start + p
                if qual[src] < threshold:
                    low = True
            if not low:
                continue
            n_beam = 1
            beam_i[0] = 0
            beam_p[0] = 1.0
            for b in range(k):
                p = j * stride + b
                src = start + length - 1 - p if rc[r] != 0 else start + p
                c = np.int64(codes[src])
                if c < 4 and rc[r] != 0:
                    c = 3 - c
                e = err[qual[src]]
                for x in range(4):
                    if c >= 4:
                        base_p[x] = 0.25
                    elif x == c:
                        base_p[x] = 1.0 - e
                    else:
                        base_p[x] = e / 3.0
                n_new = 0
                for i in range(n_beam):
                    for x in range(4):
                        new_i[n_new] = (beam_i[i] << 2) | x
                        new_p[n_new] = beam_p[i] * base_p[x]
                        n_new += 1
                # keep the `top` best (ties: smaller k-mer index first)
                n_beam = min(top, n_new)
                for m in range(n_beam):
                    best = m
                    for i in range(m + 1, n_new):
                        if new_p[i] > new_p[best] or (
                            new_p[i] == new_p[best] and new_i[i] < new_i[best]
                        ):
                            best = i
                    tmp_i = new_i[m]
                    tmp_p = new_p[m]
                    new_i[m] = new_i[best]
                    new_p[m] = new_p[best]
                    new_i[best] = tmp_i
                    new_p[best] = tmp_p
                    beam_i[m] = new_i[m]
                    beam_p[m] = new_p[m]
            total = 0.0
            for m in range(n_beam):
                total += beam_p[m]
            t = first + j
            for m in range(top):
                if m < n_beam and total > 0.0:
                    cand[r, t, m] = lut[beam_i[m]]
                    prob[r, t, m] = np.float32(beam_p[m] / total)
                else:
                    cand[r, t, m] = cand[r, t, 0]
                    prob[r, t, m] = 0.0
    return cand, prob
