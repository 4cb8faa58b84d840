"""GFF3 (ID/Parent hierarchy) and GTF (gene -> transcript -> exon) readers into pandas.

Both return one row per feature: ``seqid source type start end score strand phase`` with
``start`` 0-based half-open (GFF's 1-based closed ``start`` minus 1) so rows line up with BED,
plus the parsed attributes. Comment lines (``#``), blank lines, CRLF and a BOM are accepted;
GFF3 parsing stops at ``##FASTA``. A malformed record is a one-line
:class:`~biometal.errors.InputFormatError` naming ``file:line``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from itertools import islice
from urllib.parse import unquote

import pandas as pd

from biometal.errors import BiometalError, InputFormatError
from biometal.io import open_input

COLUMNS = ["seqid", "source", "type", "start", "end", "score", "strand", "phase"]


def _records(path: str | os.PathLike, kind: str):
    name = str(path)
    with open_input(path) as fh:
        for lineno, raw in enumerate(fh, 1):
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            if lineno == 1 and line.startswith("\ufeff"):
                line = line[1:]
            if kind == "GFF3" and line.startswith("##FASTA"):
                return
            if not line.strip() or line.startswith("#"):
                continue
            f = line.split("\t")
            if len(f) != 9:
                raise InputFormatError(
                    name, lineno, f"expected 9 tab-separated {kind} fields, got {len(f)}"
                )
            try:
                s, e = int(f[3]), int(f[4])
            except ValueError:
                raise InputFormatError(
                    name, lineno, f"start/end must be integers, got '{f[3]}' '{f[4]}'"
                ) from None
            if s < 1 or e < s - 1:
                raise InputFormatError(name, lineno, f"need 1 <= start <= end + 1, got {s} {e}")
            if f[6] not in ("+", "-", ".", "?"):
                raise InputFormatError(name, lineno, f"strand must be +, -, . or ?, got '{f[6]}'")
            yield lineno, f, s - 1, e


def _gff3_attrs(text: str, path: str, lineno: int) -> dict[str, str]:
    out: dict[str, str] = {}
    if text == ".":
        return out
    for part in text.split(";"):
        part = part.strip()
        if not part:
            continue
        key, eq, value = part.partition("=")
        if not eq:
            raise InputFormatError(path, lineno, f"GFF3 attribute '{part}' has no '='")
        out[unquote(key)] = value  # values stay escaped until split on ','
    return out


#: rows per chunk of :func:`iter_gff3_chunks` / :func:`iter_gtf_chunks` by default
DEFAULT_CHUNK_ROWS = 100_000
GFF3_COLUMNS = [*COLUMNS, "id", "parents", "attributes"]
GTF_COLUMNS = [*COLUMNS, "gene_id", "transcript_id", "attributes"]


def _check_chunk_size(chunk_size: int) -> None:
    if chunk_size < 1:
        raise BiometalError(f"chunk_size must be >= 1, got {chunk_size}")


def _frames(rows_iter, columns: list[str], chunk_size: int) -> Iterator[pd.DataFrame]:
    """DataFrames of ``chunk_size`` rows (the last fewer), index counting on across chunks;
    text columns are pandas' ``str`` dtype (missing = NaN) in every chunk, even one where a
    column happens to be all missing (pandas would make that one ``object``)."""
    text = {c: "str" for c in columns if c not in ("start", "end", "parents", "attributes")}
    n = 0
    for rows in iter(lambda: list(islice(rows_iter, chunk_size)), []):
        df = pd.DataFrame(rows, columns=columns).astype(text)
        df.index = pd.RangeIndex(n, n + len(df))
        n += len(df)
        yield df


def iter_gff3_chunks(
    path: str | os.PathLike, chunk_size: int = DEFAULT_CHUNK_ROWS
) -> Iterator[pd.DataFrame]:
    """Stream a GFF3 file as DataFrames of ``chunk_size`` rows (the last fewer), the
    columns of :func:`read_gff3`, row index counting on across chunks. Records are checked
    as they are read; a ``Parent`` naming no ``ID`` (which may come later in the file) is
    an error naming its line, raised after the last chunk. Memory: one chunk plus the set
    of IDs."""
    _check_chunk_size(chunk_size)
    name = str(path)
    ids: set[str] = set()
    unresolved: list[tuple[int, str]] = []  # Parents not yet seen as an ID, in file order

    def rows():
        for lineno, f, s, e in _records(path, "GFF3"):
            attrs = _gff3_attrs(f[8], name, lineno)
            parents = (
                tuple(unquote(p) for p in attrs["Parent"].split(",")) if "Parent" in attrs else ()
            )
            fid = unquote(attrs["ID"]) if "ID" in attrs else None
            if fid is not None:
                ids.add(fid)
            unresolved.extend((lineno, p) for p in parents if p not in ids)
            clean = {k: unquote(v) for k, v in attrs.items()}
            yield (f[0], f[1], f[2], s, e, f[5], f[6], f[7], fid, parents, clean)

    empty = True
    for df in _frames(rows(), GFF3_COLUMNS, chunk_size):
        empty = False
        yield df
    if empty:
        raise BiometalError(f"{path}: no GFF3 records")
    for lineno, p in unresolved:
        if p not in ids:
            raise InputFormatError(name, lineno, f"Parent '{p}' is not the ID of any feature")


def read_gff3(path: str | os.PathLike) -> pd.DataFrame:
    """A GFF3 file as a DataFrame: :data:`COLUMNS`, ``id`` (the ``ID`` attribute; missing: NaN),
    ``parents`` (tuple of ``Parent`` IDs, URL-unescaped; several for multi-parent features)
    and ``attributes`` (``dict`` of every attribute, values URL-unescaped, multi-values joined
    by ``,``). A ``Parent`` naming no ``ID`` in the file is an error naming its line. The
    concatenation of :func:`iter_gff3_chunks`."""
    return _concat(list(iter_gff3_chunks(path)))


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def iter_gtf(path: str | os.PathLike) -> Iterator[tuple[int, list[str], int, int]]:
    """Stream a GTF's records as ``(line number, the 9 fields, 0-based start, end)``, checked
    as :func:`read_gtf` checks them (field count, integer coordinates, strand); the attribute
    column (``fields[8]``) is left as text for :func:`gtf_attribute` or a full parse."""
    return _records(path, "GTF")


def gtf_attribute(text: str, key: str) -> str | None:
    """The value of attribute ``key`` in a GTF attribute column (quotes removed), or
    ``None``: a single-key lookup, several times faster than parsing every attribute."""
    i = text.find(key + " ")
    while i > 0 and text[i - 1] not in " ;\t":
        i = text.find(key + " ", i + 1)
    if i < 0:
        return None
    rest = text[i + len(key) + 1 :].lstrip()
    if rest.startswith('"'):
        end = rest.find('"', 1)
        return rest[1:end] if end > 0 else None
    return rest.split(";", 1)[0].strip() or None


def _gtf_attrs(text: str, path: str, lineno: int) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in text.split(";"):
        part = part.strip()
        if not part:
            continue
        key, sep, value = part.partition(" ")
        value = value.strip()
        if not sep or not value:
            raise InputFormatError(path, lineno, f"GTF attribute '{part}' is not 'key value'")
        if value.startswith('"'):
            if not value.endswith('"') or len(value) < 2:
                raise InputFormatError(path, lineno, f"unterminated quote in attribute '{key}'")
            value = value[1:-1]
        # repeated keys (Ensembl 'tag') are joined with ','
        out[key] = f"{out[key]},{value}" if key in out else value
    return out


def iter_gtf_chunks(
    path: str | os.PathLike, chunk_size: int = DEFAULT_CHUNK_ROWS
) -> Iterator[pd.DataFrame]:
    """Stream a GTF file as DataFrames of ``chunk_size`` rows (the last fewer), the columns
    of :func:`read_gtf`, row index counting on across chunks; every check of
    :func:`read_gtf` (the transcript -> gene map is kept across chunks), errors naming
    ``file:line``. Memory: one chunk plus the transcript -> gene map."""
    _check_chunk_size(chunk_size)
    name = str(path)
    tx_gene: dict[str, str] = {}

    def rows():
        for lineno, f, s, e in iter_gtf(path):
            attrs = _gtf_attrs(f[8], name, lineno)
            gene = attrs.get("gene_id")
            tx = attrs.get("transcript_id")
            if gene is None:
                raise InputFormatError(name, lineno, "GTF record has no gene_id attribute")
            if tx is None and f[2] in ("exon", "CDS", "transcript", "start_codon", "stop_codon"):
                raise InputFormatError(
                    name, lineno, f"{f[2]} record has no transcript_id attribute"
                )
            if tx is not None:
                prev = tx_gene.setdefault(tx, gene)
                if prev != gene:
                    raise InputFormatError(
                        name, lineno, f"transcript '{tx}' is in genes '{prev}' and '{gene}'"
                    )
            yield (f[0], f[1], f[2], s, e, f[5], f[6], f[7], gene, tx, attrs)

    empty = True
    for df in _frames(rows(), GTF_COLUMNS, chunk_size):
        empty = False
        yield df
    if empty:
        raise BiometalError(f"{path}: no GTF records")


def read_gtf(path: str | os.PathLike) -> pd.DataFrame:
    """A GTF file as a DataFrame: :data:`COLUMNS`, ``gene_id``, ``transcript_id`` (missing,
    NaN, where absent, e.g. gene lines) and ``attributes`` (``dict``; repeated keys joined by
    ``,``). Checked: every line has a ``gene_id`` (GTF 2.2), every transcript belongs to one
    gene; ``exon``/``CDS`` lines need a ``transcript_id``. The concatenation of
    :func:`iter_gtf_chunks`."""
    return _concat(list(iter_gtf_chunks(path)))


def gtf_to_bed(df: pd.DataFrame, feature: str = "exon"):
    """Rows of ``feature`` type of a :func:`read_gtf` / :func:`read_gff3` frame as
    :class:`~biometal.regions.bed.Intervals` (BED6: name = transcript_id or id, score ``.``)."""
    import numpy as np

    from biometal.regions.bed import STRAND_CODE, Intervals

    sub = df[df["type"] == feature]
    names_col = "transcript_id" if "transcript_id" in sub else "id"
    codes, uniques = pd.factorize(sub["seqid"], sort=False)
    strand = sub["strand"].map(lambda x: STRAND_CODE.get(x, 0)).to_numpy(np.int8)
    tail = [
        f"{n if isinstance(n, str) else '.'}\t.\t{st if st in '+-' else '.'}"
        for n, st in zip(sub[names_col], sub["strand"], strict=True)
    ]
    return Intervals(
        chrom_names=[str(u) for u in uniques],
        chrom=codes.astype(np.int32),
        start=sub["start"].to_numpy(np.int64),
        end=sub["end"].to_numpy(np.int64),
        tail=np.asarray(tail, dtype=object),
        strand=strand,
        path=str(feature),
        ncols=6,
    )
