"""Streaming input/output: FASTQ/FASTA (plain, gzip, URL, stdin), numpy read chunks.

Public API (see the modules for details):

- :func:`open_input` (``sources``): path, ``-`` or http(s) URL -> binary stream, gzip by magic
- :func:`read_fastq`, :func:`read_fasta`, :func:`read_fastx` (``fastx``): record iterators
- :func:`read_fastq_chunks` -> :class:`ReadChunk` (codes, qual, offsets) for the kernels
- :class:`FastqWriter`: plain/gzip FASTQ, atomic, deterministic
- :func:`encode` / :func:`decode` (``encoding``): A=0 C=1 G=2 T=3 else 4
- :func:`read_vcf` (``vcf``): VCF / VCF.gz / BCF -> :class:`VcfChunk` columnar arrays
"""

from __future__ import annotations

import importlib

# Loaded on first use, so that light modules (biometal.io.samplesheet, biometal.io.paths:
# what the Snakefile imports) do not pull numpy in through this package.
_EXPORTS = {
    "DECODE_LUT": "encoding",
    "ENCODE_LUT": "encoding",
    "decode": "encoding",
    "encode": "encoding",
    "DEFAULT_BLOCK_SIZE": "fastx",
    "DEFAULT_CHUNK_READS": "fastx",
    "FastaRecord": "fastx",
    "FastqRecord": "fastx",
    "FastqWriter": "fastx",
    "ReadChunk": "fastx",
    "read_fasta": "fastx",
    "read_fastq": "fastx",
    "read_fastq_chunks": "fastx",
    "read_fastx": "fastx",
    "InputSourceError": "sources",
    "open_input": "sources",
    "VcfChunk": "vcf",
    "VcfError": "vcf",
    "read_vcf": "vcf",
    "read_vcf_all": "vcf",
}


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"biometal.io.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'biometal.io' has no attribute {name!r}")


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
    "VcfChunk",
    "VcfError",
    "decode",
    "encode",
    "open_input",
    "read_fasta",
    "read_fastq",
    "read_fastq_chunks",
    "read_fastx",
    "read_vcf",
    "read_vcf_all",
]
