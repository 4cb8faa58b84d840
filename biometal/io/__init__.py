"""Streaming input/output: FASTQ/FASTA (plain, gzip, URL, stdin), numpy read chunks.

Public API (see the modules for details):

- :func:`open_input` (``sources``): path, ``-`` or http(s) URL -> binary stream, gzip by magic
- :func:`read_fastq`, :func:`read_fasta`, :func:`read_fastx` (``fastx``): record iterators
- :func:`read_fastq_chunks` -> :class:`ReadChunk` (codes, qual, offsets) for the kernels
- :class:`FastqWriter`: plain/gzip FASTQ, atomic, deterministic
- :func:`encode` / :func:`decode` (``encoding``): A=0 C=1 G=2 T=3 else 4
"""

from biometal.io.encoding import DECODE_LUT, ENCODE_LUT, decode, encode
from biometal.io.fastx import (
    DEFAULT_BLOCK_SIZE,
    DEFAULT_CHUNK_READS,
    FastaRecord,
    FastqRecord,
    FastqWriter,
    ReadChunk,
    read_fasta,
    read_fastq,
    read_fastq_chunks,
    read_fastx,
)
from biometal.io.sources import InputSourceError, open_input

__all__ = [
    "DECODE_LUT",
    "DEFAULT_BLOCK_SIZE",
    "DEFAULT_CHUNK_READS",
    "ENCODE_LUT",
    "FastaRecord",
    "FastqRecord",
    "FastqWriter",
    "InputSourceError",
    "ReadChunk",
    "decode",
    "encode",
    "open_input",
    "read_fasta",
    "read_fastq",
    "read_fastq_chunks",
    "read_fastx",
]
