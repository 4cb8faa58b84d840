"""Streaming FASTQ / FASTA: records, numpy read chunks, and a FASTQ writer.

Inputs are anything :func:`~biometal.io.sources.open_input` opens (path, ``-``, http(s) URL,
plain or gzip). The parsers read large blocks of decompressed text (``block_size`` bytes,
1 MiB by default), locate every line with numpy, validate all records of the block at once
and carry an incomplete last record over to the next block, so peak memory depends on the
block and chunk sizes only, never on the file size.

FASTQ is the 4-line format (header, sequence, ``+`` line, quality); multi-line FASTQ is not
supported (a wrapped record is reported as malformed). CRLF line ends are accepted and give
exactly the records an LF file gives. Malformed input raises
:class:`~biometal.errors.InputFormatError` whose one-line message starts with
``path:line:`` (1-based line number of the offending line): a header not starting with
``@``, a third line not starting with ``+``, sequence and quality of different lengths, a
truncated last record, a non-ASCII byte, a control/space byte in a sequence line, a quality
character below ``!``. An empty file has zero records. Reads of length 0 are valid.

Record fields: ``FastqRecord.name`` is the whole header line after ``@`` (read ID plus any
comment, so writing it back is lossless; ``.id`` is the part before the first whitespace).
"""

from __future__ import annotations

import codecs
import itertools
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache, partial
from types import ModuleType
from typing import NamedTuple

import numpy as np

from biometal.errors import InputFormatError
from biometal.io.encoding import DECODE_LUT, ENCODE_LUT
from biometal.io.prefetch import prefetch
from biometal.io.sinks import DEFAULT_COMPRESSLEVEL, OutputFile
from biometal.io.sources import STDIN_NAME, open_raw

#: bytes of decompressed text parsed at a time.
DEFAULT_BLOCK_SIZE = 1 << 20
#: reads per :class:`ReadChunk`.
DEFAULT_CHUNK_READS = 65536
_AT, _PLUS, _NL = 64, 43, 10


class FastqRecord(NamedTuple):
    """One FASTQ read: ``name`` (header line without ``@``), ``seq`` and ``qual`` (Phred+33)."""

    name: str
    seq: str
    qual: str

    @property
    def id(self) -> str:
        """The read ID: ``name`` up to the first whitespace."""
        return (self.name.split(None, 1) or [""])[0]


class FastaRecord(NamedTuple):
    """One FASTA record: ``name`` (header line without ``>``) and the joined ``seq``."""

    name: str
    seq: str

    @property
    def id(self) -> str:
        """The sequence ID: ``name`` up to the first whitespace."""
        return (self.name.split(None, 1) or [""])[0]


# tuple.__new__ through partial: builds a record without a Python-level __new__ call.
_make_fastq = partial(tuple.__new__, FastqRecord)


@dataclass(eq=False, slots=True)
class ReadChunk:
    """A fixed number of FASTQ reads as flat numpy arrays (the kernels' input).

    ``codes``: uint8[n_bases], all sequences concatenated (A=0 C=1 G=2 T=3, else 4).
    ``qual``: uint8[n_bases], Phred scores (the quality character minus 33); empty when
    read with ``with_qual=False``.
    ``offsets``: int64[n_reads + 1]; read ``i`` is ``codes[offsets[i]:offsets[i + 1]]``.
    ``names``: the header lines without ``@`` (bytes), or None when not asked for.
    ``first_line``: 1-based line number of the chunk's first record in its file.
    ``id_hash``: uint64[n_reads], a 64-bit hash of each read's ID as aligners compare mates
    (the header up to the first space or tab, without a trailing ``/1`` or ``/2``), or None
    when not asked for (:func:`biometal.io.mates.check_mates` compares two chunks with it).
    ``len(chunk)`` is the number of reads.
    """

    codes: np.ndarray
    qual: np.ndarray
    offsets: np.ndarray
    names: list[bytes] | None = None
    first_line: int = 1
    id_hash: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        """int64[n_reads]: read lengths in bases."""
        return np.diff(self.offsets)

    def records(self) -> Iterator[FastqRecord]:
        """The reads as :class:`FastqRecord` (upper-case ACGTN; names ``""`` if absent)."""
        seq = DECODE_LUT[self.codes].tobytes().decode("ascii")
        qual = (np.minimum(self.qual, 93) + 33).astype(np.uint8).tobytes().decode("ascii")
        off = self.offsets.tolist()
        names = self.names if self.names is not None else [b""] * len(self)
        for i, name in enumerate(names):
            a, b = off[i], off[i + 1]
            yield FastqRecord(name.decode("latin-1"), seq[a:b], qual[a:b])


