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

Both process entry points call it before any numba function loads: the ``biometal``
command (:func:`biometal.cli.main`) and the Snakemake scripts (:func:`biometal.runner.run`).
A library user's own process is left alone.

:func:`preload_cython_blas` loads the one extension module ``scipy.linalg.cython_blas``
from its file (0.02 s) and registers it under its name, so numba's check finds it. It is
the same compiled module a normal import would give; a later ``import scipy.linalg`` runs
as usual and ``from scipy.linalg import cython_blas`` returns this module (only the
attribute ``scipy.linalg.cython_blas`` is not set on the package). Anything unexpected
(scipy missing, another file layout, the module already imported) leaves the normal import
path in place.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys

_NAME = "scipy.linalg.cython_blas"


def preload_cython_blas() -> bool:
    """Load ``scipy.linalg.cython_blas`` alone unless scipy.linalg is imported; True if done."""
    if _NAME in sys.modules or "scipy.linalg" in sys.modules:
        return False
    try:
        spec = importlib.util.find_spec("scipy")
        if spec is None or spec.origin is None:
            return False
        folder = os.path.join(os.path.dirname(spec.origin), "linalg")
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            path = os.path.join(folder, "cython_blas" + suffix)
            if os.path.exists(path):
                break
        else:
            return False
        mod_spec = importlib.util.spec_from_file_location(_NAME, path)
        if mod_spec is None or mod_spec.loader is None:
            return False
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
