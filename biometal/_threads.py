"""Thread counts of numba and torch: the one place the library sets them.

- :func:`numba_threads` / :func:`set_numba_threads` (and :func:`clamp_threads`,
  :func:`pool_size`): numba's count, from :mod:`biometal.kernels._threads` (the kernels use
  the same helper; they cannot import ``biometal``).
- :func:`torch_threads` / :func:`set_torch_threads`: torch's intra-op count, same rules.

The context managers set the count for a block and restore the previous one on exit (they
yield the count in use); the ``set_*`` forms set it for good, for a process or worker that
runs on a fixed count, and return it. ``n``: ``None`` leaves the count as it is; ``n <= 0``
means all (numba: its pool, ``NUMBA_NUM_THREADS``; torch: the CPUs this process may use);
numba's count is clamped to its pool. numba and torch are imported on first use only.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from biometal.kernels._threads import clamp_threads, numba_threads, pool_size, set_numba_threads

__all__ = [
    "clamp_threads",
    "numba_threads",
    "pool_size",
    "set_numba_threads",
    "set_torch_threads",
    "torch_threads",
]


def _all_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def set_torch_threads(n: int | None) -> int:
    """Set torch's intra-op thread count for good; return the count in use."""
    import torch

    if n is not None:
        if isinstance(n, bool) or not hasattr(n, "__index__"):
            raise ValueError(f"threads must be an integer, got {n!r}")
        torch.set_num_threads(_all_cpus() if int(n) <= 0 else int(n))
    return int(torch.get_num_threads())


@contextmanager
def torch_threads(n: int | None) -> Iterator[int]:
    """Run the block on ``n`` torch threads, then restore the previous count."""
    import torch

    old = int(torch.get_num_threads())
    try:
        yield set_torch_threads(n)
    finally:
        torch.set_num_threads(old)