@lru_cache(maxsize=1)
def _kernels() -> ModuleType:
    from biometal.io import _kernels as kernels

    return kernels


# --------------------------------------------------------------------------- block parser


#: read and decompress on a background thread (gzip or URL inputs); see _prefetched.
PREFETCH = True
_PREFETCH_DEPTH = 4  # blocks waiting in the queue: bounds the extra memory


def _blocks(stream, block_size: int) -> Iterator[bytes]:
    """``stream`` in blocks of ``block_size`` bytes, without a UTF-8 byte-order mark at its
    start (a text editor's; it is no part of a FASTQ or FASTA record)."""
    read = stream.read
    block = read(block_size)
    while 0 < len(block) < len(_BOM) and _BOM.startswith(block):  # tiny blocks
        more = read(block_size)
        if not more:
            break
        block += more
    if block.startswith(_BOM):
        block = block[len(_BOM) :] or read(block_size)
    while block:
        yield block
        block = read(block_size)


_BOM = b"\xef\xbb\xbf"


def _prefetched(stream, block_size: int) -> Iterator[bytes]:
    """Blocks of ``stream`` read by a daemon thread, at most _PREFETCH_DEPTH ahead.

    Decompression (ISA-L/zlib release the GIL while inflating) then overlaps parsing. The
    thread owns ``stream`` and closes it when it ends: at end of input, on an error (which
    is re-raised here, in the consumer) or soon after the consumer stops iterating.
    """
    return prefetch(
        _blocks(stream, block_size), _PREFETCH_DEPTH, name="biometal-read", on_exit=stream.close
    )


def _open_blocks(path: str | os.PathLike, block_size: int) -> tuple[str, Iterator[bytes]]:
    """(display name, blocks of decompressed bytes); the stream closes when they are done."""
    stream = open_raw(path)
    # stdin too: a read blocked on an idle pipe in the main thread would never see a Ctrl-C
    # that the OS delivered to another thread; the consumer of a prefetch wakes up regularly
    if PREFETCH and (stream.compressed or stream.remote or stream.name == STDIN_NAME):
        return stream.name, _prefetched(stream, block_size)

    def blocks() -> Iterator[bytes]:
        with stream:
            yield from _blocks(stream, block_size)

    return stream.name, blocks()


@dataclass(eq=False, slots=True)
class TextBlock:
    """Complete FASTQ records of one text block: line ``j`` is ``buf[starts[j]:ends[j]]``."""

    buf: bytearray
    arr: np.ndarray  # uint8 view of buf (writable)
    starts: np.ndarray  # int64[4n]
    ends: np.ndarray  # int64[4n], position of each line's '\n'
    n: int  # number of records
    first_line: int  # line number of the first record's header


def _show_byte(value: int) -> str:
    if value >= 128:
        return f"0x{value:02X}"
    return f"0x{value:02X} ({chr(value)!r})"


def _show_line(arr: np.ndarray, start: int, end: int) -> str:
    if start == end:
        return "an empty line"
    text = arr[start : min(end, start + 30)].tobytes().decode("latin-1")
    return repr(text + ("..." if end - start > 30 else ""))


