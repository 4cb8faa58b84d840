"""numba's thread count: the one helper every caller uses (kernels and library alike).

- :func:`numba_threads` (a context manager) sets the count for a block and restores the
  previous one on exit; it yields the count in use.
- :func:`set_numba_threads` sets it for good (a process or worker that runs on a fixed count,
  e.g. a DataLoader worker); it returns the count in use.

``n``: ``None`` leaves the count as it is; ``n <= 0`` means all of numba's pool
(``NUMBA_NUM_THREADS``, every core by default); a larger ``n`` is clamped to the pool.
numba's setting is per calling thread. numba is imported on first use (it is slow to load).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def pool_size() -> int:
    """numba's thread pool size (``NUMBA_NUM_THREADS``), the most a count can be."""
    import numba

    return int(numba.config.NUMBA_NUM_THREADS)


def clamp_threads(n: Any) -> int:
    """The count ``n`` stands for: ``n <= 0`` -> the pool size, else ``min(n, pool size)``.

    Raises ValueError when ``n`` is not an integer.
    """
    if isinstance(n, bool) or not hasattr(n, "__index__"):
        raise ValueError(f"threads must be an integer, got {n!r}")
    if int(n) == 1:  # whatever the pool: no need to import numba to say so
        return 1
    n, pool = int(n), pool_size()
    return pool if n <= 0 else min(n, pool)


def set_numba_threads(n: int | None) -> int:
    """Set numba's thread count for good (see the module docstring); return the count in use."""
    import numba

    if n is not None:
        numba.set_num_threads(clamp_threads(n))
    return int(numba.get_num_threads())


@contextmanager
def numba_threads(n: int | None) -> Iterator[int]:
    """Run the block on ``n`` numba threads (see the module docstring), then restore the
    previous count. Yields the count in use."""
    import numba

    old = int(numba.get_num_threads())
    try:
        yield set_numba_threads(n)
    finally:
        numba.set_num_threads(old)
