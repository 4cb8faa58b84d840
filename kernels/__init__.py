"""Compute kernels, importable as ``biometal.kernels`` (DESIGN.md section 3).

Each kernel is ``NAME.metal`` (Apple GPU, run through metalcompute by
:mod:`.metal_runner`), its numba CPU twin ``NAME_cpu.py``, and a dispatch module ``NAME.py``
that validates inputs and picks the backend with :func:`resolve_backend`
(``compute.backend: auto | metal | cpu``, env ``BIOMETAL_BACKEND``).

Kernels take numpy arrays and return numpy arrays; nothing here imports ``biometal``.
Errors: :class:`BackendError` (one line) for an unusable backend, ``ValueError`` for
malformed input arrays.
"""

from __future__ import annotations

from .backend import (
    BACKENDS,
    ENV_VAR,
    BackendError,
    clear_cache,
    metal_available,
    resolve_backend,
    set_threads,
)
from .read_stats import ReadStats, read_stats, summarize_read_stats
from .smith_waterman import PairAlignments, align_pairs

__all__ = [
    "BACKENDS",
    "ENV_VAR",
    "BackendError",
    "PairAlignments",
    "ReadStats",
    "align_pairs",
    "clear_cache",
    "metal_available",
    "read_stats",
    "resolve_backend",
    "set_threads",
    "summarize_read_stats",
]
