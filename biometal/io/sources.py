"""Open any input as a stream of (decompressed) bytes: local path, ``-`` (stdin), http(s) URL.

Gzip is recognised by its magic bytes (``1f 8b``), never by the file name, and multi-member
streams (BGZF, ``cat a.gz b.gz``) are read through to the end. Decompression uses ISA-L
(the ``isal`` package, about 2x faster than zlib) when it is installed, else the standard
library. Nothing is downloaded or decompressed ahead: URLs are streamed.

Every failure a user can cause comes back as a :class:`~biometal.errors.BiometalError` with
a one-line message naming the input: a missing file or a 404 (:class:`InputSourceError`),
a dropped connection (:class:`InputSourceError`), a truncated or corrupt gzip stream
(:class:`~biometal.errors.InputFormatError`).
"""

from __future__ import annotations

import gzip
import http.client
import io
import os
import sys
import urllib.error
import urllib.request
import zlib
from typing import BinaryIO

from biometal.errors import BiometalError, InputFormatError
from biometal.io.paths import is_url

try:  # ISA-L: same format as zlib, faster inflate. Optional.
    from isal import igzip as _igzip
    from isal.igzip_lib import IsalError as _IsalError

    _GzipReader: type[gzip.GzipFile] = _igzip.IGzipFile
    _GZIP_ERRORS: tuple[type[BaseException], ...] = (gzip.BadGzipFile, zlib.error, _IsalError)
except ImportError:  # pragma: no cover - depends on the environment
    _GzipReader = gzip.GzipFile
    _GZIP_ERRORS = (gzip.BadGzipFile, zlib.error)

GZIP_MAGIC = b"\x1f\x8b"
STDIN_NAME = "<stdin>"
#: seconds a URL may stay silent (connect or between reads) before it is an error.
DEFAULT_URL_TIMEOUT = 60.0
_BUFFER = 1 << 20


class InputSourceError(BiometalError):
    """An input cannot be opened or read (missing file, HTTP error, dropped connection).

    The message is ``"<path or URL>: what"``.
    """

    def __init__(self, path: str, what: str) -> None:
        self.path = str(path)
        self.what = what
        super().__init__(f"{self.path}: {what}")


def display_name(path: str | os.PathLike) -> str:
    """The name error messages use for ``path`` (``<stdin>`` for ``-``)."""
    text = os.fspath(path)
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    return STDIN_NAME if text == "-" else text


def _one_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())


class _Guarded(io.RawIOBase):
    """Raw stream that turns low-level read failures into one-line BiometalErrors.

    ``read(n)`` passes through to the wrapped stream (no extra copy); ``readinto`` makes it
    usable under :class:`io.BufferedReader`.
    """

    def __init__(
        self,
        inner,
        name: str,
        *,
        remote: bool,
        gz: bool,
        close_inner: bool = True,
        also_close=None,
    ) -> None:
        super().__init__()
        self._inner = inner
        self.name = name
        self._remote = remote
        self._gz = gz
        self._close_inner = close_inner
        self._also_close = also_close  # e.g. the file under a GzipFile, which keeps it open

    def readable(self) -> bool:
        return True

    @property
    def compressed(self) -> bool:
        """True when this stream decompresses gzip."""
        return self._gz

    @property
    def remote(self) -> bool:
        """True when this stream reads from a URL."""
        return self._remote

    def _translate(self, exc: BaseException) -> BiometalError:
        if isinstance(exc, BiometalError):
            return exc
        if self._gz and isinstance(exc, EOFError):
            return InputFormatError(
                self.name,
                None,
                "truncated gzip stream (the data ends before the gzip end-of-stream marker)",
            )
        if self._gz and isinstance(exc, _GZIP_ERRORS):
            return InputFormatError(self.name, None, f"corrupt gzip stream: {_one_line(exc)}")
        if isinstance(exc, http.client.IncompleteRead):
            return InputSourceError(
                self.name, "connection closed before the end of the body: incomplete download"
            )
        if isinstance(exc, TimeoutError):
            return InputSourceError(self.name, "timed out while reading")
        kind = "network error" if self._remote else "read error"
        return InputSourceError(self.name, f"{kind}: {_one_line(exc)}")

    def _errors(self) -> tuple[type[BaseException], ...]:
        errs: tuple[type[BaseException], ...] = (OSError, http.client.HTTPException)
        if self._gz:
            errs = errs + (EOFError,) + _GZIP_ERRORS
        return errs

    def _check_complete(self) -> None:
        # http.client returns b"" (no IncompleteRead) when a Content-Length body is cut
        # short in read(n)/readinto; its ``length`` still holds the missing byte count.
        missing = getattr(self._inner, "length", None) if self._remote else None
        if missing:
            raise InputSourceError(
                self.name,
                f"connection closed with {missing} bytes of the body still to come: "
                "incomplete download",
            )

    def read(self, size: int = -1) -> bytes:
        try:
            data = self._inner.read(size)
        except self._errors() as exc:
            raise self._translate(exc) from None
        if not data and size != 0:
            self._check_complete()
        return data

    def readinto(self, buffer) -> int:
        try:
            if hasattr(self._inner, "readinto"):
                n = self._inner.readinto(buffer)
            else:
                data = self._inner.read(len(memoryview(buffer)))
                memoryview(buffer)[: len(data)] = data
                n = len(data)
        except self._errors() as exc:
            raise self._translate(exc) from None
        if not n and len(memoryview(buffer)):
            self._check_complete()
        return n

    def close(self) -> None:
        if not self.closed:
            for stream in (self._inner if self._close_inner else None, self._also_close):
                if stream is not None:
                    try:
                        stream.close()
                    except (OSError, http.client.HTTPException):
                        pass
        super().close()


