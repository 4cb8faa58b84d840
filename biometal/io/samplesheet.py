"""Sample sheets: tab-separated tables of samples and their files, validated row by row.

Format: a header line naming the columns, then one sample per line, tab-separated. Blank
lines and lines starting with ``#`` are ignored (but counted, so errors give the true line
number). Relative file paths are resolved against the directory that holds the sheet;
``http(s)://`` URLs and ``-`` (stdin) are passed through unchecked.

Every problem raises :class:`~biometal.errors.InputFormatError` naming the sheet, the line and
what is wrong: a missing or unknown column, a wrong number of fields, an empty or invalid
sample name, a duplicate sample, a value outside the allowed set, a file that does not exist.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from biometal.errors import InputFormatError

SAMPLE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def read_sheet_text(path: str | Path) -> str:
    """The text of a sheet: UTF-8, with or without a byte-order mark (as spreadsheet programs
    save it), or UTF-16 with its byte-order mark; any line ending (LF, CRLF, CR).

    Raises :class:`~biometal.errors.InputFormatError` for an unreadable file and for bytes
    that are not UTF-8 (e.g. a sheet saved as Latin-1 / Windows-1252), naming the line and
    column of the first such byte.
    """
    sheet = Path(path)
    try:
        data = sheet.read_bytes()
    except OSError as exc:
        raise InputFormatError(str(sheet), None, f"cannot read ({exc.strerror or exc})") from None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise InputFormatError(
                str(sheet), None, "starts with a UTF-16 byte-order mark but is not UTF-16 text"
            ) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        start = exc.start + (3 if data.startswith(codecs.BOM_UTF8) else 0)
        line = data.count(b"\n", 0, start) + 1
        column = start - (data.rfind(b"\n", 0, start) + 1) + 1
        raise InputFormatError(
            str(sheet),
            line,
            f"byte 0x{data[start]:02X} at column {column} is not UTF-8 (the file looks like "
            "Latin-1 or Windows-1252 text); save the sheet as UTF-8",
        ) from None


def _is_remote(value: str) -> bool:
    return value == "-" or value.startswith(("http://", "https://"))


def read_sample_sheet(
    path: str | Path,
    *,
    required: Iterable[str] = ("sample",),
    optional: Iterable[str] = (),
    file_columns: Iterable[str] = (),
    choices: Mapping[str, Iterable[str]] | None = None,
    min_distinct: Mapping[str, int] | None = None,
    check_files: bool = True,
) -> list[dict[str, str]]:
    """Read and validate a sample sheet; return one dict per sample, in file order.

    ``required`` columns must be present and non-empty on every row; ``optional`` columns may
    be absent or empty; any other column is an error. ``file_columns`` hold paths: they are
    made absolute (relative to the sheet's directory) and, with ``check_files``, must exist.
    ``choices`` restricts a column to a set of values; ``min_distinct`` asks a column to hold at
    least that many distinct values (e.g. two conditions to compare).
    """
    sheet = Path(path)
    if not sheet.is_file():
        raise InputFormatError(str(sheet), None, "sample sheet not found")
    required = list(required)
    optional = list(optional)
    allowed = required + [c for c in optional if c not in required]
    files = set(file_columns)
    choices = {k: set(v) for k, v in (choices or {}).items()}

    rows: list[dict[str, str]] = []
    seen: dict[str, int] = {}
    header: list[str] | None = None
    header_line = 0
    text = read_sheet_text(sheet)
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip("\r")
        if not line.strip() or line.startswith("#"):
            continue
        fields = [f.strip() for f in line.split("\t")]
        if header is None:
            header, header_line = fields, lineno
            for col in header:
                if col not in allowed:
                    raise InputFormatError(
                        str(sheet),
                        lineno,
                        f"unknown column '{col}' (allowed: {', '.join(allowed)}; "
                        "columns are tab-separated)",
                    )
            if len(set(header)) != len(header):
                raise InputFormatError(str(sheet), lineno, "duplicate column name in header")
            for col in required:
                if col not in header:
                    raise InputFormatError(str(sheet), lineno, f"missing required column '{col}'")
            continue
        if len(fields) != len(header):
            raise InputFormatError(
                str(sheet),
                lineno,
                f"expected {len(header)} tab-separated fields ({', '.join(header)}), "
                f"found {len(fields)}",
            )
        row = dict(zip(header, fields, strict=True))
        for col in required:
            if not row[col]:
                raise InputFormatError(
                    str(sheet), lineno, f"empty value in required column '{col}'"
                )
        name = row.get("sample", "")
        if "sample" in row:
            if not SAMPLE_NAME.match(name):
                raise InputFormatError(
                    str(sheet),
                    lineno,
                    f"invalid sample name '{name}' (letters, digits, '_', '.', '-'; "
                    "must start with a letter or digit)",
                )
            if name in seen:
                raise InputFormatError(
                    str(sheet),
                    lineno,
                    f"duplicate sample '{name}' (first defined on line {seen[name]})",
                )
            seen[name] = lineno
        for col, values in choices.items():
            if col in row and row[col] and row[col] not in values:
                raise InputFormatError(
                    str(sheet),
                    lineno,
                    f"column '{col}' has '{row[col]}', "
                    f"expected one of: {', '.join(sorted(values))}",
                )
        for col in files:
            value = row.get(col, "")
            if not value or _is_remote(value):
                continue
            p = Path(value)
            if not p.is_absolute():
                p = (sheet.parent / p).resolve()
            if check_files and not p.is_file():
                raise InputFormatError(str(sheet), lineno, f"{col} file '{value}' not found ({p})")
            row[col] = str(p)
        for col in optional:
            row.setdefault(col, "")
        row["_line"] = str(lineno)
        rows.append(row)
    if header is None:
        raise InputFormatError(str(sheet), None, "empty sample sheet (no header line)")
    if not rows:
        raise InputFormatError(str(sheet), header_line, "sample sheet has a header but no samples")
    for col, n in (min_distinct or {}).items():
        distinct = {r[col] for r in rows if r.get(col)}
        if len(distinct) < n:
            raise InputFormatError(
                str(sheet),
                None,
                f"column '{col}' needs at least {n} distinct values, found {len(distinct)}",
            )
    return rows
