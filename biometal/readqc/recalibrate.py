"""Streaming FASTQ base-quality recalibration with any error model.

An :class:`ErrorPredictor` maps per-base covariates (:class:`~biometal.readqc.covariates.
BaseFeatures`) to error probabilities: the BQSR table (:mod:`biometal.readqc.bqsr`) and the
neural quality model (:mod:`biometal.ml.readqc`) both are one. :func:`recalibrate_fastq`
reads a FASTQ in chunks of ``chunk_reads`` reads, replaces every quality by
``clip(round(-10 log10 p), 2, q_max)`` (``N`` bases keep theirs) and writes the reads with
their names and bases unchanged; memory depends on the chunk size, not the file size.
"""

from __future__ import annotations

import os
from typing import Protocol, runtime_checkable

import numpy as np

from biometal.readqc.covariates import CODE_N, BaseFeatures, chunk_features

#: reads per chunk of :func:`recalibrate_fastq` (a few tens of MB at 150 bp).
CHUNK_READS = 50_000
Q_MIN = 2


@runtime_checkable
class ErrorPredictor(Protocol):
    """Anything that gives the error probability of bases from their covariates."""

    def error_probability(self, feats: BaseFeatures) -> np.ndarray:
        """float32 [n] in (0, 1): probability that each base of ``feats`` is wrong."""
        ...


def phred(p_error: np.ndarray, q_max: int = 60) -> np.ndarray:
    """uint8 Phred scores ``clip(round(-10 log10 p), 2, q_max)`` of error probabilities."""
    p = np.clip(np.asarray(p_error, dtype=np.float64), 1e-12, 1.0)
    return np.clip(np.rint(-10.0 * np.log10(p)), Q_MIN, q_max).astype(np.uint8)


def recalibrate_chunk(
    codes: np.ndarray,
    quals: np.ndarray,
    offsets: np.ndarray,
    predictor: ErrorPredictor,
    mate: int = 0,
    q_max: int = 60,
) -> np.ndarray:
    """New qualities (uint8, same shape as ``quals``) of reads stored flat (see
    :func:`~biometal.readqc.covariates.chunk_features`)."""
    feats = chunk_features(codes, quals, offsets, mate)
    p = np.asarray(predictor.error_probability(feats))
    if p.shape != (len(feats),):
        raise ValueError(f"predictor returned shape {p.shape}, expected ({len(feats)},)")
    new = phred(p, q_max)
    is_n = np.asarray(codes) >= CODE_N
    new[is_n] = np.asarray(quals)[is_n]
    return new


def recalibrate_fastq(
    fastq_in: str | os.PathLike,
    fastq_out: str | os.PathLike,
    predictor: ErrorPredictor,
    mate: int = 0,
    q_max: int = 60,
    chunk_reads: int = CHUNK_READS,
) -> dict[str, int | float]:
    """Rewrite the qualities of ``fastq_in`` into ``fastq_out`` (gzip if it ends ``.gz``).

    ``mate``: 0 for read 1 / single-end, 1 for read 2 (a covariate). The output appears
    only when complete; names are kept, bases written as upper-case ``ACGTN`` (any other
    letter becomes ``N``). Returns ``reads``, ``bases``, ``mean_q_in``, ``mean_q_out``.
    Malformed input raises :class:`~biometal.errors.InputFormatError`.
    """
    from biometal.io.fastx import FastqWriter, ReadChunk, read_fastq_chunks

    if mate not in (0, 1):
        raise ValueError(f"mate must be 0 or 1, got {mate!r}")
    reads = bases = 0
    sum_in = sum_out = 0.0
    with FastqWriter(fastq_out) as out:
        for chunk in read_fastq_chunks(fastq_in, chunk_reads, with_names=True):
            new = recalibrate_chunk(chunk.codes, chunk.qual, chunk.offsets, predictor, mate, q_max)
            out.write_chunk(
                ReadChunk(chunk.codes, new, chunk.offsets, chunk.names, chunk.first_line)
            )
            reads += len(chunk)
            bases += int(chunk.codes.size)
            sum_in += float(chunk.qual.sum(dtype=np.int64))
            sum_out += float(new.sum(dtype=np.int64))
    return {
        "reads": reads,
        "bases": bases,
        "mean_q_in": sum_in / bases if bases else 0.0,
        "mean_q_out": sum_out / bases if bases else 0.0,
    }


def bqsr_recalibrate(
    fastq_in: str | os.PathLike | None,
    fastq_out: str | os.PathLike | None,
    *,
    table: str | os.PathLike | None = None,
    bam: str | os.PathLike | None = None,
    reference: str | os.PathLike | None = None,
    known_sites: str | os.PathLike | None = None,
    save_table: str | os.PathLike | None = None,
    max_bases: int | None = None,
    prior_errors: float = 10.0,
    mate: int = 0,
    q_max: int = 60,
    chunk_reads: int = CHUNK_READS,
) -> dict[str, int | float]:
    """BQSR in one call: load a table (``table``) or fit one from ``bam`` + ``reference``
    (aligned bases outside ``known_sites``, at most ``max_bases``), optionally save it, and
    recalibrate ``fastq_in`` into ``fastq_out`` when given. Returns the counts."""
    from biometal.errors import BiometalError
    from biometal.readqc.bqsr import BqsrTable

    if (table is None) == (bam is None):
        raise BiometalError("give either a table (--table) or a BAM to fit one from (--bam)")
    if bam is not None and reference is None:
        raise BiometalError("fitting a table from a BAM needs the reference (--reference)")
    if (fastq_in is None) != (fastq_out is None):
        raise BiometalError("a FASTQ to recalibrate needs an output (-o), and -o a FASTQ")
    if fastq_in is None and save_table is None:
        raise BiometalError("nothing to do: give a FASTQ and -o, or --save-table")
    res: dict[str, int | float] = {}
    if table is not None:
        bqsr = BqsrTable.load(table)
    else:
        from biometal.readqc.covariates import aligned_covariates

        feats, err = aligned_covariates(bam, reference, known_sites, max_bases=max_bases)
        if len(err) == 0:
            raise BiometalError(f"{os.fspath(bam)}: no aligned bases to fit a table from")
        bqsr = BqsrTable.fit(feats, err, prior_errors=prior_errors)
        res.update(table_bases=len(err), table_mismatches=int(err.sum()))
    if save_table is not None:
        bqsr.save(save_table)
    if fastq_in is not None:
        res.update(recalibrate_fastq(fastq_in, fastq_out, bqsr, mate, q_max, chunk_reads))
    return res
