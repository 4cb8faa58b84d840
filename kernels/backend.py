"""Compute backend resolution: ``compute.backend: auto | metal | cpu`` (DESIGN.md section 3).

Order of precedence: an explicit argument (the library passes config ``compute.backend``
here), else the environment variable ``BIOMETAL_BACKEND``, else ``"auto"``.

- ``cpu``: the numba twins, available everywhere.
- ``metal``: Apple GPU through metalcompute. Requested where metalcompute cannot be imported
  or no Metal device answers, this is a :class:`BackendError`, never a silent fallback.
- ``auto``: ``metal`` when metalcompute imports and a device answers, else ``cpu``.

The Metal probe runs once per process and is cached (:func:`clear_cache` resets it).
"""

from __future__ import annotations

import functools
import os

from . import metal_runner
from ._errors import BackendError

ENV_VAR = "BIOMETAL_BACKEND"
BACKENDS = ("auto", "metal", "cpu")


@functools.cache
def _probe_metal() -> tuple[bool, str]:
    try:
        return True, metal_runner.device_name()
    except BackendError as exc:
        return False, str(exc)


def metal_status() -> tuple[bool, str]:
    """Probe Metal once: ``(True, device name)`` or ``(False, reason it is unavailable)``."""
    return _probe_metal()


def metal_available() -> bool:
    """True when metalcompute imports and a Metal device answers (cached)."""
    return metal_status()[0]


def clear_cache() -> None:
    """Forget the cached Metal probe, device and compiled kernels (for tests)."""
    _probe_metal.cache_clear()
    metal_runner.clear_cache()


def resolve_backend(requested: str | None = None) -> str:
    """Return ``"metal"`` or ``"cpu"`` for ``requested`` (auto | metal | cpu, any case).

    ``None`` (or an empty string) means: use ``$BIOMETAL_BACKEND``, else ``"auto"``.
    Raises :class:`BackendError` for an unknown value, or for ``metal`` where it is missing.
    """
    if requested is not None and str(requested).strip():
        value, source = str(requested), "config compute.backend / backend argument"
    elif os.environ.get(ENV_VAR, "").strip():
        value, source = os.environ[ENV_VAR], f"environment variable {ENV_VAR}"
    else:
        value, source = "auto", "default"
    choice = value.strip().lower()
    if choice not in BACKENDS:
        raise BackendError(
            f"unknown compute backend {value!r} (from {source}); "
            f"allowed values: {', '.join(BACKENDS)}"
        )
    if choice == "cpu":
        return "cpu"
    available, detail = metal_status()
    if choice == "auto":
        return "metal" if available else "cpu"
    if not available:
        raise BackendError(
            f"compute backend 'metal' requested (via {source}) but metalcompute is not "
            f"available: {detail}; use 'cpu' or 'auto' instead"
        )
    return "metal"
