"""Reading a user's VCF (a truth set, a peer caller's calls) with one-line errors.

:func:`vcf_records` streams the records of a VCF (plain, gzip or bgzip) through cyvcf2 and
turns every problem into an :class:`~biometal.errors.InputFormatError` whose message starts
with ``path:line:`` where the line is knowable:

- a missing, empty or non-VCF file, a header htslib cannot parse (the first offending
  header line is named: no ``##fileformat=VCF`` first line, a ``#CHROM`` line without the
  eight tab-separated fixed columns, no ``#CHROM`` line at all);
- a bgzipped file without its BGZF end-of-file marker (cut short), a gzip stream that ends
  early or is corrupt;
- a record htslib cannot parse (the line is named, with what looks wrong in it);
- given the reference's contigs: a record on a contig the reference lacks, a position past
  the contig's end, a ``##contig`` header line whose length differs from the reference's
  (the VCF was made against another assembly).

Line numbers count the file's header lines and assume one line per record (no blank lines).
No index is needed: the file is read from start to end.
"""

from __future__ import annotations

import gzip
import os
import re
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from biometal.errors import InputFormatError

_BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
_FIXED = ("#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO")
_CONTIG = re.compile(r"^##contig=<(.*)>\s*$")


@dataclass
class VcfHeader:
    """What :func:`scan_header` learns from the header lines of a VCF."""

    lines: int = 0  # header lines, ``#CHROM`` included
    contig_lengths: dict[str, int] = field(default_factory=dict)
    problem: tuple[int | None, str] | None = None  # (line, what) of the first problem


def _open_text(path: str):
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt", encoding="latin-1", newline="")
    return open(path, encoding="latin-1", newline="")


def _show(text: str) -> str:
    text = text.rstrip("\r\n")
    return repr(text[:40] + ("..." if len(text) > 40 else ""))


def _compressed_problem(exc: BaseException) -> str:
    if isinstance(exc, EOFError):
        return "the compressed data ends early (a truncated .gz file)"
    return f"corrupt compressed data ({' '.join(str(exc).split())})"


def scan_header(path: str | os.PathLike) -> VcfHeader:
    """Count the header lines, read the ``##contig`` lengths and find the first problem."""
    out = VcfHeader()
    name = os.fspath(path)
    try:
        with _open_text(name) as fh:
            for n, line in enumerate(fh, start=1):
                if n == 1 and not line.startswith("##fileformat=VCF"):
                    out.problem = (
                        1,
                        f"not a VCF: expected '##fileformat=VCF...', found {_show(line)}",
                    )
                    return out
                if line.startswith("##"):
                    out.lines = n
                    m = _CONTIG.match(line.rstrip("\r\n"))
                    if m:
                        fields = dict(kv.split("=", 1) for kv in m.group(1).split(",") if "=" in kv)
                        length = fields.get("length", "")
                        if "ID" in fields and length.isdigit():
                            out.contig_lengths[fields["ID"]] = int(length)
                    continue
                if line.startswith("#CHROM"):
                    out.lines = n
                    cols = line.rstrip("\r\n").split("\t")
                    if tuple(cols[:8]) != _FIXED:
                        out.problem = (
                            n,
                            "the #CHROM line must list the tab-separated columns "
                            f"{' '.join(_FIXED)} (spaces instead of tabs?), found {_show(line)}",
                        )
                    return out
                out.problem = (n, f"no #CHROM header line before this line {_show(line)}")
                return out
    except (EOFError, OSError, zlib.error) as exc:
        out.problem = (None, _compressed_problem(exc))
        return out
    if out.lines == 0:
        out.problem = (None, "empty file: expected a VCF header ('##fileformat=VCF...')")
    else:
        out.problem = (None, "the header has no #CHROM line (the file ends in the header)")
    return out


def _record_problem(path: str, line_no: int) -> tuple[int | None, str]:
    """What looks wrong on line ``line_no`` of a VCF (after htslib failed on it); a
    compressed file that ends early is named as such (htslib reads ahead, so it fails on a
    line before the cut)."""
    line = None
    try:
        with _open_text(path) as fh:
            for n, text in enumerate(fh, start=1):
                if n == line_no:
                    line = text
                    problem = _line_problem(line, line_no)
                    if problem is not None:
                        return problem
                elif n > line_no:
                    break
            for _ in iter(lambda: fh.read(1 << 20), ""):  # is the rest readable?
                pass
    except (EOFError, OSError, zlib.error) as exc:
        return None, _compressed_problem(exc)
    if line is None:
        return None, "the file ends early (truncated?)"
    return line_no, f"htslib cannot parse this record: {_show(line)}"