def _validate(
    arr: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    other: np.ndarray,
    first_line: int,
    name: str,
) -> None:
    """Raise InputFormatError for the first (lowest line) problem in the block, if any.

    ``other`` are positions of bytes < 33 or >= 128 that are not '\\n'.
    """
    errors: list[tuple[int, str]] = []
    heads = starts[0::4]
    bad = np.flatnonzero(arr[heads] != _AT)
    if bad.size:
        i = int(bad[0])
        found = _show_line(arr, int(heads[i]), int(ends[4 * i]))
        what = f"expected '@' at start of FASTQ record header, found {found}"
        errors.append((first_line + 4 * i, what))
    plus = starts[2::4]
    bad = np.flatnonzero(arr[plus] != _PLUS)
    if bad.size:
        i = int(bad[0])
        found = _show_line(arr, int(plus[i]), int(ends[4 * i + 2]))
        what = f"expected '+' at start of FASTQ separator line (record line 3), found {found}"
        errors.append((first_line + 4 * i + 2, what))
    seq_len = ends[1::4] - starts[1::4]
    qual_len = ends[3::4] - starts[3::4]
    bad = np.flatnonzero(seq_len != qual_len)
    if bad.size:
        i = int(bad[0])
        what = (
            f"sequence length {int(seq_len[i])} != quality length {int(qual_len[i])} "
            f"in the record starting at line {first_line + 4 * i}"
        )
        errors.append((first_line + 4 * i + 3, what))
    if other.size:
        line_idx = np.searchsorted(ends, other)
        values = arr[other]
        kind = line_idx % 4
        bad = np.flatnonzero((values >= 128) | (kind == 1) | (kind == 3))
        if bad.size:
            j = int(bad[0])
            value, li = int(values[j]), int(line_idx[j])
            column = int(other[j]) - int(starts[li]) + 1
            if value >= 128:
                what = f"non-ASCII byte {_show_byte(value)} at column {column}"
            elif li % 4 == 1:
                what = f"unexpected byte {_show_byte(value)} in sequence at column {column}"
            else:
                what = (
                    f"quality character {_show_byte(value)} at column {column} "
                    "is below '!' (Phred+33)"
                )
            errors.append((first_line + li, what))
    if errors:
        line, what = min(errors)
        raise InputFormatError(name, line, what)


def _scan(buf: bytearray, first_line: int, name: str) -> tuple[TextBlock | None, int]:
    """Find and validate the complete records at the start of ``buf``.

    Returns the block (None when ``buf`` holds less than one record) and the number of
    bytes it covers; the rest of ``buf`` is the start of the next record.
    """
    arr = np.frombuffer(buf, dtype=np.uint8)
    low = np.flatnonzero(arr.view(np.int8) < 33)  # '\n', other controls, space, >= 128
    is_nl = arr[low] == _NL
    newlines = low[is_nl]
    n = len(newlines) // 4
    if n == 0:
        return None, 0
    ends = newlines[: 4 * n]
    end = int(ends[-1]) + 1
    starts = np.empty_like(ends)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    other = low[~is_nl]
    if other.size:
        other = other[: np.searchsorted(other, end)]
    _validate(arr, starts, ends, other, first_line, name)
    return TextBlock(buf, arr, starts, ends, n, first_line), end


def _last_record(tail: bytes, first_line: int, name: str) -> TextBlock | None:
    """The end of the file: at most one (possibly truncated) record with < 4 newlines."""
    if b"\r" in tail:
        tail = tail.replace(b"\r\n", b"\n")
    if not tail.strip():
        return None  # trailing blank lines
    unterminated = not tail.endswith(b"\n")
    lines = (tail + b"\n" if unterminated else tail).split(b"\n")[:-1]
    present = len(lines)
    last_line = first_line + present - 1
    truncated = None
    if present < 4:
        truncated = (
            f"truncated FASTQ record: the file ends after {present} of the 4 lines of "
            f"the record starting at line {first_line}"
        )
        # Pad to a full record so that the lines present get the usual checks first.
        seq = lines[1] if present >= 2 else b""
        lines = [lines[0], seq, lines[2] if present >= 3 else b"+", b"!" * len(seq)]
    elif unterminated and len(lines[3]) < len(lines[1]):
        truncated = (
            f"truncated FASTQ record: the file ends inside the quality line "
            f"({len(lines[3])} of {len(lines[1])} characters)"
        )
        lines[3] += b"!" * (len(lines[1]) - len(lines[3]))
    block, _ = _scan(bytearray(b"\n".join(lines) + b"\n"), first_line, name)
    if truncated or block is None:
        raise InputFormatError(name, last_line, truncated or "truncated FASTQ record")
    return block


