"""CPU twin of kmer_count.metal (numba): canonical k-mers (k <= 63) of a chunk of reads.

One ``prange`` iteration per read mirrors the Metal grid (one thread per read); the words
written are the Metal kernel's, bit for bit. See kmer_count.metal for the layout.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)


@njit(parallel=True, cache=True, nogil=True)
def kmer_count_cpu(codes, offsets, slots, k, hi, lo):  # pragma: no cover - compiled
    """Fill ``hi``/``lo`` uint64[n_slots] with the canonical k-mer of every k-mer position.

    codes uint8[n_bases], offsets int64[n_reads+1], slots int64[n_reads+1] (first slot of
    each read), k in 1..63. A k-mer with a code >= 4 is written as hi = lo = 2**64 - 1.
    """
    n_reads = offsets.shape[0] - 1
    bits = 2 * k
    mask_lo = _ALL if bits >= 64 else (np.uint64(1) << np.uint64(bits)) - np.uint64(1)
    mask_hi = (np.uint64(1) << np.uint64(bits - 64)) - np.uint64(1) if bits > 64 else np.uint64(0)
    s2 = np.uint64(2)
    s62 = np.uint64(62)
    for r in prange(n_reads):
        start = offsets[r]
        end = offsets[r + 1]
        out = slots[r]
        fh = np.uint64(0)
        fl = np.uint64(0)
        rh = np.uint64(0)
        rl = np.uint64(0)
        run = 0
        for p in range(start, end):
            c = codes[p]
            if c >= 4:
                run = 0
            else:
                b = np.uint64(c)
                cb = np.uint64(3 - c)
                fh = ((fh << s2) | (fl >> s62)) & mask_hi
                fl = ((fl << s2) | b) & mask_lo
                rl = (rl >> s2) | (rh << s62)
                rh = rh >> s2
                if bits - 2 >= 64:
                    rh = rh | (cb << np.uint64(bits - 2 - 64))
                else:
                    rl = rl | (cb << np.uint64(bits - 2))
                run += 1
            if p + 1 >= start + k:
                if run >= k:
                    if fh < rh or (fh == rh and fl <= rl):
                        hi[out] = fh
                        lo[out] = fl
                    else:
                        hi[out] = rh
                        lo[out] = rl
                else:
                    hi[out] = _ALL
                    lo[out] = _ALL
                out += 1
