"""Checks of a reference FASTA that htslib's ``faidx`` does not make, with one-line errors.

- :func:`sniff_reference` (its first bytes): the file exists, is not empty, is FASTA (a
  FASTQ or text file is not taken for a reference: htslib indexes FASTQ too), is plain or
  bgzip-compressed (htslib cannot index plain gzip) and, bgzipped, ends with its BGZF
  end-of-file marker.
- :func:`diagnose_fasta` (after ``faidx`` failed; htslib's own reason goes to stderr): the
  first line that breaks the index's rules (uneven line lengths, a blank line inside a
  record, a record without sequence).
- :func:`check_fai_covers_fasta`: ``samtools faidx`` (and pysam, mappy and every tool built
  on htslib) keeps the first of two records with the same name and silently ignores the
  second ("Ignoring duplicate sequence" is only a warning): reads of the second copy would
  be mapped, piled up and called against the first. The check works from the ``.fai``:
  between the end of one indexed sequence and the start of the next there is room for
  exactly one header line, so any other ``>`` line there is a record the index left out.
  It reads only those gaps (a few hundred bytes per contig), not the sequence.
- :func:`check_unique_names`: the same by streaming the whole file (any FASTA, gzip too).

:func:`biometal.io.bam.reference_contigs`, which every consumer of a reference calls
(mapping, pileup, calling, variant evaluation), runs them.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from biometal.errors import BiometalError, InputFormatError

_PIECE = 1 << 20
#: bytes of a gap between two indexed sequences that are read (a header line is shorter).
_GAP_LIMIT = 1 << 20


def _fai_rows(fai: Path) -> list[tuple[str, int, int, int, int]]:
    rows = []
    for i, line in enumerate(fai.read_text().splitlines(), start=1):
        fields = line.split("\t")
        if not line.strip():
            continue
        try:
            name, length, offset, bases, width = fields[0], *map(int, fields[1:5])
        except (ValueError, IndexError):
            raise InputFormatError(
                str(fai), i, "not a FASTA index line (name, length, offset, bases, width)"
            ) from None
        rows.append((name, length, offset, bases, width))
    return rows


def _sequence_end(length: int, offset: int, bases: int, width: int) -> int:
    """Byte just after the last base (and its line end) of an indexed sequence."""
    if length <= 0 or bases <= 0:
        return offset
    full, rest = divmod(length, bases)
    return offset + full * width + (rest + width - bases if rest else 0)


def _gap_headers(fh, start: int, end: int) -> tuple[list[tuple[int, str]], bool]:
    """(byte offset, name) of the lines starting with ``>`` in the first :data:`_GAP_LIMIT`
    bytes of [start, end) (``start`` is at a line start), and whether the gap was longer."""
    fh.seek(start)
    data = fh.read(min(max(0, end - start), _GAP_LIMIT))
    text = b"\n" + data
    out: list[tuple[int, str]] = []
    i = text.find(b"\n>")
    while i >= 0:
        eol = text.find(b"\n", i + 1)
        parts = text[i + 2 : eol if eol >= 0 else len(text)].split(None, 1)
        out.append((start + i, parts[0].decode("latin-1") if parts else ""))
        i = text.find(b"\n>", i + 1)
    return out, end - start > _GAP_LIMIT


def check_fai_covers_fasta(reference: str | os.PathLike, fai: str | os.PathLike) -> None:
    """Raise :class:`~biometal.errors.InputFormatError` naming the file and the contig when
    the FASTA holds a record its ``.fai`` left out (a duplicate name, as htslib drops it).

    A bgzipped FASTA is read through its ``.gzi`` block index (only the blocks of the gaps
    are decompressed), or whole without one. Results are cached per file size and
    modification time.
    """
    ref, idx = Path(reference), Path(fai)
    st, si = ref.stat(), idx.stat()
    _check_cached(str(ref), st.st_size, st.st_mtime_ns, str(idx), si.st_size, si.st_mtime_ns)


@lru_cache(maxsize=32)
def _check_cached(ref: str, size: int, _mtime: int, fai: str, _fsize: int, _fmtime: int) -> None:
    rows = _fai_rows(Path(fai))
    names: dict[str, tuple] = {}
    for k, row in enumerate(rows, start=1):
        if row[0] in names:
            raise InputFormatError(fai, k, f"duplicate contig name '{row[0]}'")
        names[row[0]] = row
    with open(ref, "rb") as raw:
        compressed = raw.read(2) == b"\x1f\x8b"
    gzi = Path(f"{ref}.gzi")
    if compressed and not gzi.is_file():
        check_unique_names(ref)  # no block index: read it all
        return
    with open(ref, "rb") as raw:
        fh = _BgzfView(raw, gzi) if compressed else raw
        end = 1 << 62 if compressed else size
        ordered = sorted(rows, key=lambda r: r[2])
        prev_end = 0
        hidden = None
        for name, length, offset, bases, width in ordered:
            found, longer = _gap_headers(fh, prev_end, min(offset, end))
            # the gap ends with this record's own header (beyond the bytes read if longer)
            extra = found if longer else found[:-1]
            if extra:
                hidden = (extra[0][1], extra[0][0], name)
                break
            prev_end = _sequence_end(length, offset, bases, width)
        else:
            found, _ = _gap_headers(fh, prev_end, end)
            if found:
                hidden = (found[0][1], found[0][0], None)
    if hidden is None:
        return
    if compressed:  # name the lines: read the text once (error path only)
        check_unique_names(ref)
        raise InputFormatError(
            ref,
            None,
            f"record '{hidden[0]}' is missing from the .fai index (no sequence, or a stale "
            "index); remove empty records, delete the .fai and .gzi and run again",
        )
    _report(ref, names, *hidden)


class _BgzfView:
    """Seek (to an uncompressed offset) and read a bgzipped file through its ``.gzi`` block
    index, decompressing only the blocks that hold the bytes asked for."""

    def __init__(self, raw, gzi: Path) -> None:
        import numpy as np

        pairs = np.fromfile(gzi, dtype="<u8")
        n = int(pairs[0]) if pairs.size else 0
        table = pairs[1 : 1 + 2 * n].reshape(-1, 2) if n else np.zeros((0, 2), np.uint64)
        self._comp = [0, *table[:, 0].tolist()]
        self._plain = [0, *table[:, 1].tolist()]
        self._raw = raw
        self._pos = 0

    def seek(self, pos: int) -> None:
        self._pos = pos

    def read(self, n: int) -> bytes:
        import bisect
        import zlib

        i = bisect.bisect_right(self._plain, self._pos) - 1
        self._raw.seek(self._comp[i])
        skip = self._pos - self._plain[i]
        out = bytearray()
        while len(out) < skip + n:
            head = self._raw.read(18)
            if len(head) < 18:
                break
            bsize = int.from_bytes(head[16:18], "little") + 1
            block = head + self._raw.read(bsize - 18)
            data = zlib.decompress(block, 31)
            if not data and bsize == 28:  # the end-of-file block
                break
            out += data
        self._pos += min(n, max(0, len(out) - skip))
        return bytes(out[skip : skip + n])


def _line_of(path: str, byte: int) -> int:
    """1-based line number of the line holding ``byte`` (reads the file up to it)."""
    n, pos = 1, 0
    with open(path, "rb") as fh:
        while pos < byte:
            piece = fh.read(min(8 * _PIECE, byte - pos))
            if not piece:
                break
            n += piece.count(b"\n")
            pos += len(piece)
    return n


def _report(ref: str, rows: dict[str, tuple], hidden: str, at: int, before: str | None) -> None:
    line = _line_of(ref, at)
    if hidden in rows:
        first = _line_of(ref, rows[hidden][2]) - 1  # the header line before its sequence
        raise InputFormatError(
            ref,
            line,
            f"duplicate contig name '{hidden}' (first on line {first}); contig names must be "
            "unique, rename or remove one",
        )
    with open(ref, "rb") as fh:
        fh.seek(at)
        after = fh.read(1 << 16).split(b"\n", 1)
    rest = after[1].lstrip() if len(after) > 1 else b""
    if not rest or rest.startswith(b">"):
        raise InputFormatError(
            ref,
            line,
            f"record '{hidden}' has no sequence (htslib leaves it out of the index, so the "
            "tools would not see it); remove it",
        )
    where = f"before contig '{before}'" if before else "after the last contig"
    raise InputFormatError(
        ref,
        line,
        f"record '{hidden}' ({where}) is missing from the .fai index; delete the .fai and "
        "run again to rebuild it",
    )


def check_unique_names(path: str | os.PathLike) -> None:
    """Stream any FASTA (plain or gzip) and raise :class:`~biometal.errors.InputFormatError`
    at the first header whose name (up to the first whitespace) was seen before, naming the
    file, its line, the name and the line of the first one."""
    from biometal.io.sources import open_raw

    seen: dict[str, int] = {}
    line0 = 1
    carry = b""
    with open_raw(path) as stream:
        name = stream.name
        while True:
            piece = stream.read(8 * _PIECE)
            data = carry + piece
            if not piece:
                if not data:
                    break
                data += b"\n"
            cut = data.rfind(b"\n")
            if cut < 0:
                carry = data
                continue
            text, carry = data[: cut + 1], data[cut + 1 :]
            i = 0 if text.startswith(b">") else -1
            while True:
                if i < 0:
                    j = text.find(b"\n>")
                    if j < 0:
                        break
                    i = j + 1
                eol = text.index(b"\n", i)
                parts = text[i + 1 : eol].split(None, 1)
                rid = parts[0].decode("latin-1") if parts else ""
                line = line0 + text.count(b"\n", 0, i)
                if rid in seen:
                    raise InputFormatError(
                        name,
                        line,
                        f"duplicate contig name '{rid}' (first on line {seen[rid]}); contig "
                        "names must be unique, rename or remove one",
                    )
                seen[rid] = line
                j = text.find(b"\n>", eol)
                if j < 0:
                    break
                i = j + 1
            line0 += text.count(b"\n")
            if not piece:
                break


def _is_bgzf(head: bytes) -> bool:
    return head[:4] == b"\x1f\x8b\x08\x04" and head[12:14] == b"BC"


def _show(text: bytes) -> str:
    s = text[:30].decode("latin-1")
    return repr(s + ("..." if len(text) > 30 else ""))


def sniff_reference(path: str | os.PathLike) -> None:
    """Cheap checks of a reference FASTA before htslib indexes it (reads its first bytes):
    it exists and is a file, is not empty, is plain or bgzip-compressed (htslib cannot index
    plain gzip), a bgzipped file ends with its end-of-file marker, and its first non-blank
    line is a ``>`` header (a FASTQ file, say, is not taken for a reference)."""
    import gzip

    from biometal.io.bgzf import EOF_BLOCK

    ref = Path(path)
    name = str(ref)
    if not ref.is_file():
        raise InputFormatError(name, None, "reference FASTA not found")
    with open(ref, "rb") as fh:
        head = fh.read(1 << 16)
        if not head:
            raise InputFormatError(name, None, "empty file: expected a reference FASTA")
        if head[:2] == b"\x1f\x8b":
            if not _is_bgzf(head):
                raise InputFormatError(
                    name,
                    None,
                    "compressed with gzip, not bgzip: htslib (samtools faidx, pysam) can only "
                    "index a plain or bgzip-compressed FASTA; recompress it with "
                    "`zcat FILE | bgzip > FILE.bgz` or decompress it",
                )
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - len(EOF_BLOCK)))
            if fh.read() != EOF_BLOCK:
                raise InputFormatError(
                    name,
                    None,
                    "truncated: the BGZF end-of-file marker is missing (the file was cut short "
                    "or is still being written)",
                )
            fh.seek(0)
            try:
                with gzip.GzipFile(fileobj=fh) as gz:
                    head = gz.read(1 << 16)
            except (OSError, EOFError) as exc:
                raise InputFormatError(name, None, f"corrupt bgzip data ({exc})") from None
    body = head.lstrip()
    if not body:
        raise InputFormatError(name, None, "no sequence: the file holds only blank lines")
    if body.startswith(b"\xef\xbb\xbf"):  # a text editor's mark: htslib's .fai would not work
        raise InputFormatError(
            name,
            1,
            "starts with a UTF-8 byte-order mark (BOM), which samtools faidx and this "
            "reference's indexed access cannot skip; remove it, e.g. sed -i "
            "'1s/^\\xEF\\xBB\\xBF//' FILE",
        )
    if body[:1] != b">":
        line = 1 + head.count(b"\n", 0, len(head) - len(body))
        first = body.split(b"\n", 1)[0].rstrip(b"\r")
        what = "a FASTQ file" if body[:1] == b"@" else "not FASTA"
        raise InputFormatError(
            name,
            line,
            f"{what}: a reference FASTA starts with a '>' header line, found {_show(first)}",
        )


def diagnose_fasta(path: str | os.PathLike) -> tuple[int | None, str]:
    """Why htslib cannot index a FASTA: (line, what) of the first problem found (run after
    ``faidx`` failed; reads the file). Sequence lines of one record must all have the same
    length but the last; no blank line inside a record; every record has a sequence."""
    from biometal.io.sources import open_input

    width = None  # line length of the current record
    short_at = None  # line of a shorter line (must be the record's last)
    blank_at = None
    name, header_line, bases = None, 0, 0
    try:
        with open_input(path) as stream:
            for n, raw in enumerate(stream, start=1):
                line = raw.rstrip(b"\r\n")
                if line.startswith(b">"):
                    if name is not None and bases == 0:
                        return header_line, f"record '{name}' has no sequence"
                    name = (line[1:].split(None, 1) or [b""])[0].decode("latin-1")
                    header_line, bases, width, short_at, blank_at = n, 0, None, None, None
                    continue
                if not line.strip():
                    if name is not None and bases:
                        blank_at = n
                    continue
                if name is None:
                    return n, f"expected a '>' header line, found {_show(line)}"
                if blank_at is not None:
                    return n, (
                        f"blank line {blank_at} inside record '{name}': htslib cannot index a "
                        "record broken by blank lines; remove them"
                    )
                if short_at is not None:
                    return n, (
                        f"record '{name}' has lines of different lengths (line {short_at} is "
                        f"shorter than line {short_at - 1}): htslib needs all sequence lines of "
                        "a record but the last to have the same length; rewrap it (e.g. "
                        "`seqkit seq -w 60`)"
                    )
                if width is None:
                    width = len(line)
                elif len(line) > width:
                    return n, (
                        f"record '{name}' has lines of different lengths ({len(line)} bases "
                        f"after lines of {width}): htslib needs all sequence lines of a record "
                        "but the last to have the same length; rewrap it (e.g. `seqkit seq -w 60`)"
                    )
                elif len(line) < width:
                    short_at = n
                bases += len(line)
    except BiometalError as exc:  # a truncated or corrupt gzip stream
        return None, str(getattr(exc, "what", exc))
    if name is None:
        return None, "no '>' header line: not a FASTA file"
    if bases == 0:
        return header_line, f"record '{name}' has no sequence"
    return None, "htslib (samtools faidx) cannot index it"


class IndexedFasta:
    """Bases of an indexed FASTA by contig and range: what ``pysam.FastaFile`` gives the
    callers that fetch reference stretches (``fetch``, ``references``, ``lengths``,
    ``get_reference_length``), read for a plain FASTA straight from its ``.fai`` offsets
    (a seek and a read per fetch, line ends dropped: LF or CRLF) without importing pysam
    (0.012-0.015 s of every short job's start: ``python -c "import numpy, time; t =
    time.perf_counter(); import pysam; print(time.perf_counter() - t)"``, three runs).
    A bgzipped FASTA, or one without a current ``.fai``, is read by pysam (htslib builds
    the index). Letters are returned as stored (soft-masked bases stay lower case);
    ``start`` below 0 counts from 0, ``end`` past the contig stops at its end; an unknown
    contig is a ``KeyError``, as with pysam."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = str(path)
        self._fa = None
        self._fh = None
        fai = Path(f"{self.path}.fai")
        with open(self.path, "rb") as fh:
            head = fh.read(2)
        if (
            head == b"\x1f\x8b"
            or not fai.is_file()
            or fai.stat().st_mtime < os.stat(self.path).st_mtime
        ):
            import pysam

            self._fa = pysam.FastaFile(self.path)
            self.references = tuple(self._fa.references)
            self.lengths = tuple(self._fa.lengths)
            return
        rows = _fai_rows(fai)
        self._index = {
            name: (length, offset, bases, width) for name, length, offset, bases, width in rows
        }
        self.references = tuple(r[0] for r in rows)
        self.lengths = tuple(r[1] for r in rows)
        self._fh = open(self.path, "rb")  # noqa: SIM115 - kept open for the fetches

    def get_reference_length(self, contig: str) -> int:
        if self._fa is not None:
            return self._fa.get_reference_length(contig)
        return self._index[contig][0]

    def fetch(self, contig: str, start: int = 0, end: int | None = None) -> str:
        if self._fa is not None:
            return self._fa.fetch(contig, start, end)
        length, offset, bases, width = self._index[contig]
        start = max(0, start)
        end = length if end is None else min(end, length)
        if end <= start or bases <= 0:
            return ""
        a = offset + (start // bases) * width + start % bases
        b = offset + (end // bases) * width + end % bases
        self._fh.seek(a)
        return self._fh.read(b - a).translate(None, b"\r\n").decode("ascii")

    def close(self) -> None:
        if self._fa is not None:
            self._fa.close()
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def __enter__(self) -> IndexedFasta:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
