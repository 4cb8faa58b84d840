"""Write-then-rename, so that a failed or interrupted job never leaves a partial output."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


def _read_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()  # read once, at import (os.umask is process-wide, not thread-safe)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it to ``path`` only on success.

    The temporary file lives in the same directory (same filesystem, so the rename is
    atomic) and keeps the final suffixes (``.fastq.gz``) so format sniffing by suffix
    still works. On any exception the temporary file is removed and the exception
    propagates; an existing ``path`` is left untouched.

    A ``path`` that exists and is not a regular file (``/dev/null``, a FIFO, a terminal) is
    yielded as it is: renaming over it would replace the device with a file.
    """
    final = Path(path)
    if final.exists() and not final.is_file():
        yield final
        return
    suffix = "".join(final.suffixes)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(
            prefix=f".{final.name}.", suffix=f".tmp{suffix}", dir=final.parent
        )
    except OSError as exc:  # name the file the user asked for, not the temporary one
        why = "not a directory" if final.parent.is_file() else exc.strerror
        raise OSError(
            exc.errno, f"cannot write a file in {final.parent} ({why})", str(final)
        ) from None
    os.close(fd)
    # mkstemp makes the file 0600; give it the mode a plain open() would (0666 & ~umask).
    os.chmod(tmp, 0o666 & ~_UMASK)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    os.replace(tmp_path, final)


class AtomicWriter:
    """Base of the project's streaming writers: output goes to a temporary file next to
    ``path`` that becomes ``path`` on :meth:`close` and disappears on :meth:`abort` (or on
    an exception inside ``with``), so a failed job never leaves a partial file.

    Subclasses open what they write through in :meth:`_open` (entering files and thread
    pools on the given ``ExitStack``, which closes them in reverse order), finish pending
    work in :meth:`_finish` (before the rename) and drop it in :meth:`_cancel`.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._stack: contextlib.ExitStack | None = contextlib.ExitStack()
        try:
            self._tmp = self._stack.enter_context(atomic_path(self.path))
            self._open(self._stack, self._tmp)
        except BaseException:
            self._stack.close()
            raise

    def _open(self, stack: contextlib.ExitStack, tmp: Path) -> None:
        """Open the output on ``tmp`` (context managers go on ``stack``)."""

    def _finish(self) -> None:
        """Flush everything pending into the temporary file."""

    def _cancel(self) -> None:
        """Drop pending work (the temporary file is removed afterwards)."""

    def close(self) -> None:
        """Finish the file and move it into place (idempotent)."""
        if self._stack is None:
            return
        stack, self._stack = self._stack, None
        try:
            self._finish()
        except BaseException as exc:
            stack.__exit__(type(exc), exc, exc.__traceback__)  # removes the temporary file
            raise
        stack.close()

    def abort(self, exc: BaseException | None = None) -> None:
        """Drop the output: remove the temporary file, leave ``path`` untouched."""
        if self._stack is None:
            return
        stack, self._stack = self._stack, None
        self._cancel()
        err = exc if exc is not None else RuntimeError("output aborted")
        try:
            stack.__exit__(type(err), err, err.__traceback__)
        except BaseException as raised:  # atomic_path re-raises the exception it was given
            if raised is not err:
                raise

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort(exc)
