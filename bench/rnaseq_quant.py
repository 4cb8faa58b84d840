"""Benchmark: where biometal's RNA-seq quantification spends its time (one core).

    python bench/rnaseq_quant.py                       # default simulated sample rna01
    python bench/rnaseq_quant.py --fq1 a_R1.fq.gz --fq2 a_R2.fq.gz --index idx.npz
    python bench/rnaseq_quant.py --repeat 10           # the sample concatenated 10 times

Needs the workflow's outputs (``snakemake --cores 2 case_study_rnaseq``) or the paths given.
Phases, each timed on its own after an untimed warm-up (numba's cache loaded, page cache
warm), one numba thread, median of ``--reps`` repeats:

* ``read``: decompress + parse both mate files into chunks (background read thread included),
  mate read IDs compared (:func:`biometal.io.mates.mate_chunks`);
* ``pseudoalign``: biometal's pseudoaligner on the chunks already in memory (unitig skipping);
* ``lookup_all``: the exhaustive reference, every k-mer of every read looked up in the hash
  table (what skipping avoids), on the same chunks;
* ``em``: the EM on the class counts.

Prints a TSV: phase, median seconds, read pairs/s, share of read + pseudoalign + em. This is
the measurement behind the Metal decision (README, :mod:`biometal.rnaseq.pseudoalign`).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from biometal._threads import set_numba_threads
from biometal.io.mates import mate_chunks
from biometal.rnaseq import _kernels
from biometal.rnaseq.em import effective_lengths, normal_fragment_pmf, run_em
from biometal.rnaseq.index import load_index
from biometal.rnaseq.pseudoalign import ECRegistry, pseudoalign


def _chunks(fq1: str, fq2: str, repeat: int, chunk_reads: int):
    """Both mate files in lock-step with their read IDs compared, as quantify reads them."""
    out = []
    for _ in range(repeat):
        out += list(mate_chunks(fq1, fq2, chunk_reads))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fq1", default="results/data/rnaseq/rna01_R1.fastq.gz")
    ap.add_argument("--fq2", default="results/data/rnaseq/rna01_R2.fastq.gz")
    ap.add_argument("--index", default="results/rnaseq/index/index.npz")
    ap.add_argument("--repeat", type=int, default=1, help="process the input this many times")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--chunk-reads", type=int, default=65536)
    args = ap.parse_args()
    for p in (args.fq1, args.fq2, args.index):
        if not Path(p).exists():
            sys.exit(f"error: {p} not found (run: snakemake --cores 2 case_study_rnaseq)")
    set_numba_threads(1)  # the whole benchmark process runs on one thread
    index = load_index(args.index)
    chunks = _chunks(args.fq1, args.fq2, 1, args.chunk_reads)  # warm-up
    for c1, c2 in chunks[:1]:
        pseudoalign(index, ECRegistry(index), c1, c2)
        _kernels.read_kmer_classes(c1.codes, c1.offsets, index.k, index.table, index.contig_ec)

    times: dict[str, list[float]] = {"read": [], "pseudoalign": [], "lookup_all": [], "em": []}
    pairs = 0
    for _ in range(args.reps):
        t = time.perf_counter()
        chunks = _chunks(args.fq1, args.fq2, args.repeat, args.chunk_reads)
        times["read"].append(time.perf_counter() - t)
        pairs = sum(len(c1) for c1, _ in chunks)

        registry = ECRegistry(index)
        counts = np.zeros(index.n_ecs, np.int64)
        t = time.perf_counter()
        for c1, c2 in chunks:
            ec, _ = pseudoalign(index, registry, c1, c2)
            if len(registry) > len(counts):
                counts = np.concatenate([counts, np.zeros(len(registry) - len(counts), np.int64)])
            counts += np.bincount(ec[ec >= 0], minlength=len(counts))
        times["pseudoalign"].append(time.perf_counter() - t)

        t = time.perf_counter()
        for c1, c2 in chunks:
            for c in (c1, c2):
                _kernels.read_kmer_classes(
                    c.codes, c.offsets, index.k, index.table, index.contig_ec
                )
        times["lookup_all"].append(time.perf_counter() - t)

        eff = effective_lengths(index.lengths, normal_fragment_pmf(250, 40, 999))
        ec_off, ec_tx = registry.csr()
        t = time.perf_counter()
        run_em(ec_off, ec_tx, counts, eff)
        times["em"].append(time.perf_counter() - t)

    med = {k: statistics.median(v) for k, v in times.items()}
    total = med["read"] + med["pseudoalign"] + med["em"]
    print(f"# {pairs} read pairs, {index.n_kmers} k-mers, one numba thread")
    print("phase\tmedian_s\tpairs_per_s\tshare_of_quant")
    for phase, s in med.items():
        share = f"{s / total:.3f}" if phase != "lookup_all" else "(reference)"
        print(f"{phase}\t{s:.3f}\t{pairs / s:,.0f}\t{share}")


if __name__ == "__main__":
    main()
