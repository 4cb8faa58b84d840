"""A de Bruijn graph assembler built from biometal.assembly's primitives (the plan's "an
assembler in 300 lines": this file is the whole assembler, 256 lines with its docs).

Steps, each one library call:

1. count canonical k-mers of the reads (:func:`biometal.assembly.kmers.count_fastq`: the
   kmer_count kernel, Metal or numba, streamed in chunks);
2. pick the solid threshold at the histogram's first valley (:func:`solid_threshold`),
   capped at an eighth of the depth peak (:func:`auto_threshold`), and keep the solid k-mers;
3. build the compacted de Bruijn graph (:meth:`Graph.from_table`: unitigs with coverage);
4. repeat ``rounds`` times: clip tips (< 2k bp dead ends), pop bubbles (< 5k bp, similar
   lengths, lower coverage goes), remove short low-coverage connections (< 2k bp, coverage
   below ``low_cov_ratio`` of the best neighbour's); unitigs chain into contigs (compaction);
   then up to two rounds of read threading (:mod:`biometal.assembly.threading`: repeats
   shorter than a read split where the reads pair their neighbours one to one);
5. with two files (R1 R2, mate IDs checked): join the contigs whose pairs link them through
   the graph path that fits the insert size (:mod:`biometal.assembly.pairs`: repeats
   shorter than the insert);
6. extend each unique contig's ends by the reads anchored on them
   (:mod:`biometal.assembly.extend`: into a repeat as far as those reads reach);
7. write contigs >= ``min_contig`` bp (FASTA, longest first) and the graph (GFA 1).

One file, or more than two, are single reads (no scaffolding: joins only through the graph).
``stats`` (JSON) records the k-mer histogram, the threshold, the graph's size after every
step, the pairs' counts (insert size, links, joins) and the ends extended.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from biometal._startup import prepare_numba
from biometal.assembly.extend import extend_ends
from biometal.assembly.graph import Graph
from biometal.assembly.kmers import check_graph_k, count_fastq, solid_threshold
from biometal.assembly.pairs import resolve_pairs
from biometal.assembly.threading import thread_reads
from biometal.errors import ConfigError
from biometal.io.atomic import atomic_path

#: lines of this module (the plan asks for an assembler in ~300 lines); a test keeps it true.
LINE_COUNT = 256


@dataclass(frozen=True)
class AssemblyParams:
    """k (1..63; 0: chosen from the coverage, :func:`choose_k`), solid threshold (0: the
    histogram's first valley), tip and bubble lengths in bp (0: 2k and 5k), simplification
    rounds, low-coverage ratio, minimum contig bp."""

    k: int = 0
    min_count: int = 0
    tip_len: int = 0
    bubble_len: int = 0
    rounds: int = 3
    low_cov_ratio: float = 0.1
    min_contig: int = 200

    def check(self) -> AssemblyParams:
        if self.k != 0:
            check_graph_k(self.k)
        for key in ("k", "min_count", "tip_len", "bubble_len", "rounds", "min_contig"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"{key}: expected an integer >= 0, got {value!r}")
        if not 0.0 <= self.low_cov_ratio < 1.0:
            raise ConfigError(f"low_cov_ratio: expected [0, 1), got {self.low_cov_ratio!r}")
        return self


def depth_peak(hist) -> int:
    """The k-mer depth of the genome: the histogram's highest bin after its first valley
    (0 when there is no valley)."""
    valley = solid_threshold(hist, floor=0)
    return valley + int(np.asarray(hist)[valley:-1].argmax()) if valley else 0


def auto_threshold(hist) -> int:
    """Solid threshold: the histogram's first valley, but at most an eighth of the depth peak
    (genomic k-mers below the valley in locally thin spots are kept; tip clipping and bubble
    popping remove the erroneous ones that pass), and at least 2."""
    valley, peak = solid_threshold(hist), depth_peak(hist)
    return max(2, min(valley, peak // 8)) if peak else valley


def choose_k(hist, read_length: float, k0: int = 31, min_depth: float = 18.0) -> int:
    """The largest odd k in k0..63 whose k-mer depth stays >= ``min_depth``: the k0-mer
    depth is the histogram's peak after its first valley, and a k-mer depth scales with the
    read length as ``depth_k = depth_k0 * (L - k + 1) / (L - k0 + 1)``. k0 when the peak is
    below ``min_depth`` (or there is none)."""
    peak = depth_peak(hist)
    best = k0
    for k in range(k0, 64, 2):
        if peak * (read_length - k + 1) / (read_length - k0 + 1) >= min_depth:
            best = k
    return best


def simplify(g: Graph, params: AssemblyParams) -> list[dict]:
    """Clip tips, pop bubbles, remove weak connections, ``rounds`` times (stopping when a
    round changes nothing); returns the graph's size after each step."""
    k = g.k
    tip = params.tip_len or 2 * k
    bubble = params.bubble_len or 5 * k
    steps = [{"step": "unitigs", "round": 0, "removed": 0, **g.stats()}]
    g.compact()
    for r in range(1, params.rounds + 1):
        changed = 0
        for name, fn in (
            ("tips", lambda: g.clip_tips(tip)),
            ("bubbles", lambda: g.pop_bubbles(bubble)),
            ("low_coverage", lambda: g.remove_low_coverage(params.low_cov_ratio, tip)),
        ):
            removed = fn()
            changed += removed
            steps.append({"step": name, "round": r, "removed": removed, **g.stats()})
        if not changed:
            break
    return steps


def assemble(
    reads: Sequence[str | os.PathLike],
    params: AssemblyParams | None = None,
    *,
    chunk_reads: int = 8192,
    backend: str | None = None,
) -> tuple[Graph, dict]:
    """Assemble FASTQ files (plain or gzip; two files: R1 and R2 of read pairs).

    Returns the simplified graph (its nodes are the contigs) and the run's statistics:
    ``k``, ``threshold``, ``histogram`` (distinct k-mers per count 0..100, the last bin
    >=), ``kmers`` / ``solid_kmers`` (distinct), ``steps`` (graph size per step), ``pairs``
    (:func:`~biometal.assembly.pairs.resolve_pairs`' counts; {} without pairs), ``extend``
    (:func:`~biometal.assembly.extend.extend_ends`' counts) and ``seconds`` per phase.
    """
    params = (params or AssemblyParams()).check()
    if not reads:
        raise ConfigError("reads: expected at least one FASTQ file")
    t0 = time.perf_counter()
    k = params.k or 31
    table = count_fastq(reads, k, chunk_reads=chunk_reads, backend=backend)
    hist = table.histogram(100)
    if params.k == 0:  # auto: from the 31-mer depth and the first chunk's read length
        k = choose_k(hist, _mean_read_length(reads))
        if k != 31:
            del table
            table = count_fastq(reads, k, chunk_reads=chunk_reads, backend=backend)
            hist = table.histogram(100)
    threshold = params.min_count or auto_threshold(hist)
    n_kmers = table.n
    solid = table.solid(threshold)
    del table
    t1 = time.perf_counter()
    g = Graph.from_table(solid)
    n_solid = solid.n
    del solid
    t2 = time.perf_counter()
    steps = simplify(g, params)
    read_len = int(_mean_read_length(reads))
    for r in range(1, 3):  # reads resolve repeats shorter than a read, then clean up again
        split = thread_reads(g, reads, read_len, chunk_reads=chunk_reads, backend=backend)
        g.clip_tips(params.tip_len or 2 * g.k)
        g.pop_bubbles(params.bubble_len or 5 * g.k)
        steps.append({"step": "threading", "round": r, "removed": split, **g.stats()})
        if not split:
            break
    pairs = {}
    if len(reads) == 2:  # mates: join the contigs the pairs order through the graph
        pairs = resolve_pairs(g, reads[0], reads[1], chunk_reads=chunk_reads)
        g.clip_tips(params.tip_len or 2 * g.k)
        steps.append({"step": "pairs", "round": 1, "removed": pairs["joins"], **g.stats()})
    extend = extend_ends(g, reads, read_len, chunk_reads=chunk_reads)
    steps.append({"step": "extend", "round": 1, "removed": 0, **g.stats()})
    t3 = time.perf_counter()
    stats = {
        "k": k,
        "threshold": int(threshold),
        "valley": int(solid_threshold(hist)),
        "depth_peak": depth_peak(hist),
        "histogram": hist.tolist(),
        "kmers": int(n_kmers),
        "solid_kmers": int(n_solid),
        "steps": steps,
        "pairs": pairs,
        "extend": extend,
        "seconds": {
            "count": round(t1 - t0, 3),
            "graph": round(t2 - t1, 3),
            "simplify": round(t3 - t2, 3),
        },
        "params": asdict(params),
    }
    return g, stats


def _mean_read_length(reads: Sequence[str | os.PathLike]) -> float:
    from biometal.io.fastx import read_fastq_chunks

    for chunk in read_fastq_chunks(reads[0], 4096):
        return float(chunk.lengths.mean())
    return 0.0


def assemble_files(
    reads: Sequence[str | os.PathLike],
    contigs_out: str | os.PathLike,
    gfa_out: str | os.PathLike | None = None,
    stats_out: str | os.PathLike | None = None,
    params: AssemblyParams | None = None,
    *,
    chunk_reads: int = 8192,
    backend: str | None = None,
) -> dict:
    """Assemble ``reads`` and write contigs FASTA (``>contig_N len=.. cov=..``), the graph
    as GFA 1 and the statistics as JSON (each optional but the FASTA); returns the stats."""
    params = (params or AssemblyParams()).check()
    g, stats = assemble(reads, params, chunk_reads=chunk_reads, backend=backend)
    stats["contigs"] = g.write_fasta(contigs_out, params.min_contig)
    if gfa_out is not None:
        g.write_gfa(gfa_out)
    if stats_out is not None:
        with atomic_path(stats_out) as tmp:
            tmp.write_text(json.dumps(stats, indent=1) + "\n")
    return stats


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m biometal.assembly.example_assembler READS... -o PREFIX`` (see the CLI's
    ``biometal assemble`` for the same with the package's error handling)."""
    import argparse

    prepare_numba()  # a process of its own: numba's BLAS check without scipy.linalg
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("reads", nargs="+")
    p.add_argument("-o", "--out", required=True, help="output prefix (.fa, .gfa, .json)")
    p.add_argument("-k", type=int, default=0, help="k-mer length (0: from the coverage)")
    p.add_argument("--min-count", type=int, default=0, help="solid threshold (0: valley)")
    p.add_argument("--min-contig", type=int, default=200, help="shortest contig written (bp)")
    a = p.parse_args(argv)
    stats = assemble_files(
        a.reads, f"{a.out}.fa", f"{a.out}.gfa", f"{a.out}.json",
        AssemblyParams(k=a.k, min_count=a.min_count, min_contig=a.min_contig),
    )  # fmt: skip
    print(f"{stats['contigs']} contigs, threshold {stats['threshold']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
