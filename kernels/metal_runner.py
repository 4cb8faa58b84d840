"""Run a kernels/NAME.metal compute kernel on the Apple GPU through metalcompute.

metalcompute (macOS only) is imported lazily, on first use. Its API, as used here::

    dev = metalcompute.Device()
    fn = dev.kernel(source).function("name")     # compiles; raises metalcompute.error
    out = dev.buffer(nbytes)                     # GPU-shared output buffer
    handle = fn(n_threads, buf0, buf1, ...)      # buffers bind to [[buffer(0)]], [[buffer(1)]], ...
    del handle                                   # waits for completion (newer versions)
    np.frombuffer(out, dtype)                    # read back, no copy (unified memory)

Inputs are numpy arrays (any buffer-protocol object works); ``constant T&`` parameters take
one-element arrays (:func:`scalar`). Outputs are :class:`Output` specs, allocated as device
buffers, zero-filled before the dispatch, and returned as numpy arrays viewing them.

Compiled functions are cached per (kernel file, function name). This module cannot run on
Linux; the kernel logic is covered by tests/kernels (the C++ harness), and the runner
itself by a test that stands a harness-backed fake in for metalcompute.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._errors import BackendError

KERNEL_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Output:
    """An output buffer of ``shape`` and ``dtype``, zero-filled before the kernel runs."""

    dtype: Any
    shape: tuple[int, ...]

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * np.dtype(self.dtype).itemsize


def scalar(value: int | float, dtype: Any) -> np.ndarray:
    """A one-element array for a ``constant T& name [[buffer(i)]]`` parameter."""
    return np.array([value], dtype=dtype)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@functools.cache
def _metalcompute() -> Any:
    try:
        import metalcompute
    except Exception as exc:  # ImportError, or a broken build raising anything else
        raise BackendError(
            f"cannot import metalcompute ({_one_line(exc)}); it is macOS-only: "
            "pip install metalcompute"
        ) from exc
    return metalcompute


@functools.cache
def device() -> Any:
    """The default Metal device (opened once). Raises BackendError when none answers."""
    mc = _metalcompute()
    try:
        return mc.Device()
    except Exception as exc:
        raise BackendError(f"no Metal device answered ({_one_line(exc)})") from exc


def device_name() -> str:
    """A short description of the Metal device; raises BackendError when unavailable."""
    return str(device())


@functools.cache
def _function(metal_file: str, function_name: str) -> Any:
    path = Path(metal_file)
    try:
        source = path.read_text()
    except OSError as exc:
        raise BackendError(f"cannot read Metal kernel source {path}: {_one_line(exc)}") from exc
    try:
        return device().kernel(source).function(function_name)
    except BackendError:
        raise
    except Exception as exc:
        raise BackendError(
            f"Metal could not compile {path.name} function {function_name!r}: {_one_line(exc)}"
        ) from exc


def kernel_path(kernel: str) -> Path:
    """kernels/NAME.metal for ``NAME`` (or a path to a .metal file, returned resolved)."""
    if kernel.endswith(".metal"):
        return Path(kernel).resolve()
    return KERNEL_DIR / f"{kernel}.metal"


def clear_cache() -> None:
    """Forget the imported module, the device and the compiled functions."""
    _function.cache_clear()
    device.cache_clear()
    _metalcompute.cache_clear()


def run(
    kernel: str,
    function_name: str,
    grid: int,
    args: Sequence[np.ndarray | Output],
) -> list[np.ndarray]:
    """Run ``function_name`` from kernels/``kernel``.metal over ``grid`` threads.

    ``args`` are bound in order to ``[[buffer(0)]]``, ``[[buffer(1)]]``, ...: numpy arrays
    for inputs, :class:`Output` for outputs. Returns the outputs, in order, as numpy arrays
    of the requested dtype and shape. ``grid == 0`` returns zero-filled outputs without a
    dispatch.
    """
    grid = int(grid)
    if grid < 0:
        raise ValueError(f"grid must be >= 0, got {grid}")
    if grid == 0:
        return [np.zeros(a.shape, a.dtype) for a in args if isinstance(a, Output)]
    fn = _function(str(kernel_path(kernel)), function_name)
    dev = device()
    buffers: list[Any] = []
    outputs: list[tuple[Any, Output]] = []
    for arg in args:
        if isinstance(arg, Output):
            buf = dev.buffer(max(1, arg.nbytes))  # Metal has no zero-length buffers
            np.frombuffer(buf, dtype=np.uint8)[:] = 0
            buffers.append(buf)
            outputs.append((buf, arg))
        else:
            arr = np.ascontiguousarray(arg)
            if arr.nbytes == 0:
                arr = np.zeros(1, dtype=arr.dtype)
            buffers.append(arr)
    try:
        handle = fn(grid, *buffers)
        del handle  # newer metalcompute: dropping the handle waits for completion
    except Exception as exc:
        raise BackendError(
            f"Metal kernel {function_name!r} failed over {grid} threads: {_one_line(exc)}"
        ) from exc
    results = []
    for buf, spec in outputs:
        count = int(np.prod(spec.shape, dtype=np.int64))
        results.append(np.frombuffer(buf, dtype=spec.dtype, count=count).reshape(spec.shape))
    return results
