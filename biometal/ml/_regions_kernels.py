"""numba loops of the multi-modal region loader (:mod:`biometal.ml.regions`), CPU only.

:func:`quality_histogram` walks the same read table as the ``pileup`` kernel
(:data:`biometal.kernels.pileup.READ_FIELDS`, offsets into the decompressed BAM bytes) and
counts, per reference position, the aligned bases (CIGAR M, =, X) whose base quality falls
in each bin. It counts exactly the base entries the pileup kernel counts in its A..N
columns under the same ``min_bq`` (a base beyond SEQ is N with quality 0), so the bins of a
position sum to its A+C+G+T+N count. Deletions and skips carry no base and are not counted.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, inline="always")
def _u32(buf, off):  # pragma: no cover - compiled
    return (
        np.int64(buf[off])
        | (np.int64(buf[off + 1]) << 8)
        | (np.int64(buf[off + 2]) << 16)
        | (np.int64(buf[off + 3]) << 24)
    )


@njit(cache=True, nogil=True)
def quality_histogram(buf, reads, hist, bin_of_q, min_bq):  # pragma: no cover - compiled
    """Add per-position base-quality bin counts of ``reads`` into ``hist`` in place.

    buf uint8[] (BAM record bytes); reads uint32[n, 9] (pileup kernel layout: rel_pos,
    rel_end, cigar_off, n_cigar, seq_off, qual_off, l_seq, is_reverse, mapq); hist
    uint32[acc_len, n_bins]; bin_of_q int64[256]: bin of each quality (-1: not counted);
    min_bq: a base counts when its quality >= min_bq. Positions >= acc_len are skipped.
    """
    acc_len = np.int64(hist.shape[0])
    for r in range(reads.shape[0]):
        cig = np.int64(reads[r, 2])
        n_cigar = np.int64(reads[r, 3])
        qual = np.int64(reads[r, 5])
        l_seq = np.int64(reads[r, 6])
        rpos = np.int64(reads[r, 0])
        qpos = np.int64(0)
        for k in range(n_cigar):
            c = _u32(buf, cig + 4 * k)
            op = c & 15
            ln = c >> 4
            if op == 0 or op == 7 or op == 8:
                for i in range(ln):
                    p = rpos + i
                    if p >= acc_len:
                        break
                    q = qpos + i
                    bq = np.int64(buf[qual + q]) if q < l_seq else np.int64(0)
                    if bq < min_bq:
                        continue
                    b = bin_of_q[bq]
                    if b >= 0:
                        hist[p, b] += 1
                rpos += ln
                qpos += ln
            elif op == 2 or op == 3:
                rpos += ln
            elif op == 1 or op == 4:
                qpos += ln
