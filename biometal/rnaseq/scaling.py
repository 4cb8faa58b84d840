"""Inputs of the memory-scaling experiment: one sample's first reads, replicated N times.

:func:`head_reads` streams the first ``n`` reads (pairs) of a sample into new gzip FASTQ;
:func:`replicate` writes a file made of ``factor`` copies of it by byte concatenation (a
concatenation of gzip files is a valid multi-member gzip file), streamed, never in memory.
So the 10x input holds 10 times the same reads: the quantifier must stream 10 times the
data, and its memory should not notice.
"""

from __future__ import annotations

import os
import shutil

from biometal.errors import BiometalError
from biometal.io import FastqWriter, read_fastq_chunks
from biometal.io.atomic import atomic_path


def head_reads(
    sources: list[str | os.PathLike],
    outputs: list[str | os.PathLike],
    n: int,
    *,
    chunk_reads: int = 65536,
    compresslevel: int = 1,
) -> int:
    """Copy the first ``n`` reads of each source FASTQ to its output; return reads copied."""
    if n < 1:
        raise BiometalError(f"rnaseq.memory_scaling.reads: expected >= 1, got {n}")
    counts = []
    for src, dst in zip(sources, outputs, strict=True):
        done = 0
        with FastqWriter(dst, compresslevel=compresslevel) as out:
            for chunk in read_fastq_chunks(src, chunk_reads=min(chunk_reads, n), with_names=True):
                take = min(len(chunk), n - done)
                if take < len(chunk):
                    off = chunk.offsets[: take + 1]
                    chunk = type(chunk)(
                        chunk.codes[: off[-1]], chunk.qual[: off[-1]], off, chunk.names[:take]
                    )
                out.write_chunk(chunk)
                done += take
                if done >= n:
                    break
        counts.append(done)
    if len(set(counts)) > 1:
        raise BiometalError(f"mate files hold different numbers of reads: {counts}")
    return counts[0]


def replicate(src: str | os.PathLike, factor: int, out: str | os.PathLike) -> None:
    """``out`` = ``factor`` copies of ``src``, byte-concatenated (streamed, atomic)."""
    if factor < 1:
        raise BiometalError(f"replication factor: expected >= 1, got {factor}")
    with atomic_path(out) as tmp, open(tmp, "wb") as dst:
        for _ in range(factor):
            with open(src, "rb") as fh:
                shutil.copyfileobj(fh, dst, length=1 << 20)
