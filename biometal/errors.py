"""User-facing errors.

A :class:`BiometalError` is a mistake in the user's input (a malformed file, a bad config
key, a missing path). Its message is one line that names the file, line/record or key and
says what was wrong. Entry points (Snakemake scripts, the Snakefile) print it without a
traceback and exit non-zero; programming errors keep their tracebacks.
"""

from __future__ import annotations

import sys


class BiometalError(Exception):
    """A user-input error with a one-line, self-explanatory message."""


class InputFormatError(BiometalError, ValueError):
    """A file does not follow its format. The message starts with ``path:line:``."""

    def __init__(self, path: str, line: int | None, what: str) -> None:
        self.path = str(path)
        self.line = line
        self.what = what
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {what}")


class ConfigError(BiometalError, ValueError):
    """A config key is missing, unknown or has the wrong type/value. Names the key."""


def is_user_error(exc: BaseException) -> bool:
    """True for a user mistake: a :class:`BiometalError`, or the kernels'
    ``BackendError`` (an unusable ``compute.backend``; ``biometal.kernels`` does not import
    ``biometal``, so its error cannot subclass ours). Entry points print these as one line."""
    if isinstance(exc, BiometalError):
        return True
    backend = sys.modules.get("biometal.kernels.backend")
    return backend is not None and isinstance(exc, backend.BackendError)