def _fastq_blocks(blocks: Iterable[bytes], name: str) -> Iterator[TextBlock]:
    """Validated blocks of complete records, in file order."""
    pending: list[bytes] = []
    waiting = False  # the pending bytes hold less than one record (huge reads)
    pending_newlines = 0
    first_line = 1
    for block in blocks:
        pending.append(block)
        if waiting:  # do not rescan a growing buffer until it can hold a record
            pending_newlines += block.count(b"\n")
            if pending_newlines < 4:
                continue
        buf = bytearray().join(pending)
        if b"\r" in buf:
            buf = buf.replace(b"\r\n", b"\n")
        parsed, end = _scan(buf, first_line, name)
        if parsed is None:
            pending = [bytes(buf)]
            pending_newlines = buf.count(b"\n")
            waiting = True
            continue
        pending = [bytes(memoryview(buf)[end:])] if end < len(buf) else []
        waiting = False
        first_line += 4 * parsed.n
        yield parsed
    last = _last_record(b"".join(pending), first_line, name)
    if last is not None:
        yield last


def _block_records(block: TextBlock) -> Iterator[FastqRecord]:
    # Turn each header's '@' into '\n': one split then gives 5 fields per record
    # ('', name, seq, '+', qual) and the names come without '@' at no extra cost.
    block.arr[block.starts[0::4]] = _NL
    m = 5 * block.n
    end = int(block.ends[-1]) + 1
    lines = codecs.latin_1_decode(memoryview(block.buf)[:end])[0].split("\n")
    return map(_make_fastq, zip(lines[1:m:5], lines[2:m:5], lines[4:m:5]))  # noqa: B905


def _block_names(block: TextBlock) -> list[bytes]:
    block.arr[block.starts[0::4]] = _NL  # headers are not needed for codes/qual
    end = int(block.ends[-1]) + 1
    return bytes(memoryview(block.buf)[:end]).split(b"\n")[1 : 5 * block.n : 5]


# --------------------------------------------------------------------------- public readers


def path_blocks(path: str | os.PathLike, block_size: int) -> Iterator[TextBlock]:
    name, blocks = _open_blocks(path, block_size)
    yield from _fastq_blocks(blocks, name)


def read_fastq(
    path: str | os.PathLike, *, block_size: int = DEFAULT_BLOCK_SIZE
) -> Iterator[FastqRecord]:
    """Stream the records of a 4-line FASTQ file (plain/gzip, path, ``-`` or URL).

    Multi-line (wrapped) FASTQ is not supported: such a record is reported as malformed.

    Yields :class:`FastqRecord` (``name`` without ``@``, ``seq``, ``qual`` as ``str``).
    Raises :class:`~biometal.errors.InputFormatError` (``path:line: what``) on malformed
    input; memory is bounded by ``block_size`` (bytes of text parsed at a time). The file
    is opened on the first ``next()``.
    """
    # No Python frame per record: chain -> map -> zip run in C between blocks.
    return itertools.chain.from_iterable(map(_block_records, path_blocks(path, block_size)))


