"""BED (BED3-BED12), bedGraph and genome-file readers, and a BED writer.

Coordinates are 0-based half-open ``int64``. Header lines (``#...``, ``track``, ``browser``),
blank lines, CRLF line ends and a UTF-8 BOM are accepted; any other malformed record is a
one-line :class:`~biometal.errors.InputFormatError` naming ``file:line``.
"""

from __future__ import annotations

import os
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
    BED3), kept verbatim for output; ``strand``: ``int8`` (+1, -1, 0 for ``.`` or absent);
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


def read_bed(
    path: str | os.PathLike, *, min_cols: int = 3, line_numbers: bool = False
) -> Intervals:
    """Read a BED file (plain or gzip; BED3 to BED12 and extra columns) into :class:`Intervals`.

    Checked per record: at least ``min_cols`` tab-separated fields, integer ``start <= end``
    with ``start >= 0``, a strand of ``+``, ``-`` or ``.`` in column 6. A well-formed local
    file is parsed by pandas' C tokenizer (``lineno`` then ``None`` unless ``line_numbers``);
    anything else is streamed line by line, which names the first bad line. Memory is the size
    of the result.
    """
    fast = None if line_numbers else _read_bed_fast(path, min_cols)
    if fast is not None:
        return fast
    name = str(path)
    codes: dict[str, int] = {}
    chrom: list[int] = []
    starts: list[int] = []
    ends: list[int] = []
    tails: list[str] = []
    strands: list[int] = []
    linenos: list[int] = []
    ncols = 0
    with open_input(path) as fh:
        for lineno, raw in enumerate(fh, 1):
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
            tail = f[3] if len(f) == 4 else ""
            n = 3 + (tail.count("\t") + 1 if len(f) == 4 else 0)
            if n < min_cols:
                raise InputFormatError(
                    name, lineno, f"expected at least {min_cols} tab-separated fields, got {n}"
                )
            st = 0
            if n >= 6:
                sc = tail.split("\t", 3)[2]
                code = STRAND_CODE.get(sc)
                if code is None:
                    raise InputFormatError(
                        name, lineno, f"strand (column 6) must be +, - or ., got '{sc}'"
                    )
                st = code
            ncols = max(ncols, n)
            c = codes.setdefault(f[0], len(codes))
            chrom.append(c)
            starts.append(s)
            ends.append(e)
            tails.append(tail)
            strands.append(st)
            linenos.append(lineno)
    return Intervals(
        chrom_names=list(codes),
        chrom=np.asarray(chrom, dtype=np.int32),
        start=np.asarray(starts, dtype=np.int64),
        end=np.asarray(ends, dtype=np.int64),
        tail=np.asarray(tails, dtype=object),
        strand=np.asarray(strands, dtype=np.int8),
        path=name,
        lineno=np.asarray(linenos, dtype=np.int64),
        ncols=max(ncols, 3),
    )


def _read_bed_fast(path: str | os.PathLike, min_cols: int) -> Intervals | None:
    """pandas' C tokenizer on a well-formed local file; ``None`` (use the checking line
    reader, which names the bad line) on anything unusual."""
    if str(path) == "-" or "://" in str(path):
        return None
    with open_input(path) as fh:
        head = fh.readline().decode("utf-8", errors="replace")
    ncols0 = head.count("\t") + 1
    if ncols0 < 3 or _is_header(head.lstrip("\ufeff")):
        return None
    dtype: dict = {k: str for k in range(ncols0)}
    dtype[1] = dtype[2] = np.int64
    try:
        df = pd.read_csv(
            path,
            sep="\t",
            header=None,
            dtype=dtype,
            keep_default_na=False,
            na_filter=False,
            quoting=3,
            encoding="utf-8-sig",
            engine="c",
            comment=None,
            skip_blank_lines=True,
        )
    except Exception:  # noqa: BLE001 - any oddity: the line reader reports it exactly
        return None
    ncols = df.shape[1]
    if ncols != ncols0 or ncols < max(3, min_cols) or len(df) == 0:
        return None
    first = df[0]
    if first.str.startswith(("#", "track", "browser")).any() or (first == "").any():
        return None
    s, e = df[1].to_numpy(), df[2].to_numpy()
    if s.dtype != np.int64 or e.dtype != np.int64:
        return None
    if np.any(s < 0) or np.any(e < s):
        return None
    strand = np.zeros(len(df), dtype=np.int8)
    if ncols >= 6:
        sc = df[5].astype(str)
        if not sc.isin(("+", "-", ".")).all():
            return None
        strand = (sc == "+").to_numpy(np.int8) - (sc == "-").to_numpy(np.int8)
    if ncols > 3:
        tail = df[3].astype(str)
        for k in range(4, ncols):
            tail = tail + "\t" + df[k].astype(str)
        tail = tail.to_numpy(dtype=object)
    else:
        tail = np.full(len(df), "", dtype=object)
    codes, uniques = pd.factorize(first, sort=False)
    return Intervals(
        chrom_names=[str(u) for u in uniques],
        chrom=codes.astype(np.int32),
        start=s.astype(np.int64),
        end=e.astype(np.int64),
        tail=tail,
        strand=strand,
        path=str(path),
        lineno=None,
        ncols=ncols,
    )


def read_bedgraph(path: str | os.PathLike) -> tuple[Intervals, np.ndarray]:
    """A bedGraph file: its :class:`Intervals` and the ``float64`` value (column 4) of each."""
    iv = read_bed(path, min_cols=4, line_numbers=True)
    values = np.empty(len(iv), dtype=np.float64)
    for i, t in enumerate(iv.tail):
        v = t.split("\t", 1)[0]
        try:
            values[i] = float(v)
        except ValueError:
            raise InputFormatError(
                iv.path, int(iv.lineno[i]), f"bedGraph value must be a number, got '{v}'"
            ) from None
    return iv, values


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
