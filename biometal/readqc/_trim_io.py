"""FASTQ text in, FASTQ text out, for the adapter trimmer: no per-read Python objects.

The records come as validated text blocks from the project's one FASTQ parser
(:mod:`biometal.io.fastx`: decompression on a background thread, line-numbered errors); the
trimmer decodes only the bases and qualities it searches
(:func:`biometal.readqc._adapter_kernels.unpack`) and writes each record by slicing the text
of its block (:func:`~biometal.readqc._adapter_kernels.emit`): the header line as read, the
bases upper-case ``ACGTN``, ``+``, the qualities. Mates are read in lock-step and their IDs
compared in the text (:func:`~biometal.readqc._adapter_kernels.first_mate_mismatch`), with
the errors of :mod:`biometal.io.mates`. Memory: a few blocks of ``block_size`` bytes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from biometal.io.fastx import DEFAULT_BLOCK_SIZE, TextBlock, path_blocks
from biometal.io.mates import check_distinct, count_error, mismatch_error
from biometal.io.sinks import DEFAULT_COMPRESSLEVEL, OutputFile

#: bytes per write() call: one large write costs several times the CPU of the same bytes in
#: pieces that stay in the cache (measured: 0.40 s vs 0.05 s for 160 MB in 20 MB / 64 kB).
_WRITE_PIECE = 1 << 16


@dataclass(slots=True)
class Window:
    """``k`` consecutive records of one block, from record ``i0``."""

    block: TextBlock
    i0: int
    k: int

    @property
    def span(self) -> int:
        """Bytes of text of these records."""
        st, en = self.block.starts, self.block.ends
        return int(en[4 * (self.i0 + self.k) - 1]) + 1 - int(st[4 * self.i0])


class Unpacked:
    """Reusable flat arrays of a window's codes, qualities and offsets (grown as needed)."""

    def __init__(self) -> None:
        self.codes = np.empty(0, np.uint8)
        self.qual = np.empty(0, np.uint8)
        self.offsets = np.empty(1, np.int64)
        self.k = 0
        self.n_bases = 0
        self.lengths = np.empty(0, np.int64)

    def fill(self, kernels, w: Window, with_qual: bool) -> None:
        """Decode window ``w`` (:func:`~biometal.readqc._adapter_kernels.unpack`)."""
        if self.codes.size < w.span:
            self.codes = np.empty(2 * w.span, np.uint8)
            self.qual = np.empty(2 * w.span, np.uint8)
        if self.offsets.size < w.k + 1:
            self.offsets = np.empty(2 * w.k + 1, np.int64)
        b = w.block
        n = kernels.unpack(
            b.arr, b.starts, b.ends, w.i0, w.k, self.codes, self.qual, self.offsets, with_qual
        )
        self.k = w.k
        self.n_bases = n
        self.lengths = np.diff(self.offsets[: w.k + 1])

    @property
    def offs(self) -> np.ndarray:
        """int64[k + 1]: read ``r`` of the last :meth:`fill` is at ``offs[r]:offs[r + 1]``."""
        return self.offsets[: self.k + 1]


def windows(path: str | os.PathLike, max_reads: int) -> Iterator[Window]:
    """The records of a FASTQ file as windows of at most ``max_reads`` records."""
    for block in path_blocks(path, DEFAULT_BLOCK_SIZE):
        for i0 in range(0, block.n, max_reads):
            yield Window(block, i0, min(max_reads, block.n - i0))


def mate_windows(
    fq1: str | os.PathLike, fq2: str | os.PathLike, max_reads: int, kernels
) -> Iterator[tuple[Window, Window]]:
    """Both mate files in lock-step: pairs of windows of the same records (at most
    ``max_reads``), mate IDs checked; errors as :func:`biometal.io.mates.mate_chunks`."""
    check_distinct(fq1, fq2)
    it1 = path_blocks(fq1, DEFAULT_BLOCK_SIZE)
    it2 = path_blocks(fq2, DEFAULT_BLOCK_SIZE)
    b1 = b2 = None
    i1 = i2 = 0
    n = 0
    while True:
        if b1 is None or i1 == b1.n:
            b1, i1 = next(it1, None), 0
        if b2 is None or i2 == b2.n:
            b2, i2 = next(it2, None), 0
        if b1 is None or b2 is None:
            if b1 is None and b2 is None:
                return
            n1 = n + (b1.n - i1 if b1 is not None else 0) + sum(b.n for b in it1)
            n2 = n + (b2.n - i2 if b2 is not None else 0) + sum(b.n for b in it2)
            raise count_error(fq1, fq2, n1, n2)
        k = min(b1.n - i1, b2.n - i2, max_reads)
        bad = kernels.first_mate_mismatch(
            b1.arr, b1.starts, b1.ends, i1, b2.arr, b2.starts, b2.ends, i2, k
        )
        if bad >= 0:
            raise mismatch_error(
                fq1, fq2, n + bad + 1, _mate_id(b1, i1 + bad), _mate_id(b2, i2 + bad)
            )
        yield Window(b1, i1, k), Window(b2, i2, k)
        i1 += k
        i2 += k
        n += k


def _mate_id(block: TextBlock, r: int) -> str:
    from biometal.io.mates import mate_id

    line = block.arr[int(block.starts[4 * r]) + 1 : int(block.ends[4 * r])]
    return mate_id(line.tobytes())


class TrimmedWriter:
    """Atomic FASTQ output (gzip when the name ends in ``.gz``, :class:`OutputFile`) of
    windows whose reads are cut to given lengths (``_adapter_kernels.emit``)."""

    def __init__(self, path: str | os.PathLike, kernels) -> None:
        self._sink = OutputFile(path, DEFAULT_COMPRESSLEVEL)
        self._k = kernels
        self._buf = np.empty(0, np.uint8)

    def __enter__(self) -> TrimmedWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self._sink.close()
        else:
            self._sink.abort(exc)

    def write(self, w: Window, cut: np.ndarray) -> None:
        """Append the records of ``w``, read ``r`` cut to its first ``cut[r]`` bases."""
        if self._buf.size < w.span:
            self._buf = np.empty(2 * w.span, np.uint8)
        b = w.block
        n = self._k.emit(b.arr, b.starts, b.ends, w.i0, w.k, cut, self._buf)
        view = memoryview(self._buf)[:n]
        if self._sink.gz:  # compressed on a background thread: hand it its own bytes
            self._sink.write(bytes(view))
            return
        for p in range(0, n, _WRITE_PIECE):
            self._sink.write(view[p : p + _WRITE_PIECE])