def read_fastq_chunks(
    path: str | os.PathLike,
    chunk_reads: int = DEFAULT_CHUNK_READS,
    with_names: bool = False,
    *,
    with_ids: bool = False,
    with_qual: bool = True,
    block_size: int = DEFAULT_BLOCK_SIZE,
) -> Iterator[ReadChunk]:
    """Stream a FASTQ file as :class:`ReadChunk` arrays of ``chunk_reads`` reads each.

    The last chunk holds the remaining reads (no empty chunk is yielded; an empty file
    yields nothing). ``with_names=True`` also fills ``ReadChunk.names`` (slower);
    ``with_ids=True`` fills ``ReadChunk.id_hash`` (a compiled loop over the headers: cheap);
    ``with_qual=False`` leaves ``ReadChunk.qual`` empty (the quality lines are still checked:
    callers that need only the bases save a copy and an array as large as ``codes``). Peak
    memory is about ``2 * chunk_reads * read_length + 3 * block_size`` bytes, whatever the
    file size. Errors as :func:`read_fastq`.
    """
    if chunk_reads < 1:
        raise ValueError(f"chunk_reads must be >= 1, got {chunk_reads}")
    fill = _kernels().fill_chunk
    fill_codes = _kernels().fill_codes
    hash_ids = _kernels().mate_id_hashes if with_ids else None
    lut = ENCODE_LUT
    n = nb = cap = 0
    codes = qual = offsets = np.empty(0, np.uint8)
    names: list[bytes] | None = None
    ids: np.ndarray | None = None
    chunk_first = 1
    for block in path_blocks(path, block_size):
        starts, ends = block.starts, block.ends
        seq_start = np.ascontiguousarray(starts[1::4])
        seq_len = ends[1::4] - seq_start
        qual_start = np.ascontiguousarray(starts[3::4])
        if hash_ids is not None:
            head_start = np.ascontiguousarray(starts[0::4])
            head_end = np.ascontiguousarray(ends[0::4])
        block_names = _block_names(block) if with_names else None
        i = 0
        while i < block.n:
            take = min(chunk_reads - n, block.n - i)
            lens = seq_len[i : i + take]
            if n == 0:  # start a chunk
                chunk_first = block.first_line + 4 * i
                offsets = np.empty(chunk_reads + 1, np.int64)
                offsets[0] = 0
                names = [] if with_names else None
                ids = np.empty(chunk_reads, np.uint64) if hash_ids is not None else None
                mean = float(seq_len.mean()) if nb == 0 else nb / chunk_reads
                cap = int(chunk_reads * mean * 1.05) + 1024
                codes = np.empty(cap, np.uint8)
                qual = np.empty(cap if with_qual else 0, np.uint8)
                nb = 0
            need = nb + int(lens.sum())
            if need > cap:
                cap = max(need, 2 * cap)
                codes = np.concatenate([codes[:nb], np.empty(cap - nb, np.uint8)])
                if with_qual:
                    qual = np.concatenate([qual[:nb], np.empty(cap - nb, np.uint8)])
            np.cumsum(lens, out=offsets[n + 1 : n + 1 + take])
            offsets[n + 1 : n + 1 + take] += nb
            s_start, q_start = seq_start[i : i + take], qual_start[i : i + take]
            if with_qual:
                fill(block.arr, s_start, q_start, lens, lut, codes, qual, nb)
            else:
                fill_codes(block.arr, s_start, lens, lut, codes, nb)
            if hash_ids is not None:
                hash_ids(block.arr, head_start[i : i + take], head_end[i : i + take], ids, n)
            if names is not None and block_names is not None:
                names.extend(block_names[i : i + take])
            nb = need
            n += take
            i += take
            if n == chunk_reads:
                yield ReadChunk(codes[:nb], qual[:nb], offsets, names, chunk_first, ids)
                n = 0
    if n:
        yield ReadChunk(
            codes[:nb],
            qual[:nb],
            offsets[: n + 1],
            names,
            chunk_first,
            None if ids is None else ids[:n],
        )


