"""The one helper for numba and torch thread counts (biometal._threads)."""

from __future__ import annotations

import numba
import pytest

from biometal._threads import (
    clamp_threads,
    numba_threads,
    pool_size,
    set_numba_threads,
    set_torch_threads,
    torch_threads,
)


@pytest.fixture(autouse=True)
def _keep_counts():
    torch = pytest.importorskip("torch")
    n, t = numba.get_num_threads(), torch.get_num_threads()
    yield
    numba.set_num_threads(n)
    torch.set_num_threads(t)


def test_clamp():
    pool = pool_size()
    assert pool == numba.config.NUMBA_NUM_THREADS
    assert clamp_threads(0) == clamp_threads(-3) == pool
    assert clamp_threads(1) == 1
    assert clamp_threads(pool + 100) == pool
    for bad in (1.5, "2", True, None):
        with pytest.raises(ValueError, match="threads must be an integer"):
            clamp_threads(bad)


def test_numba_threads_restores_the_previous_count():
    set_numba_threads(pool_size())
    with numba_threads(1) as n:
        assert n == 1 == numba.get_num_threads()
    assert numba.get_num_threads() == pool_size()
    with pytest.raises(RuntimeError), numba_threads(1):
        raise RuntimeError("restored on error too")
    assert numba.get_num_threads() == pool_size()
    with numba_threads(None) as n:  # None: unchanged
        assert n == pool_size()
    with numba_threads(0) as n:  # <= 0: all
        assert n == pool_size()


def test_set_numba_threads_keeps_the_count():
    assert set_numba_threads(1) == 1
    assert numba.get_num_threads() == 1
    assert set_numba_threads(None) == 1


def test_torch_threads_restores_the_previous_count():
    import torch

    torch.set_num_threads(2)
    with torch_threads(1) as n:
        assert n == 1 == torch.get_num_threads()
    assert torch.get_num_threads() == 2
    assert set_torch_threads(1) == 1 == torch.get_num_threads()
    assert set_torch_threads(0) >= 1
