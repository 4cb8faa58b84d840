"""Binary output files that are atomic, deterministic and compress off the main thread.

:class:`OutputFile` is the one implementation every writer builds on (FASTQ, simulated
tables): the data goes to a temporary name next to the target and is renamed only when the
file is closed without error; gzip output (``.gz`` suffix) carries ``mtime=0`` and no file
name, so the same bytes in give a byte-identical file; compression runs on one background
thread (zlib releases the GIL), so the caller formats the next block while this one is
compressed. At most one block waits, so memory stays bounded.
"""

from __future__ import annotations

import gzip
import os
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

from biometal.io.atomic import atomic_path

#: Default gzip level. Level 1 compresses a 63 MB FASTQ in 1.3 s vs 4.5 s at level 6, for a
#: file 7% larger (measured on the 2-core reference machine, see biometal.simulate).
DEFAULT_COMPRESSLEVEL = 1


class OutputFile:
    """Atomic binary output; gzip when ``gz`` (default: the path ends in ``.gz``).

    Use as a context manager (or call :meth:`close`); on an exception inside the ``with``
    block the temporary file is removed and ``path`` is left untouched.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        compresslevel: int = DEFAULT_COMPRESSLEVEL,
        *,
        gz: bool | None = None,
    ) -> None:
        self.path = Path(path)
        self.gz = self.path.name.endswith(".gz") if gz is None else gz
        self._pending: Future | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._stack: ExitStack | None = ExitStack()
        try:
            tmp = self._stack.enter_context(atomic_path(self.path))
            raw = self._stack.enter_context(open(tmp, "wb"))
            if self.gz:
                self._out = self._stack.enter_context(
                    gzip.GzipFile(
                        filename="",
                        mode="wb",
                        fileobj=raw,
                        compresslevel=int(compresslevel),
                        mtime=0,
                    )
                )
                self._pool = self._stack.enter_context(ThreadPoolExecutor(max_workers=1))
            else:
                self._out = raw
        except BaseException:
            self._stack.close()
            raise

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Queue ``data`` for writing (waits for the previous block first)."""
        self._wait()
        if self._pool is None:
            self._out.write(data)
        else:
            self._pending = self._pool.submit(self._out.write, data)

    def _wait(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()

    def close(self) -> None:
        """Finish the file and move it into place (idempotent)."""
        if self._stack is None:
            return
        stack, self._stack = self._stack, None
        try:
            self._wait()
        except BaseException as exc:
            stack.__exit__(type(exc), exc, exc.__traceback__)  # removes the temporary file
            raise
        stack.close()

    def abort(self, exc: BaseException | None = None) -> None:
        """Drop the file: remove the temporary name, leave ``path`` untouched."""
        if self._stack is None:
            return
        stack, self._stack = self._stack, None
        if self._pending is not None:
            self._pending.cancel()
        err = exc if exc is not None else RuntimeError("output aborted")
        try:
            stack.__exit__(type(err), err, err.__traceback__)
        except BaseException as raised:  # atomic_path re-raises the exception it was given
            if raised is not err:
                raise

    def __enter__(self) -> OutputFile:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort(exc)


def write_bytes(
    path: str | os.PathLike, data: bytes, compresslevel: int = DEFAULT_COMPRESSLEVEL
) -> None:
    """Write ``data`` to ``path`` atomically (gzip by suffix, deterministic)."""
    with OutputFile(path, compresslevel) as out:
        out.write(data)
