"""The process start-up shortcut (biometal._startup): nothing else changes, and both process
entry points use it."""

from __future__ import annotations

import os
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
    # numba, not the ahead-of-time build (with which the FASTQ reader imports no numba at all)
    env = {**os.environ, "BIOMETAL_AOT": "0"}
    subprocess.run([sys.executable, "-c", code, str(fq)], check=True, capture_output=True, env=env)


def test_defer_numba_registries_loads_cached_functions_and_still_compiles(tmp_path) -> None:
    """A cached function loads (same result) without numba's implementation registries;
    a cache miss and a new function still compile (the full set-up runs then)."""
    mod = tmp_path / "cached_mod.py"
    mod.write_text(
        "import numpy as np\nfrom numba import njit, prange\n"
        "@njit(cache=True)\ndef f(a):\n    out = np.empty(len(a), np.int64)\n"
        "    for i in range(len(a)):\n        out[i] = a[i] * 3 + 1\n    return out, out.sum()\n"
        "@njit(cache=True, parallel=True)\ndef g(a):\n    s = 0\n"
        "    for i in prange(len(a)):\n        s += a[i]\n    return s\n"
    )
    code = textwrap.dedent(
        """
        import sys
        sys.path.insert(0, sys.argv[1])
        from biometal._startup import defer_numba_registries
        assert defer_numba_registries()
        import numpy as np
        from numba.core import cpu
        calls = []
        full = cpu.CPUContext.load_additional_registries
        def counted(self):
            calls.append(1)
            return full(self)
        cpu.CPUContext.load_additional_registries = counted
        from cached_mod import f, g
        a = np.arange(10)
        out, s = f(a)
        assert out.tolist() == [3 * x + 1 for x in range(10)] and s == 145
        assert g(a) == 45
        hits = sum(f.stats.cache_hits.values()) + sum(g.stats.cache_hits.values())
        print(hits, bool(calls))
        from numba import njit
        @njit
        def h(x):
            return np.sort(x)[::-1][0]
        assert h(np.array([3, 9, 1])) == 9  # compiling still works
        assert f(a.astype(np.float64))[1] == 145.0  # a new signature of a cached function
        """
    )
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    runs = [
        subprocess.run(
            [sys.executable, "-c", code, str(tmp_path)],
            check=True,
            capture_output=True,
            text=True,
            env=env,
        ).stdout.split()
        for _ in range(3)
    ]
    assert runs[0] == ["0", "True"]  # cold cache: compiled, with the full set-up
    assert runs[2] == ["2", "False"]  # warm: both loaded, no registries imported


def test_scipy_special_ufuncs_alone_then_the_package_as_usual():
    """sitestats takes betaln and _binom_sf from scipy.special._ufuncs loaded without the
    package file (biometal._startup.scipy_special_ufuncs); a later import of scipy.special
    and scipy.stats is the usual one and shares that same module."""
    pytest.importorskip("scipy")
    code = textwrap.dedent(
        """
        import sys
        from biometal.variants import sitestats as S
        assert "scipy.special" not in sys.modules
        assert "scipy._lib._array_api" not in sys.modules
        light = sys.modules["scipy.special._ufuncs"]
        assert S.betaln is light.betaln and S._binom_sf is light._binom_sf
        import scipy.special
        import scipy.stats
        assert scipy.special._ufuncs is light and scipy.special.betaln is light.betaln
        assert abs(scipy.special.gamma(5.0) - 24.0) < 1e-12
        assert abs(scipy.stats.binom.sf(2, 10, 0.1) - S.binomial_sf(3, 10, 0.1)) == 0
        from biometal._startup import scipy_special_ufuncs
        assert scipy_special_ufuncs() is light
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_scipy_special_ufuncs_after_the_package_is_the_packages():
    pytest.importorskip("scipy")
    code = textwrap.dedent(
        """
        import scipy.special
        from biometal._startup import scipy_special_ufuncs
        assert scipy_special_ufuncs() is scipy.special._ufuncs
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_keep_freed_memory_fewer_page_faults(tmp_path) -> None:
    """keep_freed_memory (the short jobs' start, glibc) sets malloc's thresholds: a process
    that makes and frees a 40 MiB array 20 times takes its pages once, where glibc maps
    such an array (above its 32 MiB ceiling) afresh each time; a user's MALLOC_* variable
    leaves glibc's own settings alone."""
    import platform

    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        pytest.skip("glibc only")
    code = (
        "import resource, sys, numpy as np\n"
        "from biometal._startup import keep_freed_memory\n"
        "done = keep_freed_memory() if sys.argv[1] == '1' else False\n"
        "f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt\n"
        "for _ in range(20):\n"
        "    a = np.ones(5 << 20)\n"
        "    del a\n"
        "print(done, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}

    def run(flag: str, **extra) -> tuple[str, int]:
        out = subprocess.run([sys.executable, "-c", code, flag], capture_output=True,
                             text=True, env={**env, **extra}, check=True)  # fmt: skip
        done, faults = out.stdout.split()
        return done, int(faults)

    done, kept = run("1")
    _, default = run("0")
    assert done == "True" and 5 * kept < default
    assert run("1", MALLOC_TRIM_THRESHOLD_="1000000")[0] == "False"
