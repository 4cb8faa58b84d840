"""Compute kernels, importable as ``biometal.kernels`` (DESIGN.md section 3).

Each kernel is ``NAME.metal`` (Apple GPU, run through metalcompute by
:mod:`.metal_runner`), its numba CPU twin ``NAME_cpu.py``, and a dispatch module ``NAME.py``
that validates inputs and picks the backend with :func:`resolve_backend`
(``compute.backend: auto | metal | cpu``, env ``BIOMETAL_BACKEND``).

Kernels take numpy arrays and return numpy arrays; nothing here imports ``biometal``.
Errors: :class:`BackendError` (one line) for an unusable backend, ``ValueError`` for
malformed input arrays (the checks are shared, in :mod:`._checks`). numba's thread count is
set through one helper, :func:`numba_threads` (restores the count) / :func:`set_numba_threads`.

Where numba code lives (DESIGN.md section 2; tests/unit/test_layering.py holds it):

- a kernel that has a Metal twin is here: ``NAME.metal``, its numba twin ``NAME_cpu.py``, and
  the dispatch module ``NAME.py`` (no numba-compiled code in a dispatch module);
- numba helpers shared by twins (``_simd.py``: LLVM intrinsics) are here too;
- a CPU-only loop is private to the one library package that calls it, in that package's
  ``_kernels.py`` (``biometal/<pkg>/_kernels.py``; a package with separate call graphs may
  split them as ``_<topic>_kernels.py``), never here;
- a numba call graph stays in one file: numba's on-disk cache is invalidated per source file,
  so compiled code does not call a compiled function of another file (a library loop that
  needs a twin's helper keeps a private copy of it). The one exception, ``_simd.py``, is
  documented there.

``jit.py`` stands in for numba's decorators (``njit``, ``intrinsic``, ``prange``) in the
modules on short jobs' paths: numba is imported only when one of their functions must run
under it, and kernels that declare ``aot=`` signatures are also built ahead of time (one
extension module, at set-up) so those jobs need no numba at all (see its docstring).
"""

from __future__ import annotations

from ._threads import numba_threads, set_numba_threads
from .backend import (
    BACKENDS,
    ENV_VAR,
    BackendError,
    clear_cache,
    metal_available,
    resolve_backend,
)
from .overlap_count import overlap_count
from .read_stats import ReadStats, read_stats, summarize_read_stats
from .site_stats import SiteStats, site_stats
from .smith_waterman import PairAlignments, align_pairs

__all__ = [
    "BACKENDS",
    "ENV_VAR",
    "BackendError",
    "PairAlignments",
    "ReadStats",
    "SiteStats",
    "align_pairs",
    "clear_cache",
    "metal_available",
    "numba_threads",
    "overlap_count",
    "read_stats",
    "resolve_backend",
    "set_numba_threads",
    "site_stats",
    "summarize_read_stats",
]
