"""Overlap counts of query intervals against target intervals (overlap_count.metal).

Intervals are half-open ``[start, end)`` on one int64 line; a caller with contigs (and
strands) keys them into disjoint ranges first (biometal.regions does ``group << 36 | pos``),
so the kernel needs no contig column. Query ``[s, e)`` and target ``[bs, be)`` overlap when
``bs < e`` and ``be > s``; a zero-length interval ``[p, p)`` overlaps ``[bs, be)`` when
``bs < p < be`` (the plain half-open rule). This is ``bedtools intersect -c`` on positive
lengths.

The targets are sorted here (starts, ends and the points of the zero-length targets, each
on its own; already-sorted arrays are used as they are) and every query costs two binary
searches, whatever the nesting or length of the targets (overlap_count.metal says why that
counts the overlaps). Backends give identical counts: ``metal`` runs overlap_count.metal, one
GPU thread per query; ``cpu`` the numba twin (overlap_count_cpu.py), one prange iteration per
query.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import metal_runner
from ._checks import describe
from ._threads import numba_threads
from .backend import resolve_backend

_U32_MAX = 2**32 - 1


def _intervals(who: str, starts: Any, ends: Any) -> tuple[np.ndarray, np.ndarray]:
    """``starts``/``ends`` as C-contiguous int64, equal lengths, ``start <= end``."""
    out = []
    for name, arr in ((f"{who}_start", starts), (f"{who}_end", ends)):
        if not isinstance(arr, np.ndarray) or arr.ndim != 1 or arr.dtype.kind not in "iu":
            raise ValueError(
                f"overlap_count: {name} must be a 1-D integer numpy array, got {describe(arr)}"
            )
        if arr.dtype == np.uint64 and len(arr) and arr.max() > np.iinfo(np.int64).max:
            raise ValueError(f"overlap_count: {name} exceeds the int64 range")
        out.append(np.ascontiguousarray(arr, dtype=np.int64))
    s, e = out
    if len(s) != len(e):
        raise ValueError(
            f"overlap_count: {who}_start and {who}_end differ in length ({len(s)} vs {len(e)})"
        )
    bad = np.flatnonzero(e < s)
    if len(bad):
        i = int(bad[0])
        raise ValueError(
            f"overlap_count: {who} interval {i} has end < start ({int(e[i])} < {int(s[i])})"
        )
    return s, e


def _sorted(x: np.ndarray) -> np.ndarray:
    return x if len(x) < 2 or bool(np.all(x[1:] >= x[:-1])) else np.sort(x)


def overlap_count(
    q_start: Any,
    q_end: Any,
    t_start: Any,
    t_end: Any,
    *,
    backend: str | None = None,
    threads: int | None = None,
) -> np.ndarray:
    """Number of targets overlapping each query: ``int64[n_query]`` (see the module doc).

    All four arrays are 1-D integer arrays (any order; queries and targets each of equal
    start/end lengths, ``start <= end``). ``backend``: auto | metal | cpu (None:
    ``$BIOMETAL_BACKEND`` / auto). ``threads``: numba threads for the cpu backend (None:
    numba's current count). Raises ValueError for malformed input and BackendError for an
    unusable backend.
    """
    qs, qe = _intervals("query", q_start, q_end)
    ts, te = _intervals("target", t_start, t_end)
    if len(qs) > _U32_MAX:
        raise ValueError(f"overlap_count: more than {_U32_MAX} queries in one call")
    starts = _sorted(ts)
    ends = _sorted(te)
    points = _sorted(ts[ts == te])
    n = len(qs)
    if resolve_backend(backend) == "metal":
        (counts,) = metal_runner.run(
            "overlap_count",
            "overlap_count",
            n,
            [
                qs,
                qe,
                starts,
                ends,
                points,
                np.array([n, len(starts), len(points)], np.uint64),
                metal_runner.Output(np.int64, (n,)),
            ],
        )
        return counts
    from .overlap_count_cpu import overlap_count_cpu  # numba import is slow: only when used

    counts = np.empty(n, np.int64)
    with numba_threads(threads):
        overlap_count_cpu(qs, qe, starts, ends, points, counts)
    return counts