def _line_problem(line: str, line_no: int) -> tuple[int, str] | None:
    fields = line.rstrip("\r\n").split("\t")
    if len(fields) < 8:
        return line_no, (
            f"a record needs at least 8 tab-separated fields, found {len(fields)}: {_show(line)}"
        )
    if not fields[1].isdigit():
        return line_no, f"POS {fields[1]!r} is not a positive integer"
    if not re.fullmatch(r"[A-Za-z*.]+", fields[3]):
        return line_no, f"REF {fields[3]!r} is not a sequence of bases"
    return None


def check_not_truncated(path: str | os.PathLike) -> None:
    """A bgzipped file (BGZF) must end with the BGZF end-of-file marker."""
    name = os.fspath(path)
    with open(name, "rb") as fh:
        head = fh.read(18)
        if not (head[:4] == b"\x1f\x8b\x08\x04" and head[12:14] == b"BC"):
            return  # plain text or plain gzip (whose truncation shows while reading)
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        fh.seek(max(0, size - len(_BGZF_EOF)))
        if fh.read() != _BGZF_EOF:
            raise InputFormatError(
                name,
                None,
                "truncated: the BGZF end-of-file marker is missing (the file was cut short or "
                "is still being written)",
            )


def vcf_records(
    path: str | os.PathLike,
    contigs: Mapping[str, int] | None = None,
    reference: str | os.PathLike | None = None,
) -> Iterator[tuple[int, object]]:
    """``(line, record)`` for every record of a VCF (cyvcf2 ``Variant`` objects).

    ``contigs``: the reference's contig lengths (see :func:`biometal.io.bam.reference_contigs`),
    ``reference`` its path (for messages). Errors: see the module docstring.
    """
    from cyvcf2 import VCF

    name = os.fspath(path)
    if not Path(name).is_file():
        raise InputFormatError(name, None, "VCF file not found")
    if Path(name).stat().st_size == 0:
        raise InputFormatError(
            name, None, "empty file: expected a VCF header ('##fileformat=VCF...')"
        )
    check_not_truncated(name)
    header = scan_header(name)
    if header.problem is not None:
        raise InputFormatError(name, *header.problem)
    ref_name = os.fspath(reference) if reference is not None else "the reference"
    if contigs is not None:
        for contig, length in header.contig_lengths.items():
            if contig in contigs and contigs[contig] != length:
                raise InputFormatError(
                    name,
                    None,
                    f"##contig '{contig}' has length {length} in the VCF header but "
                    f"{contigs[contig]} in {ref_name}; was the VCF made against another assembly?",
                )
    try:
        reader = VCF(name)
    except Exception as exc:  # noqa: BLE001 - cyvcf2 raises OSError or a bare Exception
        raise InputFormatError(
            name, None, f"htslib cannot read this VCF ({' '.join(str(exc).split())})"
        ) from None
    line = header.lines
    try:
        it = iter(reader)
        while True:
            try:
                rec = next(it)
            except StopIteration:
                return
            except Exception:  # noqa: BLE001 - cyvcf2 raises a bare Exception
                raise InputFormatError(name, *_record_problem(name, line + 1)) from None
            line += 1
            if contigs is not None:
                chrom = rec.CHROM
                length = contigs.get(chrom)
                if length is None:
                    shown = ", ".join(list(contigs)[:5]) + (", ..." if len(contigs) > 5 else "")
                    raise InputFormatError(
                        name,
                        line,
                        f"contig '{chrom}' is not in the reference {ref_name} (its contigs: "
                        f"{shown}); was the VCF made against another reference or naming "
                        "('chr1' vs '1')?",
                    )
                if rec.POS > length:
                    raise InputFormatError(
                        name,
                        line,
                        f"position {rec.POS} is past the end of contig '{chrom}' ({length} bp in "
                        f"{ref_name})",
                    )
            yield line, rec
    finally:
        reader.close()
