"""Quantify one sample: one streaming pass of pseudoalignment, then the EM.

Memory is constant in the number of reads: the FASTQ files (mate files in lock-step) are read
in chunks of ``chunk_reads`` reads, each chunk is pseudoaligned and dropped; only the counts
per equivalence class and a fragment-length histogram accumulate (the new classes a sample
meets are a few per 100k reads). Peak RSS = interpreter + numba + index + one chunk.

Output (:func:`write_quant`): TSV ``transcript_id length effective_length est_counts tpm``,
one row per transcript in index order, written atomically (a failed job leaves no file), and
a JSON of run information (:data:`INFO_KEYS`): reads, pseudoaligned fraction, fragment
length used, EM rounds, seconds per phase, the process's peak RSS.

Paired-end: the fragment-length distribution is estimated from the pairs that pseudoalign to
one transcript (positions of both mates' first k-mers on it), as kallisto does; with fewer
than :data:`MIN_FRAGMENTS` such pairs, or single-end reads, a rounded normal of
``fragment_mean`` / ``fragment_sd`` is used instead.
"""

from __future__ import annotations

import json
import logging
import os
import time
from contextlib import nullcontext
from dataclasses import dataclass, field

import numpy as np

from biometal._threads import clamp_threads, numba_threads
from biometal.errors import BiometalError, InputFormatError
from biometal.io import read_fastq_chunks
from biometal.io.atomic import atomic_path
from biometal.io.mates import mate_chunks
from biometal.io.sinks import write_text_output
from biometal.io.sources import display_name
from biometal.progress import Progress
from biometal.rnaseq.em import (
    CHANGE_LIMIT,
    MAX_ROUNDS,
    MIN_ROUNDS,
    REL_CHANGE,
    effective_lengths,
    normal_fragment_pmf,
    run_em,
)
from biometal.rnaseq.index import KmerIndex, load_index
from biometal.rnaseq.pseudoalign import ECRegistry, pseudoalign
from biometal.rnaseq.tables import QUANT_COLUMNS

log = logging.getLogger(__name__)

#: fewest single-transcript pairs to trust an estimated fragment-length distribution.
MIN_FRAGMENTS = 100
#: fragment lengths counted: 0 .. MAX_FRAG_LEN-1 (kallisto's cap).
MAX_FRAG_LEN = 1000
INFO_KEYS = (
    "sample",
    "fq1",
    "fq2",
    "paired",
    "reads",
    "pseudoaligned",
    "pseudoaligned_fraction",
    "classes_used",
    "new_classes",
    "fragment_length_source",
    "fragment_length_mean",
    "fragment_length_sd",
    "fragments_measured",
    "em_rounds",
    "em_converged",
    "threads",
    "seconds_index_load",
    "seconds_stream",
    "seconds_em",
    "peak_rss_mb",
    "k",
)


@dataclass
class QuantResult:
    """Per-transcript estimates (index order) and the run information."""

    names: list[str]
    lengths: np.ndarray
    eff_lengths: np.ndarray
    est_counts: np.ndarray
    tpm: np.ndarray
    info: dict = field(default_factory=dict)


