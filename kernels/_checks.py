"""Input checks shared by the dispatch modules (one wording for one mistake, every kernel).

Each check raises ``ValueError`` with a one-line message that starts with the kernel's name
(``where``) and the argument's name, and returns the array in the layout the kernels take.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_I64_MAX = np.iinfo(np.int64).max


def describe(x: Any) -> str:
    """``"int64 array of shape (3,)"`` for an array, else the type's name (for messages)."""
    if isinstance(x, np.ndarray):
        return f"{x.dtype} array of shape {x.shape}"
    return type(x).__name__


def uint8_vector(where: str, name: str, arr: Any) -> np.ndarray:
    """``arr`` as a C-contiguous 1-D uint8 array; it must be one already (no conversion)."""
    if not isinstance(arr, np.ndarray) or arr.ndim != 1 or arr.dtype != np.uint8:
        raise ValueError(f"{where}: {name} must be a 1-D uint8 numpy array, got {describe(arr)}")
    return np.ascontiguousarray(arr)


def offsets_vector(
    where: str,
    name: str,
    offsets: Any,
    n_codes: int,
    entries: str = "n_reads+1",
    item: str = "read",
) -> np.ndarray:
    """CSR offsets into ``n_codes`` codes as C-contiguous int64: a 1-D integer array (any
    integer dtype) of ``entries`` entries, within ``[0, n_codes]``, never decreasing.
    ``item`` names what one entry delimits (in the message about a negative length)."""
    if (
        not isinstance(offsets, np.ndarray)
        or offsets.ndim != 1
        or offsets.dtype.kind not in "iu"
        or len(offsets) < 1
    ):
        raise ValueError(
            f"{where}: {name} must be a 1-D integer array of {entries} entries, "
            f"got {describe(offsets)}"
        )
    if offsets.dtype == np.uint64 and offsets.max() > _I64_MAX:
        raise ValueError(f"{where}: {name} exceed the int64 range")
    offsets = np.ascontiguousarray(offsets, dtype=np.int64)
    if offsets[0] < 0 or offsets[-1] > n_codes:
        raise ValueError(
            f"{where}: {name} must lie in [0, {n_codes}] (len(codes)), "
            f"got first {int(offsets[0])} and last {int(offsets[-1])}"
        )
    if len(offsets) > 1:
        negative = np.diff(offsets) < 0
        if negative.any():
            bad = int(np.flatnonzero(negative)[0])
            raise ValueError(
                f"{where}: {name} must not decrease ({item} {bad} has a negative length)"
            )
    return offsets


def c_table(where: str, name: str, arr: Any, dtype: Any, shape: str, n_cols: int) -> np.ndarray:
    """``arr`` itself when it is a C-contiguous 2-D ``dtype`` array of ``n_cols`` columns
    (the kernels write into it or read it in place); ``shape`` is how the message writes the
    expected shape, e.g. ``"uint32[n, 9]"``."""
    if (
        not isinstance(arr, np.ndarray)
        or arr.dtype != np.dtype(dtype)
        or arr.ndim != 2
        or arr.shape[1] != n_cols
        or not arr.flags.c_contiguous
    ):
        raise ValueError(f"{where}: {name} must be a C-contiguous {shape}, got {describe(arr)}")
    return arr
