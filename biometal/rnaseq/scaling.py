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
from contextlib import ExitStack

from biometal.errors import BiometalError
from biometal.io import FastqWriter, read_fastq_chunks
from biometal.io.atomic import atomic_path
from biometal.io.mates import mate_chunks


def head_reads(
    sources: list[str | os.PathLike],
    outputs: list[str | os.PathLike],
    n: int,
    *,
    chunk_reads: int = 65536,
    compresslevel: int = 1,
) -> int:
    """Copy the first ``n`` reads of each source FASTQ to its output; return reads copied.

    Two sources are mate files: read in lock-step, their read IDs checked
    (:func:`biometal.io.mates.mate_chunks`); mates with fewer than ``n`` reads must hold
    the same number. No output is left behind on an error.
    """
    if n < 1:
        raise BiometalError(f"rnaseq.memory_scaling.reads: expected >= 1, got {n}")
    if len(sources) != len(outputs) or not 1 <= len(sources) <= 2:
        raise BiometalError(f"head_reads: one or two sources, as many outputs; got {sources}")
    size = min(chunk_reads, n)
    if len(sources) == 2:
        chunks = mate_chunks(sources[0], sources[1], size, with_names=True)
    else:
        chunks = ((c,) for c in read_fastq_chunks(sources[0], chunk_reads=size, with_names=True))
    done = 0
    with ExitStack() as stack:
        writers = [
            stack.enter_context(FastqWriter(dst, compresslevel=compresslevel)) for dst in outputs
        ]
        for group in chunks:
            take = min(len(group[0]), n - done)
            for chunk, out in zip(group, writers, strict=True):
                if take < len(chunk):
                    off = chunk.offsets[: take + 1]
                    chunk = type(chunk)(
                        chunk.codes[: off[-1]], chunk.qual[: off[-1]], off, chunk.names[:take]
                    )
                out.write_chunk(chunk)
            done += take
            if done >= n:
                break
    return done


def replicate(src: str | os.PathLike, factor: int, out: str | os.PathLike) -> None:
    """``out`` = ``factor`` copies of ``src``, byte-concatenated (streamed, atomic)."""
    if factor < 1:
        raise BiometalError(f"replication factor: expected >= 1, got {factor}")
    with atomic_path(out) as tmp, open(tmp, "wb") as dst:
        for _ in range(factor):
            with open(src, "rb") as fh:
                shutil.copyfileobj(fh, dst, length=1 << 20)