def peak_rss_mb() -> float:
    """This process's peak resident set size in MiB (VmHWM on Linux, ru_maxrss elsewhere)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource
    import sys

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _pairs(fq1, fq2, chunk_reads: int):
    """Chunks of both mate files in lock-step; a one-line error when their read IDs or read
    counts differ (:func:`biometal.io.mates.mate_chunks`). Bases only: quantification does
    not use the qualities, so they are checked but not copied (``with_qual=False``)."""
    if fq2 is not None:
        yield from mate_chunks(fq1, fq2, chunk_reads, with_qual=False)
        return
    it1 = read_fastq_chunks(fq1, chunk_reads=chunk_reads, with_qual=False)
    while (c1 := next(it1, None)) is not None:
        yield c1, None
        c1 = None  # drop this chunk before the reader builds the next one


def quantify(
    index: KmerIndex | str | os.PathLike,
    fq1: str | os.PathLike,
    fq2: str | os.PathLike | None = None,
    *,
    sample: str = "",
    chunk_reads: int = 65536,
    fragment_mean: float = 250.0,
    fragment_sd: float = 40.0,
    threads: int = 1,
    single_overhang: bool = False,
    max_rounds: int = MAX_ROUNDS,
    min_rounds: int = MIN_ROUNDS,
    change_limit: float = CHANGE_LIMIT,
    rel_change: float = REL_CHANGE,
) -> QuantResult:
    """Pseudoalign every read (pair) of ``fq1`` (+ ``fq2``) and run the EM.

    ``index``: a :class:`KmerIndex` or the path of a saved one. ``fragment_mean`` /
    ``fragment_sd`` (bp): the fragment-length model of single-end reads (and the fallback
    for pairs). Single-end reads keep only the transcripts in which a ``fragment_mean``
    fragment starting at the read fits, unless ``single_overhang`` (kallisto's option of
    that name). EM options: see :mod:`biometal.rnaseq.em`.
    """
    if fragment_mean <= 0 or fragment_sd < 0:
        raise BiometalError(
            f"fragment length: expected mean > 0 and sd >= 0, got {fragment_mean}, {fragment_sd}"
        )
    n_threads = clamp_threads(threads)  # numba threads of each call below
    t0 = time.perf_counter()
    if not isinstance(index, KmerIndex):
        index = load_index(index)
    t_load = time.perf_counter() - t0
    registry = ECRegistry(index)
    # single-end: keep only transcripts a mean-length fragment from the read fits in
    se_fraglen = 0 if fq2 is not None or single_overhang else max(1, round(fragment_mean))
    counts = np.zeros(index.n_ecs, np.int64)
    fl_hist = np.zeros(MAX_FRAG_LEN, np.int64)
    reads = 0
    unit = "pairs" if fq2 is not None else "reads"
    progress = Progress(log, f"quantify {sample or display_name(fq1)}", unit=unit)
    t1 = time.perf_counter()
    # one thread: the kernels' serial forms, which the ahead-of-time build holds, so that the
    # job need not import numba (biometal.kernels.jit); more: numba's pool
    serial = n_threads == 1
    for c1, c2 in _pairs(fq1, fq2, chunk_reads):
        with nullcontext() if serial else numba_threads(n_threads):
            ec, flen = pseudoalign(
                index, registry, c1, c2, single_overhang=se_fraglen, serial=serial
            )
        hit = ec[ec >= 0]
        if len(registry) > len(counts):
            counts = np.concatenate([counts, np.zeros(len(registry) - len(counts), np.int64)])
        counts += np.bincount(hit, minlength=len(counts))
        if c2 is not None:
            fl = flen[(flen > 0) & (flen < MAX_FRAG_LEN)]
            fl_hist += np.bincount(fl, minlength=MAX_FRAG_LEN)
        reads += len(c1)
        progress.update(len(c1))
        del c1, c2, ec, flen, hit  # nothing of this chunk outlives it
    t_stream = time.perf_counter() - t1
    if reads == 0:
        raise InputFormatError(display_name(fq1), None, "no reads: the FASTQ file is empty")
    progress.done()

    n_frag = int(fl_hist.sum())
    if fq2 is not None and n_frag >= MIN_FRAGMENTS:
        pmf = fl_hist / n_frag
        source = "estimated"
    else:
        pmf = normal_fragment_pmf(fragment_mean, fragment_sd, MAX_FRAG_LEN - 1)
        source = "given"
        if fq2 is not None:
            log.warning(
                "%s: only %d pairs measured a fragment length; using mean %.1f sd %.1f",
                sample or display_name(fq1),
                n_frag,
                fragment_mean,
                fragment_sd,
            )
    f = np.arange(pmf.size)
    fl_mean = float((pmf * f).sum())
    fl_sd = float(np.sqrt(max(0.0, (pmf * f * f).sum() - fl_mean**2)))
    eff = effective_lengths(index.lengths, pmf)

    t2 = time.perf_counter()
    ec_off, ec_tx = registry.csr()
    with nullcontext() if serial else numba_threads(n_threads):
        em = run_em(
            ec_off,
            ec_tx,
            counts,
            eff,
            max_rounds=max_rounds,
            min_rounds=min_rounds,
            change_limit=change_limit,
            rel_change=rel_change,
        )
    t_em = time.perf_counter() - t2
    if not em.converged:
        log.warning("EM stopped after %d rounds without converging", em.rounds)
    aligned = int(counts.sum())
    info = {
        "sample": sample,
        "fq1": display_name(fq1),
        "fq2": display_name(fq2) if fq2 is not None else "",
        "paired": fq2 is not None,
        "reads": reads,
        "pseudoaligned": aligned,
        "pseudoaligned_fraction": round(aligned / reads, 6) if reads else 0.0,
        "classes_used": int(np.count_nonzero(counts)),
        "new_classes": registry.n_new,
        "fragment_length_source": source,
        "fragment_length_mean": round(fl_mean, 3),
        "fragment_length_sd": round(fl_sd, 3),
        "fragments_measured": n_frag,
        "em_rounds": em.rounds,
        "em_converged": em.converged,
        "threads": n_threads,
        "seconds_index_load": round(t_load, 4),
        "seconds_stream": round(t_stream, 4),
        "seconds_em": round(t_em, 4),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "k": index.k,
    }
    log.info(
        "%s: %d reads, %.2f%% pseudoaligned, fragment length %.1f +- %.1f (%s), "
        "EM %d rounds; stream %.2f s, EM %.2f s",
        sample or display_name(fq1),
        reads,
        100 * info["pseudoaligned_fraction"],
        fl_mean,
        fl_sd,
        source,
        em.rounds,
        t_stream,
        t_em,
    )
    return QuantResult(index.names, index.lengths, eff, em.est_counts, em.tpm, info)


def write_quant(result: QuantResult, out: str | os.PathLike) -> None:
    """The quant table (:data:`QUANT_COLUMNS`) as TSV, atomically (``-``: standard output)."""
    lines = ["\t".join(QUANT_COLUMNS)]
    lines += [
        f"{n}\t{ln}\t{e:.3f}\t{c:.4f}\t{t:.6f}"
        for n, ln, e, c, t in zip(
            result.names,
            result.lengths.tolist(),
            result.eff_lengths.tolist(),
            result.est_counts.tolist(),
            result.tpm.tolist(),
            strict=True,
        )
    ]
    write_text_output(out, "\n".join(lines) + "\n")


def write_info(info: dict, out: str | os.PathLike) -> None:
    """Run information as JSON, atomically."""
    with atomic_path(out) as tmp:
        tmp.write_text(json.dumps(info, indent=1) + "\n")


def quantify_sample(
    index: KmerIndex | str | os.PathLike,
    fq1: str | os.PathLike,
    fq2: str | os.PathLike | None,
    quant_out: str | os.PathLike,
    info_out: str | os.PathLike | None = None,
    **options,
) -> dict:
    """:func:`quantify` one sample and write its table (and run information); return the info.

    Nothing is written unless the whole sample was read and quantified.
    """
    fq2 = fq2 or None
    cpu0 = time.process_time()
    result = quantify(index, fq1, fq2, **options)
    result.info["cpu_seconds"] = round(time.process_time() - cpu0, 4)
    write_quant(result, quant_out)
    if info_out is not None:
        write_info(result.info, info_out)
    return result.info


@dataclass(frozen=True)
class SampleRun:
    """One sample of :func:`quantify_samples`: its mate files and where its outputs go."""

    sample: str
    fq1: str | os.PathLike
    fq2: str | os.PathLike | None
    quant_out: str | os.PathLike
    info_out: str | os.PathLike | None = None


def quantify_samples(
    index: KmerIndex | str | os.PathLike, runs: list[SampleRun], **options
) -> list[dict]:
    """:func:`quantify_sample` each of ``runs`` in turn, in this one process; return the infos.

    What a process pays before its first read (the interpreter, numpy, numba and the
    loading of its compiled functions, the index) is paid once for all the samples: about
    0.76 s of CPU against kallisto's 0.05 s (``python bench/rnaseq_startup.py``), as much as
    quantifying ~250k pairs. Each sample's outputs are written as
    soon as it is done; an error stops at that sample.
    """
    if not isinstance(index, KmerIndex):
        index = load_index(index)
    return [
        quantify_sample(index, r.fq1, r.fq2, r.quant_out, r.info_out, sample=r.sample, **options)
        for r in runs
    ]
