"""Start-up of a short process: load scipy's BLAS table without all of scipy.linalg.

When numba loads its first compiled function it imports ``numba.np.arraymath``, which checks
that a BLAS is there by importing ``scipy.linalg.cython_blas``. Importing that runs
``scipy/linalg/__init__.py`` first, and with it scipy's array-API layer, which touches
``numpy.f2py`` and ``numpy.testing``: 0.33 s of a 1.7 s ``python -m biometal.pileup`` run on
a sparse BAM (cProfile), more than the pileup itself, and 0.14-0.2 s of CPU of a
1.5 s ``biometal quant`` of 200k pairs (five runs each way by hand; the 1,000-pair start-up
rows of ``python bench/rnaseq_startup.py``: 0.90 s as a library call, 0.76 s through the
command). The kernels that use a BLAS get its functions
from the same extension module, which is all numba needs.

Both process entry points arrange for it to run when numba is imported, before any numba
function loads (:func:`prepare_numba`): the ``biometal`` command (:func:`biometal.cli.main`)
and the Snakemake scripts (:func:`biometal.runner.run`). A library user's own process is
left alone.

:func:`preload_cython_blas` loads the one extension module ``scipy.linalg.cython_blas``
from its file (0.02 s) and registers it under its name, so numba's check finds it. It is
the same compiled module a normal import would give; a later ``import scipy.linalg`` runs
as usual and ``from scipy.linalg import cython_blas`` returns this module (only the
attribute ``scipy.linalg.cython_blas`` is not set on the package). Anything unexpected
(scipy missing, another file layout, the module already imported) leaves the normal import
path in place.

:func:`defer_numba_registries` (same entry points) lets numba load its cached functions
without first registering every implementation its compiler could need (0.1 s a process).
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys

_NAME = "scipy.linalg.cython_blas"


def _scipy_extension(subpackage: str, name: str):
    """(module spec, folder) of the compiled module ``scipy.<subpackage>.<name>``, found by
    its file without importing ``scipy.<subpackage>``; None when it is not there."""
    spec = importlib.util.find_spec("scipy")
    if spec is None or spec.origin is None:
        return None
    folder = os.path.join(os.path.dirname(spec.origin), subpackage)
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = os.path.join(folder, name + suffix)
        if os.path.exists(path):
            break
    else:
        return None
    mod_spec = importlib.util.spec_from_file_location(f"scipy.{subpackage}.{name}", path)
    if mod_spec is None or mod_spec.loader is None:
        return None
    return mod_spec, folder


def preload_cython_blas() -> bool:
    """Load ``scipy.linalg.cython_blas`` alone unless scipy.linalg is imported; True if done."""
    if _NAME in sys.modules or "scipy.linalg" in sys.modules:
        return False
    try:
        found = _scipy_extension("linalg", "cython_blas")
        if found is None:
            return False
        mod_spec = found[0]
        module = importlib.util.module_from_spec(mod_spec)
        sys.modules[_NAME] = module
        try:
            mod_spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[_NAME]
            raise
    except Exception:  # noqa: BLE001 - any failure: numba imports scipy.linalg as usual
        return False
    return True


_SPECIAL = "scipy.special"
_UFUNCS = "scipy.special._ufuncs"


def scipy_special_ufuncs():
    """scipy's compiled special functions (``betaln``, ``_binom_sf``, ...) without
    ``scipy/special/__init__.py``.

    That package file imports scipy's array-API layer, which touches ``numpy.f2py``,
    ``numpy.testing``, ``numpy.ma`` and ``numpy.random``: ~0.1 CPU s of a cohort job whose
    kernels need nothing but three ufuncs (``bench/cohort_job.py``). The extension module
    ``scipy.special._ufuncs`` is loaded from its file under its own name, with a bare
    package standing in for ``scipy.special`` while it loads (the module imports its sibling
    extensions), and that stand-in is removed after: a later ``import scipy.special`` runs
    the package file as usual and finds this same module (tests/unit/test_startup.py). When
    ``scipy.special`` is already imported, or anything is unexpected, returns the usual
    ``scipy.special._ufuncs`` by a normal import.
    """
    if _SPECIAL in sys.modules or _UFUNCS in sys.modules:
        import scipy.special._ufuncs as ufuncs

        return ufuncs
    module = _load_ufuncs_alone()
    if module is not None:
        return module
    import scipy.special._ufuncs as ufuncs

    return ufuncs


def _load_ufuncs_alone():
    try:
        found = _scipy_extension("special", "_ufuncs")
    except Exception:  # noqa: BLE001 - any failure: the normal import
        return None
    if found is None:
        return None
    mod_spec, folder = found
    before = set(sys.modules)
    stand_in = type(sys)(_SPECIAL)
    stand_in.__path__ = [folder]
    sys.modules[_SPECIAL] = stand_in
    module = importlib.util.module_from_spec(mod_spec)
    sys.modules[_UFUNCS] = module
    try:
        mod_spec.loader.exec_module(module)
    except Exception:  # noqa: BLE001 - undo everything it registered, then the normal import
        for name in set(sys.modules) - before:
            del sys.modules[name]
        return None
    finally:
        if sys.modules.get(_SPECIAL) is stand_in:
            del sys.modules[_SPECIAL]
    return module


def _load_overload_without_registries(self, sig, target_context):  # pragma: no cover - patched in
    """numba's ``Cache.load_overload`` without the full target refresh on a cache hit.

    numba refreshes its target context before it looks in its cache: that imports and
    registers every typing and lowering implementation it has (``numba.np.arraymath``,
    ``numba.cpython.unicode``, ...), which only compiling needs. Loading a cached function
    needs the runtime (NRT: its C helpers and atomics, which the compiled code calls) and
    the code library. On a miss the full refresh runs, as before, and numba's compiler
    refreshes again before it compiles anything.
    """
    from numba.core.runtime import nrt

    nrt.rtsys.initialize(target_context)
    with self._guard_against_spurious_io_errors():
        data = self._load_overload(sig, target_context)
        if data is not None:
            return data
    target_context.refresh()
    return None


class _PatchNumbaCache:
    """Meta-path hook: once ``numba.core.caching`` is imported, install
    :func:`_load_overload_without_registries` (numba 0.68 only; other versions as they are)."""

    name = "numba.core.caching"

    def find_spec(self, fullname, path, target=None):
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            _patch_cache(module)

        spec.loader.exec_module = exec_module
        return spec


def _patch_cache(caching) -> bool:
    import numba

    cache = getattr(caching, "Cache", None)
    if not numba.__version__.startswith("0.68.") or cache is None:
        return False
    if not hasattr(cache, "_load_overload") or not hasattr(
        cache, "_guard_against_spurious_io_errors"
    ):
        return False
    cache.load_overload = _load_overload_without_registries
    return True


def defer_numba_registries() -> bool:
    """Load numba's cached functions without registering every implementation first.

    numba's first load of a cached function set up its whole compiler (0.10-0.13 s of CPU
    in every process, ``python bench/pileup_startup.py``), though nothing is compiled when
    the cache is warm. Installs :func:`_load_overload_without_registries` in numba's cache
    (now, or when numba is imported). Process entry points only, like
    :func:`preload_cython_blas`; True when installed or scheduled.
    """
    if "numba.core.caching" in sys.modules:
        return _patch_cache(sys.modules["numba.core.caching"])
    if any(isinstance(f, _PatchNumbaCache) for f in sys.meta_path):
        return True
    sys.meta_path.insert(0, _PatchNumbaCache())
    return True


class _PreloadBeforeNumba:
    """Meta-path hook: when numba is first imported, run :func:`preload_cython_blas` first
    (a process that never imports numba, one whose kernels are built ahead of time by
    :mod:`biometal.kernels.jit`, then does not load scipy's BLAS table for nothing)."""

    def find_spec(self, fullname, path, target=None):
        if fullname == "numba":
            if self in sys.meta_path:
                sys.meta_path.remove(self)
            preload_cython_blas()
        return None  # the normal finders import numba itself


def prepare_numba() -> None:
    """Both start-up cuts, for a process entry point (the ``biometal`` command, the
    Snakemake scripts, the assembler's own command): :func:`preload_cython_blas` when numba
    is imported (now, if it already is) and :func:`defer_numba_registries`."""
    if "numba" in sys.modules:
        preload_cython_blas()
    elif not any(isinstance(f, _PreloadBeforeNumba) for f in sys.meta_path):
        sys.meta_path.insert(0, _PreloadBeforeNumba())
    defer_numba_registries()


#: glibc's mallopt parameters, and the values a short job sets (see :func:`keep_freed_memory`)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD = 64 << 20
TRIM_THRESHOLD = 128 << 20


def keep_freed_memory() -> bool:
    """Let glibc's malloc serve blocks below 64 MiB from the heap and keep up to 128 MiB of
    freed memory there, instead of mapping each large numpy array afresh and returning it
    on free: a short job that makes the same large arrays again and again (one gVCF after
    another) otherwise pays the kernel's page faults for every one (a wgsim cohort's
    ``biometal joint``: 56k -> 36k minor faults, ~0.1 of ~1.0 CPU s, eight alternating
    runs each way; README "Case study: population calling"). Peak memory is what the job
    holds at once, as before; up to 128 MiB freed stays with the process until it ends.
    Only on glibc (musl and other systems have no ``mallopt``) and not where the user set
    ``MALLOC_MMAP_THRESHOLD_`` / ``MALLOC_TRIM_THRESHOLD_``. Returns whether it was set."""
    if not sys.platform.startswith("linux") or any(
        k in os.environ for k in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")
    ):
        return False
    try:
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
