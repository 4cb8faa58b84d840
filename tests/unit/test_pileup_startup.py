"""The pileup command's start-up shortcut (biometal.pileup._startup) changes nothing else."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest


def test_preload_cython_blas_is_the_real_module_and_numba_sees_blas():
    pytest.importorskip("scipy")
    code = textwrap.dedent(
        """
        import sys
        from biometal.pileup._startup import preload_cython_blas
        assert preload_cython_blas()
        assert "scipy.linalg" not in sys.modules
        assert not preload_cython_blas()  # once only
        from numba.np import arraymath
        assert arraymath._HAVE_BLAS  # numba's check found the BLAS
        assert "scipy.linalg" not in sys.modules  # without importing all of scipy.linalg
        mod = sys.modules["scipy.linalg.cython_blas"]
        import numpy as np
        import scipy.linalg
        from scipy.linalg import cython_blas
        assert cython_blas is mod
        assert np.allclose(scipy.linalg.inv(np.eye(3) * 2), np.eye(3) / 2)
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_preload_does_nothing_once_scipy_linalg_is_imported():
    pytest.importorskip("scipy")
    code = textwrap.dedent(
        """
        import scipy.linalg
        from biometal.pileup._startup import preload_cython_blas
        assert not preload_cython_blas()
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True)