def _fasta_records(blocks: Iterable[bytes], name: str) -> Iterator[FastaRecord]:
    record_name: str | None = None
    parts: list[bytes] = []
    line0 = 1  # line number of text[0]
    carry = b""
    for block in itertools.chain(blocks, [None]):
        if block is None:
            if not carry:
                break
            text = carry if carry.endswith(b"\n") else carry + b"\n"
            carry = b""
        else:
            buf = carry + block
            cut = buf.rfind(b"\n")
            if cut < 0:
                carry = buf
                continue
            text, carry = buf[: cut + 1], buf[cut + 1 :]
        if b"\r" in text:
            text = text.replace(b"\r\n", b"\n")
        arr = np.frombuffer(text, dtype=np.uint8)
        high = np.flatnonzero(arr >= 128)
        if high.size:
            pos = int(high[0])
            column = pos - (text.rfind(b"\n", 0, pos) + 1) + 1
            raise InputFormatError(
                name,
                line0 + text.count(b"\n", 0, pos),
                f"non-ASCII byte {_show_byte(int(arr[pos]))} at column {column}",
            )
        pos, size = 0, len(text)
        while pos < size:
            if text[pos] == 62:  # '>'
                eol = text.index(b"\n", pos)
                if record_name is not None:
                    yield FastaRecord(record_name, _fasta_sequence(parts))
                record_name = text[pos + 1 : eol].decode("ascii")
                parts = []
                pos = eol + 1
                continue
            nxt = text.find(b"\n>", pos)
            seg_end = size if nxt < 0 else nxt + 1
            segment = text[pos:seg_end]
            if record_name is None:
                if segment.strip():
                    skip = len(segment) - len(segment.lstrip())
                    skip -= len(segment[:skip]) - len(segment[:skip].rstrip(b" \t\r"))
                    at = pos + skip
                    eol = text.index(b"\n", at)
                    raise InputFormatError(
                        name,
                        line0 + text.count(b"\n", 0, at),
                        "expected '>' at start of FASTA record header, found "
                        + _show_line(arr, at, eol),
                    )
            else:
                parts.append(segment)
            pos = seg_end
        line0 += text.count(b"\n")
    if record_name is not None:
        yield FastaRecord(record_name, _fasta_sequence(parts))


def _fasta_sequence(parts: list[bytes]) -> str:
    """A record's sequence lines joined, without line ends, spaces or tabs (as Biopython's
    FASTA parser: a space inside a sequence line is layout, not a base; it was counted)."""
    seq = b"".join(parts).replace(b"\n", b"")
    if b" " in seq or b"\t" in seq:
        seq = seq.replace(b" ", b"").replace(b"\t", b"")
    return seq.decode()


def read_fasta(
    path: str | os.PathLike, *, block_size: int = DEFAULT_BLOCK_SIZE
) -> Iterator[FastaRecord]:
    """Stream the records of a FASTA file (multi-line sequences joined; blank lines skipped).

    Memory: one record at a time (a whole chromosome for a genome) plus one block.
    Raises InputFormatError for text before the first ``>`` header or a non-ASCII byte.
    """
    name, blocks = _open_blocks(path, block_size)
    yield from _fasta_records(blocks, name)


def read_fastx(
    path: str | os.PathLike, *, block_size: int = DEFAULT_BLOCK_SIZE
) -> Iterator[FastqRecord | FastaRecord]:
    """Stream FASTA or FASTQ records, chosen by the first non-blank byte (``>`` or ``@``)."""
    name, blocks = _open_blocks(path, block_size)
    head = b""
    for block in blocks:
        head += block
        if head.strip():
            break
    body = head.lstrip()
    if not body:
        return
    chained = itertools.chain([head], blocks)
    if body[:1] == b">":
        yield from _fasta_records(chained, name)
    elif body[:1] == b"@":
        for parsed in _fastq_blocks(chained, name):
            yield from _block_records(parsed)
    else:
        at = len(head) - len(body)
        line = 1 + head.count(b"\n", 0, at)
        eol = head.find(b"\n", at)
        arr = np.frombuffer(head, dtype=np.uint8)
        found = _show_line(arr, at, len(head) if eol < 0 else eol)
        raise InputFormatError(
            name, line, f"expected '@' (FASTQ) or '>' (FASTA) at start, found {found}"
        )


# --------------------------------------------------------------------------- writer