class _Prefixed(io.RawIOBase):
    """Replays ``head`` (bytes already read to sniff the format) before the rest of ``inner``."""

    def __init__(self, head: bytes, inner, *, close_inner: bool = True) -> None:
        super().__init__()
        self._head = head
        self._inner = inner
        self._close_inner = close_inner

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self._head:
            head = self._head
            if size is None or size < 0:
                self._head = b""
                return head + self._inner.read()
            if size <= len(head):
                self._head = head[size:]
                return head[:size]
            self._head = b""
            return head + self._inner.read(size - len(head))
        return self._inner.read(size)

    def readinto(self, buffer) -> int:
        data = self.read(len(memoryview(buffer)))
        memoryview(buffer)[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed and self._close_inner:
            try:
                self._inner.close()
            except (OSError, http.client.HTTPException):
                pass
        super().close()


def _read_head(raw, n: int) -> bytes:
    head = b""
    while len(head) < n:
        part = raw.read(n - len(head))
        if not part:
            break
        head += part
    return head


def _open_url(url: str, timeout: float):
    try:
        return urllib.request.urlopen(url, timeout=timeout)  # noqa: S310 - http(s) only
    except urllib.error.HTTPError as exc:
        raise InputSourceError(url, f"HTTP {exc.code} {_one_line(exc.reason or '')}") from None
    except urllib.error.URLError as exc:
        reason = exc.reason if isinstance(exc.reason, str) else _one_line(exc.reason)
        raise InputSourceError(url, f"cannot open URL: {reason}") from None
    except TimeoutError:
        raise InputSourceError(url, "timed out while connecting") from None
    except (OSError, http.client.HTTPException) as exc:
        raise InputSourceError(url, f"network error: {_one_line(exc)}") from None


def open_raw(path: str | os.PathLike, *, timeout: float = DEFAULT_URL_TIMEOUT) -> _Guarded:
    """Like :func:`open_input` but returns the unbuffered stream (``read(n)`` without copies).

    Used by the parsers, which read large blocks. Its ``name`` is the display name.
    """
    text = os.fspath(path)
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    name = display_name(text)
    remote = is_url(text)
    close_inner = True
    if text == "-":
        inner = sys.stdin.buffer
        close_inner = False
    elif remote:
        inner = _open_url(text, timeout)
    else:
        try:
            inner = open(text, "rb", buffering=_BUFFER)  # noqa: SIM115 - closed by the wrapper
        except FileNotFoundError:
            raise InputSourceError(name, "no such file") from None
        except IsADirectoryError:
            raise InputSourceError(name, "is a directory, not a file") from None
        except OSError as exc:
            raise InputSourceError(name, f"cannot open: {_one_line(exc)}") from None
    plain = _Guarded(inner, name, remote=remote, gz=False, close_inner=close_inner)
    try:
        head = _read_head(plain, 2)
        stream = _Prefixed(head, plain)
        if head != GZIP_MAGIC:
            return _Guarded(stream, name, remote=remote, gz=False)
        buffered = io.BufferedReader(stream, buffer_size=_BUFFER)
        gz = _GzipReader(fileobj=buffered, mode="rb")
        return _Guarded(gz, name, remote=remote, gz=True, also_close=buffered)
    except BaseException:
        plain.close()
        raise


def open_input(path: str | os.PathLike, *, timeout: float = DEFAULT_URL_TIMEOUT) -> BinaryIO:
    """Open ``path`` for reading and return a binary stream of its decompressed bytes.

    ``path`` is a local file, ``"-"`` (standard input, which is not closed with the stream)
    or an ``http(s)://`` URL (streamed; ``timeout`` seconds without data is an error).
    Gzip is detected from the first two bytes; multi-member gzip/BGZF is supported.
    Errors are one-line :class:`~biometal.errors.BiometalError` naming ``path``: a missing
    file, an HTTP error status or a dropped connection (:class:`InputSourceError`), a
    truncated or corrupt gzip stream (:class:`~biometal.errors.InputFormatError`, raised
    by ``read`` when the damage is reached). Use as a context manager to close it.
    """
    raw = open_raw(path, timeout=timeout)
    reader = io.BufferedReader(raw, buffer_size=_BUFFER)
    return reader  # type: ignore[return-value]
