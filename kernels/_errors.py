"""The kernels package's own error (the lowest module of the package: it imports nothing)."""

from __future__ import annotations


class BackendError(RuntimeError):
    """A compute backend cannot be used as requested. The message is one line.

    ``biometal.kernels`` does not import ``biometal``; the library layer translates this
    into its own user-facing error.
    """
