"""Paired-end mate files: the same reads, in the same order, in both files.

Aligners check this before they pair reads (bwa, minimap2, bowtie2): the read IDs of two
mates must be equal once everything after the first space or tab and a trailing ``/1`` or
``/2`` are dropped (:func:`mate_id`). Two files out of step (a read missing from one, files
of different runs, R1 given twice) otherwise pair unrelated reads and give a silent wrong
answer, e.g. a low pseudoaligned fraction.

:func:`mate_chunks` reads both files in lock-step as :class:`~biometal.io.fastx.ReadChunk`
pairs and compares every pair of IDs through 64-bit hashes computed by the chunk reader
(one compiled loop over the headers, :func:`numpy` comparison per chunk; no Python per
read). The first mismatch raises :class:`MateError` naming both files, the record number and
both IDs; files with different read counts raise it naming both counts.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator

import numpy as np

from biometal.errors import InputFormatError
from biometal.io.fastx import ReadChunk, read_fastq, read_fastq_chunks
from biometal.io.sources import display_name


class MateError(InputFormatError):
    """Mate files that do not list the same reads in the same order (names both files)."""


def mate_id(name: str | bytes) -> str:
    """The ID aligners compare: ``name`` up to the first whitespace, without ``/1`` ``/2``."""
    if isinstance(name, bytes | bytearray):
        name = bytes(name).decode("latin-1")
    rid = (name.split(None, 1) or [""])[0]
    if rid.endswith(("/1", "/2")):
        rid = rid[:-2]
    return rid


def _id_at(path: str | os.PathLike, record: int) -> str | None:
    """The mate ID of record ``record`` (1-based) of a local file, read again (error path
    only); None for standard input or a URL, which cannot be read twice."""
    name = os.fspath(path)
    if name == "-" or "://" in name:
        return None
    try:
        rec = next(itertools.islice(read_fastq(name), record - 1, None), None)
    except Exception:  # noqa: BLE001 - only decorates the message of an error already found
        return None
    return None if rec is None else mate_id(rec.name)


def mismatch_error(
    fq1: str | os.PathLike,
    fq2: str | os.PathLike,
    record: int,
    id1: str | None = None,
    id2: str | None = None,
) -> MateError:
    """The error for mates whose IDs differ at ``record`` (1-based; 4-line FASTQ)."""
    id1 = id1 if id1 is not None else _id_at(fq1, record)
    id2 = id2 if id2 is not None else _id_at(fq2, record)
    names = f" ('{id1}' vs '{id2}')" if id1 is not None and id2 is not None else ""
    return MateError(
        display_name(fq2),
        4 * record - 3,
        f"read {record} of this mate file and of {display_name(fq1)} have different IDs"
        f"{names}: the mate files are out of step (both files of a pair must list the same "
        "reads in the same order)",
    )


def count_error(fq1: str | os.PathLike, fq2: str | os.PathLike, n1: int, n2: int) -> MateError:
    """The error for mate files with different numbers of reads."""
    return MateError(
        display_name(fq1),
        None,
        f"has {n1} reads but its mate file {display_name(fq2)} has {n2}: the two files of a "
        "pair must list the same reads in the same order",
    )


def check_mates(
    c1: ReadChunk, c2: ReadChunk, fq1: str | os.PathLike, fq2: str | os.PathLike, before: int
) -> None:
    """Raise :class:`MateError` at the first pair of ``c1``/``c2`` whose IDs differ.

    Both chunks need ``id_hash`` (``read_fastq_chunks(..., with_ids=True)``) and the same
    length; ``before``: reads of each file before these chunks.
    """
    if c1.id_hash is None or c2.id_hash is None:
        raise ValueError("check_mates needs chunks read with with_ids=True")
    bad = np.flatnonzero(c1.id_hash != c2.id_hash)
    if bad.size:
        i = int(bad[0])
        id1 = id2 = None
        if c1.names is not None and c2.names is not None:
            id1, id2 = mate_id(c1.names[i]), mate_id(c2.names[i])
        raise mismatch_error(fq1, fq2, before + i + 1, id1, id2)


def mate_chunks(
    fq1: str | os.PathLike,
    fq2: str | os.PathLike,
    chunk_reads: int,
    *,
    with_names: bool = False,
    with_qual: bool = True,
) -> Iterator[tuple[ReadChunk, ReadChunk]]:
    """Both mate files in lock-step, ``chunk_reads`` pairs at a time, mate IDs checked.

    Raises :class:`MateError` for the first pair whose IDs differ and for files of
    different lengths (the message gives both read counts); FASTQ errors as
    :func:`~biometal.io.fastx.read_fastq_chunks`, and ``with_names`` / ``with_qual`` as there.
    """
    check_distinct(fq1, fq2)
    it1 = read_fastq_chunks(fq1, chunk_reads, with_names, with_ids=True, with_qual=with_qual)
    it2 = read_fastq_chunks(fq2, chunk_reads, with_names, with_ids=True, with_qual=with_qual)
    n = 0
    while True:
        c1 = next(it1, None)
        c2 = next(it2, None)
        if c1 is None and c2 is None:
            return
        k1 = len(c1) if c1 is not None else 0
        k2 = len(c2) if c2 is not None else 0
        if k1 and k2:  # the pairs both files have: a read missing in the middle shows here
            k = min(k1, k2)
            if k < max(k1, k2):
                c1 = _head(c1, k)
                c2 = _head(c2, k)
            check_mates(c1, c2, fq1, fq2, n)
        if k1 != k2:
            # finish counting so that the message gives both totals
            n1 = n + k1 + sum(len(c) for c in it1)
            n2 = n + k2 + sum(len(c) for c in it2)
            raise count_error(fq1, fq2, n1, n2)
        n += k1
        yield c1, c2
        c1 = c2 = None  # drop this chunk before the readers build the next one


def check_distinct(fq1: str | os.PathLike, fq2: str | os.PathLike) -> None:
    """Two local mate files must be two files (R1 given twice pairs each read with itself)."""
    a, b = os.fspath(fq1), os.fspath(fq2)
    if "://" in a or "://" in b or "-" in (a, b):
        return
    try:
        same = os.path.samefile(a, b)
    except OSError:  # a missing file: the reader names it
        return
    if same:
        raise MateError(
            display_name(fq2), None, f"is the same file as {display_name(fq1)}: give the other mate"
        )


def _head(chunk: ReadChunk, k: int) -> ReadChunk:
    """The first ``k`` reads of a chunk (views; for the ID check only)."""
    off = chunk.offsets[: k + 1]
    return ReadChunk(
        chunk.codes[: off[-1]],
        chunk.qual[: off[-1]],
        off,
        None if chunk.names is None else chunk.names[:k],
        chunk.first_line,
        None if chunk.id_hash is None else chunk.id_hash[:k],
    )
