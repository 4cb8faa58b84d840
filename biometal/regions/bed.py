"""BED (BED3-BED12), bedGraph and genome-file readers, and a BED writer.

Coordinates are 0-based half-open ``int64``. Header lines (``#...``, ``track``, ``browser``),
blank lines, CRLF line ends and a UTF-8 BOM are accepted; any other malformed record is a
one-line :class:`~biometal.errors.InputFormatError` naming ``file:line``.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from biometal.errors import BiometalError, InputFormatError
from biometal.io import open_input
from biometal.io.atomic import atomic_path

#: strand codes in :attr:`Intervals.strand`
STRAND_CODE = {"+": 1, "-": -1, ".": 0}
_STRAND_CHAR = np.array([".", "+", "-"], dtype=object)  # index by code % 3 (-1 -> 2)


@dataclass
class Intervals:
    """Columnar intervals.

    ``chrom``: ``int32`` codes into ``chrom_names``; ``start``/``end``: ``int64`` 0-based
    half-open; ``tail``: ``object`` array of the text after the third column (``""`` for
    BED3), kept verbatim for output; ``strand``: ``int8`` (+1, -1, 0 for ``.``, absent or
    not a strand);
    ``lineno``: 1-based source line of each record (for messages); ``ncols``: fields per
    record in the file (3 for BED3; the largest seen).
    """

    chrom_names: list[str]
    chrom: np.ndarray
    start: np.ndarray
    end: np.ndarray
    tail: np.ndarray
    strand: np.ndarray
    path: str = "<intervals>"
    lineno: np.ndarray | None = None
    ncols: int = 3
    _names: np.ndarray | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.start)

    def chrom_str(self) -> np.ndarray:
        """Chromosome name of each record (``object`` array)."""
        return np.asarray(self.chrom_names, dtype=object)[self.chrom]

    def column(self, k: int) -> np.ndarray:
        """BED column ``k`` (1-based; 4 = name, 5 = score, 6 = strand) as strings; ``"."``
        where a record has fewer columns."""
        if k == 1:
            return self.chrom_str()
        if k in (2, 3):
            return (self.start if k == 2 else self.end).astype(str).astype(object)
        out = np.empty(len(self), dtype=object)
        for i, t in enumerate(self.tail):
            parts = t.split("\t")
            out[i] = parts[k - 4] if len(parts) > k - 4 and t else "."
        return out

    @property
    def is_sorted(self) -> bool:
        """True if records are grouped by chromosome and sorted by start within each one
        (what ``bedtools ... -sorted`` requires; chromosomes in any order)."""
        if len(self) < 2:
            return True
        c, s = self.chrom, self.start
        same = c[1:] == c[:-1]
        if np.any(same & (s[1:] < s[:-1])):
            return False
        firsts = c[np.r_[True, ~same]]
        return len(np.unique(firsts)) == len(firsts)

    def lines(self) -> list[str]:
        """Records as BED lines (no newline)."""
        names = self.chrom_str()
        return [
            f"{c}\t{s}\t{e}\t{t}" if t else f"{c}\t{s}\t{e}"
            for c, s, e, t in zip(
                names, self.start.tolist(), self.end.tolist(), self.tail, strict=True
            )
        ]

    def to_frame(self) -> pd.DataFrame:
        """``chrom start end`` (+ ``name score strand`` when the file has them) DataFrame."""
        df = pd.DataFrame({"chrom": self.chrom_str(), "start": self.start, "end": self.end})
        for k, col in ((4, "name"), (5, "score"), (6, "strand")):
            if self.ncols >= k:
                df[col] = self.column(k)
        return df


def _decode(raw: bytes, lineno: int) -> str:
    line = raw.decode("utf-8", errors="replace")
    if lineno == 1 and line.startswith("\ufeff"):
        line = line[1:]
    return line.rstrip("\r\n")


def _is_header(line: str) -> bool:
    return (
        not line.strip()
        or line.startswith("#")
        or line.startswith("track")
        or line.startswith("browser")
    )


#: records per chunk of :func:`iter_bed` / :func:`iter_bedgraph` by default
DEFAULT_CHUNK = 1_000_000
_READ = 1 << 22  # bytes read from the stream at a time
_BOM = b"\xef\xbb\xbf"
_FAST_MIN_LINES = 64


class _LineBlocks:
    """Whole lines of a binary stream, ``n`` at a time: ``take(n)`` gives
    ``(first line number, bytes of up to n lines)`` or ``None`` at the end. Newlines are
    found by numpy on each read buffer, so blocks are cut without a Python loop per line."""

    def __init__(self, fh) -> None:
        self.fh = fh
        self.buf = b""
        self.nl = np.zeros(0, dtype=np.int64)  # newline offsets in buf
        self.i = 0  # next unused newline
        self.start = 0  # first unused byte of buf
        self.lineno = 1
        self.eof = False

    def _fill(self) -> bool:
        data = self.fh.read(_READ)
        if not data:
            self.eof = True
            return False
        rest = self.buf[self.start :]  # a partial line (no newline): small
        self.buf = rest + data if rest else data
        self.nl = np.flatnonzero(np.frombuffer(self.buf, dtype=np.uint8) == 10)
        self.i = self.start = 0
        return True

    def take(self, n: int) -> tuple[int, bytes] | None:
        parts: list = []
        got = 0
        view = memoryview(self.buf)
        while got < n:
            avail = len(self.nl) - self.i
            if avail:
                k = min(n - got, avail)
                end = int(self.nl[self.i + k - 1]) + 1
                parts.append(view[self.start : end])
                self.start, self.i, got = end, self.i + k, got + k
                continue
            if self.eof or not self._fill():
                if self.start < len(self.buf):  # last line without a newline
                    parts.append(memoryview(self.buf)[self.start :])
                    self.start = len(self.buf)
                    got += 1
                break
            view = memoryview(self.buf)
        if not parts:
            return None
        first = self.lineno
        self.lineno += got
        return first, b"".join(parts)


class _BedParser:
    """Parses line blocks into :class:`Intervals` pieces with one chromosome coding (codes in
    order of first appearance) shared by every block of a file."""

    def __init__(self, name: str, min_cols: int) -> None:
        self.name = name
        self.min_cols = min_cols
        self.codes: dict[str, int] = {}
        self.ncols = 3

    def parse(self, first: int, block: bytes) -> Intervals | None:
        if first == 1 and block.startswith(_BOM):
            block = block[len(_BOM) :]
        pos = 0  # past leading header / blank lines, so that the fast path can take the rest
        while pos < len(block):
            cut = block.find(b"\n", pos) + 1 or len(block)
            if not _is_header(_decode(block[pos:cut], 2)):
                break
            pos = cut
            first += 1
        if pos == len(block):
            return None
        block = block[pos:] if pos else block
        got = self._fast(first, block)
        if got is None:
            got = self._checked(first, block)
        iv = Intervals(*got[:6], path=self.name, lineno=got[6], ncols=self.ncols)
        return iv if len(iv) else None

    def _checked(self, first: int, block: bytes):
        """Line by line, naming the first bad line."""
        name, min_cols, codes = self.name, self.min_cols, self.codes
        chrom: list[int] = []
        starts: list[int] = []
        ends: list[int] = []
        tails: list[str] = []
        strands: list[int] = []
        linenos: list[int] = []
        ncols = 0
        raws = block.split(b"\n")
        if raws and raws[-1] == b"":
            raws.pop()
        for lineno, raw in enumerate(raws, first):
            line = _decode(raw, lineno)
            if _is_header(line):
                continue
            f = line.split("\t", 3)
            if len(f) < 3 or len(f) < min(min_cols, 4):
                raise InputFormatError(
                    name, lineno, f"expected at least {max(3, min_cols)} tab-separated BED fields"
                )
            try:
                s = int(f[1])
                e = int(f[2])
            except ValueError:
                raise InputFormatError(
                    name, lineno, f"start/end must be integers, got '{f[1]}' '{f[2]}'"
                ) from None
            if s < 0 or e < s:
                raise InputFormatError(name, lineno, f"need 0 <= start <= end, got {s} {e}")
            if e >= 1 << 63:
                raise InputFormatError(name, lineno, f"end {e} does not fit in 64 bits")
            tail = f[3] if len(f) == 4 else ""
            n = 3 + (tail.count("\t") + 1 if len(f) == 4 else 0)
            if n < min_cols:
                raise InputFormatError(
                    name, lineno, f"expected at least {min_cols} tab-separated fields, got {n}"
                )
            st = 0
            if n >= 6:  # a column 6 that is no strand (BED-plus, e.g. a Bismark count, as
                # bedtools reads it): no strand; the text stays in the record's fields
                st = STRAND_CODE.get(tail.split("\t", 3)[2], 0)
            ncols = max(ncols, n)
            c = codes.setdefault(f[0], len(codes))
            chrom.append(c)
            starts.append(s)
            ends.append(e)
            tails.append(tail)
            strands.append(st)
            linenos.append(lineno)
        self.ncols = max(self.ncols, ncols)
        return (
            list(codes),
            np.asarray(chrom, dtype=np.int32),
            np.asarray(starts, dtype=np.int64),
            np.asarray(ends, dtype=np.int64),
            np.asarray(tails, dtype=object),
            np.asarray(strands, dtype=np.int8),
            np.asarray(linenos, dtype=np.int64),
        )

    def _fast(self, first: int, block: bytes):
        """pandas' C tokenizer on a block that starts with a record; ``None`` (use
        :meth:`_checked`, which names the bad line) on anything unusual: header, blank or
        short lines, a field-count change, a non-integer coordinate, a bad strand."""
        nlines = block.count(b"\n") + (not block.endswith(b"\n"))
        if nlines < _FAST_MIN_LINES:
            return None  # pandas' set-up costs more than checking a few lines
        eol = block.find(b"\n")
        ncols0 = block[: eol if eol >= 0 else len(block)].count(b"\t") + 1
        if ncols0 < max(3, self.min_cols) or block.count(b"\t") != nlines * (ncols0 - 1):
            return None  # not every line has the first line's field count
        dtype: dict = {k: str for k in range(ncols0)}
        dtype[1] = dtype[2] = np.int64
        try:
            df = pd.read_csv(
                io.BytesIO(block),
                sep="\t",
                header=None,
                dtype=dtype,
                keep_default_na=False,
                na_filter=False,
                quoting=3,
                encoding="utf-8",
                engine="c",
                comment=None,
                skip_blank_lines=True,
            )
        except Exception:  # noqa: BLE001 - any oddity: the line reader reports it exactly
            return None
        if df.shape[1] != ncols0 or len(df) != nlines:
            return None
        names = df[0]
        if names.str.startswith(("#", "track", "browser")).any() or (names == "").any():
            return None
        s, e = df[1].to_numpy(), df[2].to_numpy()
        if s.dtype != np.int64 or e.dtype != np.int64:
            return None
        if np.any(s < 0) or np.any(e < s):
            return None
        strand = np.zeros(len(df), dtype=np.int8)
        if ncols0 >= 6:  # column 6 other than + / -: no strand (see _checked)
            sc = df[5].astype(str)
            strand = (sc == "+").to_numpy(np.int8) - (sc == "-").to_numpy(np.int8)
        if ncols0 > 3:
            tail = df[3].astype(str)
            for k in range(4, ncols0):
                tail = tail + "\t" + df[k].astype(str)
            tail = tail.to_numpy(dtype=object)
        else:
            tail = np.full(len(df), "", dtype=object)
        local, uniques = pd.factorize(names, sort=False)
        codes = self.codes
        glob = np.asarray([codes.setdefault(str(u), len(codes)) for u in uniques], np.int32)
        self.ncols = max(self.ncols, ncols0)
        return (
            list(codes),
            glob[local] if len(glob) else local.astype(np.int32),
            s.astype(np.int64),
            e.astype(np.int64),
            tail,
            strand,
            np.arange(first, first + len(df), dtype=np.int64),
        )


def _empty(path: str | os.PathLike) -> Intervals:
    return Intervals(
        chrom_names=[],
        chrom=np.zeros(0, np.int32),
        start=np.zeros(0, np.int64),
        end=np.zeros(0, np.int64),
        tail=np.zeros(0, dtype=object),
        strand=np.zeros(0, np.int8),
        path=str(path),
        lineno=np.zeros(0, np.int64),
        ncols=3,
    )


def _concat(pieces: list[Intervals], keep_lineno: bool = True) -> Intervals:
    """One :class:`Intervals` from pieces of one file (same chromosome coding; the last
    piece's ``chrom_names`` cover every earlier piece's)."""
    if len(pieces) == 1 and (keep_lineno or pieces[0].lineno is None):
        return pieces[0]
    last = pieces[-1]
    cat = np.concatenate
    return Intervals(
        chrom_names=list(last.chrom_names),
        chrom=cat([p.chrom for p in pieces]),
        start=cat([p.start for p in pieces]),
        end=cat([p.end for p in pieces]),
        tail=cat([p.tail for p in pieces]),
        strand=cat([p.strand for p in pieces]),
        path=last.path,
        lineno=cat([p.lineno for p in pieces]) if keep_lineno else None,
        ncols=max(p.ncols for p in pieces),
    )


def iter_bed(
    path: str | os.PathLike, chunk_size: int = DEFAULT_CHUNK, *, min_cols: int = 3
) -> Iterator[Intervals]:
    """Stream a BED file (plain or gzip, a path, ``-`` for stdin or a URL) as
    :class:`Intervals` chunks of ``chunk_size`` records (the last one fewer), checked as
    :func:`read_bed` checks them; memory is one chunk, not the file.

    Every chunk codes chromosomes the same way (codes in order of first appearance in the
    file): ``chrom_names`` of a chunk lists every name seen so far, so codes of different
    chunks compare directly and the last chunk's names cover all. ``lineno`` is the true
    1-based line of each record; ``ncols`` the most fields seen so far. A malformed line
    is a one-line :class:`~biometal.errors.InputFormatError` naming ``file:line``, raised
    when its chunk is reached (earlier chunks have been yielded by then).
    """
    if chunk_size < 1:
        raise BiometalError(f"chunk_size must be >= 1, got {chunk_size}")
    parser = _BedParser(str(path), min_cols)
    pending: list[Intervals] = []
    have = 0
    with open_input(path) as fh:
        blocks = _LineBlocks(fh)
        while (got := blocks.take(chunk_size - have)) is not None:
            piece = parser.parse(*got)
            del got  # locals are dropped before the next block is read: one chunk held
            if piece is None:
                continue
            pending.append(piece)
            have += len(piece)
            del piece
            if have == chunk_size:  # blocks are cut to never overshoot
                out, pending, have = _concat(pending), [], 0
                yield out
                del out
    if pending:
        yield _concat(pending)


def read_bed(
    path: str | os.PathLike, *, min_cols: int = 3, line_numbers: bool = False
) -> Intervals:
    """Read a BED file (plain or gzip; BED3 to BED12 and extra columns) into :class:`Intervals`.

    Checked per record: at least ``min_cols`` tab-separated fields, integer ``start <= end``
    with ``start >= 0``, a strand of ``+``, ``-`` or ``.`` in column 6. The file is the
    concatenation of :func:`iter_bed`'s chunks (each parsed by pandas' C tokenizer when
    well-formed, else line by line, which names the first bad line). ``lineno`` is ``None``
    when record ``i`` is on line ``i + 1`` (no header or blank lines), unless
    ``line_numbers``. Memory is about twice the size of the result.
    """
    pieces = []
    plain = True  # record i on line i + 1 so far
    n = 0
    for piece in iter_bed(path, DEFAULT_CHUNK, min_cols=min_cols):
        ln = piece.lineno
        plain = plain and int(ln[0]) == n + 1 and int(ln[-1]) == n + len(piece)
        n += len(piece)
        pieces.append(piece)
    if not pieces:
        return _empty(path)
    return _concat(pieces, keep_lineno=line_numbers or not plain)


def iter_bedgraph(
    path: str | os.PathLike, chunk_size: int = DEFAULT_CHUNK
) -> Iterator[tuple[Intervals, np.ndarray]]:
    """Stream a bedGraph file as ``(Intervals, float64 values)`` chunks (see
    :func:`iter_bed`); a non-numeric value is an error naming its line."""
    for iv in iter_bed(path, chunk_size, min_cols=4):
        yield iv, _bedgraph_values(iv)


def _bedgraph_values(iv: Intervals) -> np.ndarray:
    text = iv.tail if iv.ncols == 4 else np.asarray([t.split("\t", 1)[0] for t in iv.tail], object)
    try:
        return text.astype(np.float64)  # float() on each: the same syntax as the loop below
    except ValueError:
        pass
    for i, v in enumerate(text):
        try:
            float(v)
        except ValueError:
            raise InputFormatError(
                iv.path, int(iv.lineno[i]), f"bedGraph value must be a number, got '{v}'"
            ) from None
    raise AssertionError("unreachable")  # pragma: no cover


def read_bedgraph(path: str | os.PathLike) -> tuple[Intervals, np.ndarray]:
    """A bedGraph file: its :class:`Intervals` and the ``float64`` value (column 4) of each
    (the concatenation of :func:`iter_bedgraph`'s chunks; ``lineno`` always set)."""
    pieces, values = [], []
    for iv, v in iter_bedgraph(path):
        pieces.append(iv)
        values.append(v)
    if not pieces:
        return _empty(path), np.zeros(0, np.float64)
    return _concat(pieces), np.concatenate(values)


def read_genome(path: str | os.PathLike) -> dict[str, int]:
    """A genome (chrom sizes) file, ``name<TAB>length`` per line, or a ``.fai``: ``{name: length}``
    in file order."""
    out: dict[str, int] = {}
    with open_input(path) as fh:
        for lineno, raw in enumerate(fh, 1):
            line = _decode(raw, lineno)
            if not line.strip() or line.startswith("#"):
                continue
            f = line.split("\t")
            try:
                size = int(f[1])
            except (IndexError, ValueError):
                raise InputFormatError(
                    str(path), lineno, "expected 'name<TAB>length' with an integer length"
                ) from None
            if f[0] in out:
                raise InputFormatError(str(path), lineno, f"chromosome '{f[0]}' listed twice")
            out[f[0]] = size
    if not out:
        raise BiometalError(f"{path}: genome file has no chromosomes")
    return out


def write_bed(iv: Intervals, path: str | os.PathLike) -> None:
    """Write ``iv`` as BED text (atomically: no partial file on error)."""
    with atomic_path(path) as tmp, open(tmp, "w") as out:
        for line in iv.lines():
            out.write(line + "\n")
