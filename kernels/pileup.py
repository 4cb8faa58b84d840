"""Pileup counts from BAM records on the resolved compute backend (pileup.metal / numba).

Input layout: ``buf`` uint8 (decompressed BAM records), ``reads`` uint32[n, 9] sorted by
``rel_pos`` (columns :data:`READ_FIELDS`, byte offsets into ``buf``), and a count table
``acc`` uint32[acc_len, 24] (columns :data:`COLUMNS`) that :func:`pileup_accumulate` adds
into. The walk follows htslib's pileup exactly (see pileup.metal's header), so the counts
equal what ``samtools mpileup -B -x`` prints under the same read filters and ``-Q``.

Both backends produce identical integers (sums do not depend on order): Metal adds with
atomics, one thread per read; numba runs segments of reads far enough apart in parallel.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import metal_runner
from ._checks import c_table, uint8_vector
from ._threads import numba_threads
from .backend import resolve_backend

NCOL = 24
#: Columns of the count table, in order.
COLUMNS = (
    "A_fwd",
    "C_fwd",
    "G_fwd",
    "T_fwd",
    "N_fwd",
    "A_rev",
    "C_rev",
    "G_rev",
    "T_rev",
    "N_rev",
    "del_fwd",
    "del_rev",
    "skip_fwd",
    "skip_rev",
    "ins_fwd",
    "ins_rev",
    "delstart_fwd",
    "delstart_rev",
    "qsum_A",
    "qsum_C",
    "qsum_G",
    "qsum_T",
    "qsum_N",
    "mq_sum",
)
#: Columns of the per-read table.
READ_FIELDS = (
    "rel_pos",
    "rel_end",
    "cigar_off",
    "n_cigar",
    "seq_off",
    "qual_off",
    "l_seq",
    "is_reverse",
    "mapq",
)


def _check(buf: Any, reads: Any, acc: Any, min_bq: Any) -> np.ndarray:
    buf = uint8_vector("pileup", "buf", buf)
    nf = len(READ_FIELDS)
    c_table("pileup", "reads", reads, np.uint32, f"uint32[n, {nf}]", nf)
    c_table("pileup", "acc", acc, np.uint32, f"uint32[acc_len, {NCOL}]", NCOL)
    col = reads[:, 0]
    if len(reads) > 1 and (col[1:] < col[:-1]).any():  # no int64 copy and diff per call
        raise ValueError("pileup: reads must be sorted by rel_pos")
    if not 0 <= int(min_bq) < 2**32:
        raise ValueError(f"pileup: min_bq out of range: {min_bq}")
    return buf


def pileup_accumulate(
    buf: np.ndarray,
    reads: np.ndarray,
    acc: np.ndarray,
    min_bq: int,
    backend: str | None = None,
    threads: int | None = None,
) -> None:
    """Add the pileup of ``reads`` into ``acc`` in place.

    ``min_bq``: an entry (base, deletion or skip) counts when its base quality is at least
    this (samtools ``-Q``). ``backend``: auto | metal | cpu (None: ``$BIOMETAL_BACKEND``).
    ``threads``: numba threads for the cpu backend, for this call (None: numba's current
    count; <= 0: all cores; 1: on the calling thread, without starting numba's pool).
    """
    buf = _check(buf, reads, acc, min_bq)
    if len(reads) == 0:
        return
    if resolve_backend(backend) == "metal":
        (out,) = metal_runner.run(
            "pileup",
            "pileup",
            len(reads),
            [
                buf,
                reads,
                metal_runner.scalar(len(reads), np.uint32),
                metal_runner.scalar(len(acc), np.uint32),
                metal_runner.scalar(int(min_bq), np.uint32),
                metal_runner.Output(np.uint32, acc.shape),
            ],
        )
        acc += out
        return
    if threads == 1:  # without numba's thread pool (pileup_cpu_serial)
        from .pileup_cpu import pileup_cpu_serial

        pileup_cpu_serial(buf, reads, acc, np.uint32(min_bq))
        return
    from .pileup_cpu import pileup_cpu

    with numba_threads(threads) as n_threads:
        pileup_cpu(buf, reads, acc, np.uint32(min_bq), np.int64(2 * n_threads))
