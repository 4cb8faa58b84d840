"""The process start-up shortcut (biometal._startup): nothing else changes, and both process
entry points use it."""

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
        from biometal._startup import preload_cython_blas
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
        from biometal._startup import preload_cython_blas
        assert not preload_cython_blas()
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("entry", ["cli", "runner"])
def test_process_entry_points_skip_scipy_linalg(entry: str, tmp_path) -> None:
    """Both ways a process starts (the command, a Snakemake script) preload the BLAS table
    before numba loads a compiled function, so scipy.linalg is never imported."""
    pytest.importorskip("scipy")
    fq = tmp_path / "r.fq"
    fq.write_text("@r1\nACGTACGTAC\n+\nIIIIIIIIII\n@r2\nACGTTT\n+\nIIIIII\n")
    call = {
        "cli": "from biometal.cli import main\nassert main(['qc', sys.argv[1]]) == 0\n",
        "runner": (
            "from types import SimpleNamespace\n"
            "from biometal.runner import run\n"
            "def main(smk):\n"
            "    from biometal.io import read_fastq_chunks\n"
            "    assert sum(len(c) for c in read_fastq_chunks(sys.argv[1])) == 2\n"
            "run(SimpleNamespace(log=[], rule='t'), main)\n"
        ),
    }[entry]
    code = (
        "import sys\n" + call + "assert 'scipy.linalg.cython_blas' in sys.modules\n"
        "assert 'scipy.linalg' not in sys.modules\n"
        "from numba.np import arraymath\n"
        "assert arraymath._HAVE_BLAS\n"
    )
    subprocess.run([sys.executable, "-c", code, str(fq)], check=True, capture_output=True)