class FastqWriter:
    """Write FASTQ to ``path``, gzip-compressed when it ends in ``.gz``.

    ``gz=None`` decides by suffix. Use as a context manager: the file appears only when the
    ``with`` block ends without an exception (written to a temporary name, then renamed).
    Gzip output is deterministic (mtime 0, no file name in the header): the same reads give
    byte-identical files.
    Compression runs on a background thread, overlapping formatting of the next batch.

    ``write(record)`` takes a :class:`FastqRecord` or any ``(name, seq, qual)`` of ``str``
    or ``bytes`` (``name`` without ``@``); ``write_chunk(chunk)`` writes a
    :class:`ReadChunk` (bases as upper-case ACGTN, names ``read<N>`` when it has none,
    N counting all reads written so far from 1).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        compresslevel: int = DEFAULT_COMPRESSLEVEL,
        *,
        gz: bool | None = None,
    ) -> None:
        self._sink = OutputFile(path, compresslevel, gz=gz)
        self.path = self._sink.path
        self.gz = self._sink.gz
        self.n_written = 0
        self._parts: list[str] = []
        self._nchars = 0

    def __enter__(self) -> FastqWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self._sink.abort(exc)  # removes the temporary file

    def _emit(self, data) -> None:
        self._sink.write(data)

    def _flush_text(self) -> None:
        if self._parts:
            self._emit("".join(self._parts).encode("ascii"))
            self._parts = []
            self._nchars = 0

    def write(self, record: FastqRecord | tuple) -> None:
        """Append one read: ``(name, seq, qual)``; ``seq`` and ``qual`` of equal length."""
        name, seq, qual = record
        if isinstance(name, bytes | bytearray):
            name = name.decode("ascii")
        if isinstance(seq, bytes | bytearray):
            seq = seq.decode("ascii")
        if isinstance(qual, bytes | bytearray):
            qual = qual.decode("ascii")
        if len(seq) != len(qual):
            raise ValueError(
                f"read {name!r}: sequence length {len(seq)} != quality length {len(qual)}"
            )
        text = f"@{name}\n{seq}\n+\n{qual}\n"
        self._parts.append(text)
        self._nchars += len(text)
        self.n_written += 1
        if self._nchars >= 1 << 22:
            self._flush_text()

    def write_many(self, records: Iterable[FastqRecord | tuple]) -> None:
        """Append every read of ``records`` (see :meth:`write`)."""
        for record in records:
            self.write(record)

    def write_chunk(self, chunk: ReadChunk) -> None:
        """Append the reads of a :class:`ReadChunk` (formatted by a compiled loop)."""
        n = len(chunk)
        if n == 0:
            return
        self._flush_text()
        if chunk.names is not None:
            if len(chunk.names) != n:
                raise ValueError(f"chunk has {n} reads but {len(chunk.names)} names")
            names = [x.encode("ascii") if isinstance(x, str) else bytes(x) for x in chunk.names]
        else:
            names = [b"read%d" % (self.n_written + i + 1) for i in range(n)]
        name_bytes = np.frombuffer(b"".join(names), dtype=np.uint8)
        name_offsets = np.zeros(n + 1, np.int64)
        np.cumsum([len(x) for x in names], out=name_offsets[1:])
        offsets = np.asarray(chunk.offsets, dtype=np.int64)
        n_bases = int(offsets[-1] - offsets[0])
        out = np.empty(6 * n + len(name_bytes) + 2 * n_bases, np.uint8)
        codes = np.ascontiguousarray(chunk.codes, dtype=np.uint8)
        qual = np.ascontiguousarray(chunk.qual, dtype=np.uint8)
        written = _kernels().format_fastq(
            codes, qual, offsets, name_bytes, name_offsets, DECODE_LUT, out
        )
        assert written == len(out)
        self._emit(out)
        self.n_written += n

    def close(self) -> None:
        """Finish the file and move it into place (idempotent)."""
        try:
            self._flush_text()
        except BaseException as exc:
            self._sink.abort(exc)
            raise
        self._sink.close()
