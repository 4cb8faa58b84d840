"""Interval operations benchmark: biometal.regions vs bedtools (process) vs bioframe (in process).

Data: ``n`` A and ``n`` B intervals (seeded), BED3, on the 24 human chromosomes (GRCh38
lengths; counts proportional to length), lengths uniform 100-5,000 bp, sorted
(``sort -k1,1 -k2,2n`` order). Operations: intersect (default output, ``-sorted``), merge,
subtract (``-sorted``), complement (``-g``), closest (``-d``, ties all), coverage
(``-sorted``).

Timing is CPU time (user+sys; the machine may be shared). biometal and bioframe run in this
process on already-parsed arrays / DataFrames (``time.process_time``, all threads; numba
compile excluded by a warm-up call on small data); biometal's ``op`` time includes building
the result's columns but not BED text, its ``op+io`` time adds ``read_bed`` of the inputs and
writing the BED lines to ``/dev/null``. bedtools runs as a process writing to ``/dev/null``,
timed from ``RUSAGE_CHILDREN`` (its parse + op + output). Tools are interleaved per repeat.
:func:`benchmark_intervals` returns one row per (op, tool, repeat); :func:`summarize_intervals`
the medians (min-max) and ratios (peer CPU / biometal CPU, > 1: biometal faster).
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from biometal.regions import intervals as ops
from biometal.regions import read_bed, read_genome

OPS = ("intersect", "merge", "subtract", "complement", "closest", "coverage")
#: tools of the benchmark rows (bioframe and bedtools only where installed)
TOOLS = ("biometal", "biometal_io", "bedtools", "bioframe")

GRCH38 = {
    "chr1": 248956422, "chr2": 242193529, "chr3": 198295559, "chr4": 190214555,
    "chr5": 181538259, "chr6": 170805979, "chr7": 159345973, "chr8": 145138636,
    "chr9": 138394717, "chr10": 133797422, "chr11": 135086622, "chr12": 133275309,
    "chr13": 114364328, "chr14": 107043718, "chr15": 101991189, "chr16": 90338345,
    "chr17": 83257441, "chr18": 80373285, "chr19": 58617616, "chr20": 64444167,
    "chr21": 46709983, "chr22": 50818468, "chrX": 156040895, "chrY": 57227415,
}  # fmt: skip


def make_bed(path: str | os.PathLike, n: int, seed: int) -> None:
    """Write ``n`` sorted random BED3 intervals on GRCh38's chromosomes (module doc)."""
    rng = np.random.default_rng(seed)
    names = sorted(GRCH38)  # lexicographic, as `sort -k1,1`
    sizes = np.array([GRCH38[c] for c in names], dtype=np.float64)
    counts = rng.multinomial(n, sizes / sizes.sum())
    with open(path, "w") as out:
        for c, k in zip(names, counts, strict=True):
            s = np.sort(rng.integers(0, GRCH38[c] - 5000, k))
            e = s + rng.integers(100, 5001, k)
            out.write(
                "".join(f"{c}\t{a}\t{b}\n" for a, b in zip(s.tolist(), e.tolist(), strict=True))
            )


def _bedtools_cpu(args: list[str]) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(args, stdout=subprocess.DEVNULL, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def benchmark_intervals(
    n: int = 1_000_000,
    repeats: int = 3,
    operations: Sequence[str] = OPS,
    bedtools: str | None = None,
    bioframe: bool = True,
) -> pd.DataFrame:
    """CPU seconds per (op, tool, repeat) on ``n`` x ``n`` intervals (module doc): columns
    ``n``, ``op``, ``tool`` (:data:`TOOLS`), ``repeat``, ``cpu_s``. ``bedtools``: its path
    (default: found on PATH; absent: no bedtools rows); ``bioframe``: time bioframe when
    importable."""
    unknown = [op for op in operations if op not in OPS]
    if unknown:
        raise ValueError(f"unknown interval operation(s) {unknown}; choose from {OPS}")
    bt = bedtools or shutil.which("bedtools")
    bf = None
    if bioframe:
        try:
            import bioframe as bf
        except ImportError:
            bf = None
    tmp = Path(tempfile.mkdtemp(prefix="bench_intervals_"))
    rows = []
    try:
        fa, fb, fg = tmp / "a.bed", tmp / "b.bed", tmp / "g.txt"
        make_bed(fa, n, 1)
        make_bed(fb, n, 2)
        fg.write_text("".join(f"{c}\t{k}\n" for c, k in sorted(GRCH38.items())))
        a, b, genome = read_bed(fa), read_bed(fb), read_genome(fg)
        small_a = ops.take(a, np.arange(min(1000, len(a))))
        small_b = ops.take(b, np.arange(min(1000, len(b))))
        ours = {
            "intersect": lambda x, y: ops.intersect(x, y),
            "merge": lambda x, y: ops.merge(x),
            "subtract": lambda x, y: ops.subtract(x, y),
            "complement": lambda x, y: ops.complement(x, genome),
            "closest": lambda x, y: ops.closest_pairs(x, y),
            "coverage": lambda x, y: ops.coverage_arrays(x, y),
        }
        text = {"closest": ops.closest, "coverage": ops.coverage}
        peer_args = {
            "intersect": ["intersect", "-a", fa, "-b", fb, "-sorted"],
            "merge": ["merge", "-i", fa],
            "subtract": ["subtract", "-a", fa, "-b", fb, "-sorted"],
            "complement": ["complement", "-i", fa, "-g", fg],
            "closest": ["closest", "-a", fa, "-b", fb, "-d"],
            "coverage": ["coverage", "-a", fa, "-b", fb, "-sorted"],
        }
        peers_bf = {}
        if bf is not None:
            da, db = a.to_frame(), b.to_frame()
            view = bf.make_viewframe(dict(sorted(GRCH38.items())))
            peers_bf = {
                "intersect": lambda: bf.overlap(da, db, how="inner", return_overlap=True),
                "merge": lambda: bf.merge(da),
                "subtract": lambda: bf.subtract(da, db),
                "complement": lambda: bf.complement(da, view_df=view),
                "closest": lambda: bf.closest(da, db),
                "coverage": lambda: bf.coverage(da, db),
            }
        for op in operations:
            ours[op](small_a, small_b)  # warm-up: numba compile / cache load
            for r in range(repeats):
                c0 = time.process_time()
                res = ours[op](a, b)
                rows.append((n, op, "biometal", r, time.process_time() - c0))
                del res
                c0 = time.process_time()
                xa = read_bed(fa)
                xb = None if op in ("merge", "complement") else read_bed(fb)
                with open(os.devnull, "w") as out:
                    out.write("\n".join(text.get(op, ours[op])(xa, xb).lines()))
                rows.append((n, op, "biometal_io", r, time.process_time() - c0))
                if bt:
                    cpu = _bedtools_cpu([str(x) for x in [bt, *peer_args[op]]])
                    rows.append((n, op, "bedtools", r, cpu))
                if op in peers_bf:
                    c0 = time.process_time()
                    peers_bf[op]()
                    rows.append((n, op, "bioframe", r, time.process_time() - c0))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return pd.DataFrame(rows, columns=["n", "op", "tool", "repeat", "cpu_s"])


def summarize_intervals(runs: pd.DataFrame) -> pd.DataFrame:
    """Per (n, op, tool): median, min and max CPU seconds, and the median over repeats of
    the ratio tool CPU / biometal CPU (``ratio_vs_biometal``; > 1: biometal faster)."""
    out = []
    for (n, op), g in runs.groupby(["n", "op"], sort=False):
        ours = g[g["tool"] == "biometal"].set_index("repeat")["cpu_s"]
        for tool, t in g.groupby("tool", sort=False):
            v = t.set_index("repeat")["cpu_s"]
            both = v.index.intersection(ours.index)
            ratio = [v[r] / ours[r] for r in both if ours[r] > 0]
            out.append(
                (
                    n,
                    op,
                    tool,
                    statistics.median(v),
                    v.min(),
                    v.max(),
                    statistics.median(ratio) if ratio else float("nan"),
                )
            )
    cols = ["n", "op", "tool", "median_cpu_s", "min_cpu_s", "max_cpu_s", "ratio_vs_biometal"]
    return pd.DataFrame(out, columns=cols)


def write_interval_bench(
    out: str | os.PathLike,
    n: int,
    repeats: int,
    operations: Sequence[str] = OPS,
) -> pd.DataFrame:
    """Run :func:`benchmark_intervals` and write its rows (TSV: n, op, tool, repeat, cpu_s)."""
    from biometal.io.atomic import atomic_path

    runs = benchmark_intervals(n, repeats, operations)
    with atomic_path(out) as tmp:
        runs.to_csv(tmp, sep="\t", index=False, float_format="%.6f")
    return runs


def write_loader_bench(
    out: str | os.PathLike,
    reference: str | os.PathLike,
    bam: str | os.PathLike,
    vcf: str | os.PathLike | None,
    n_regions: int = 100,
    width: int = 1000,
    repeats: int = 3,
    memory_counts: Sequence[int] = (500, 5000),
) -> pd.DataFrame:
    """The multi-modal region loader against the pysam + cyvcf2 + pyfaidx loader
    (:func:`biometal.ml.regions.loader_throughput`: CPU seconds, regions/s, MB/s per repeat,
    interleaved) on the first ``n_regions`` windows of ``width`` bp tiled over the
    reference, and its peak RSS over ``memory_counts`` windows, each in a fresh process
    (:func:`biometal.ml.regions.loader_memory`; none when empty). One TSV: ``kind`` =
    throughput (columns of loader_throughput) or memory (regions, bytes, rss_before_mb,
    peak_rss_mb)."""
    from biometal.io.atomic import atomic_path
    from biometal.ml.regions import loader_memory, loader_throughput, region_windows

    windows = region_windows(reference, tile=width, step=width).iloc[:n_regions]
    speed = loader_throughput(reference, bam, vcf, windows, repeats)
    speed.insert(0, "kind", "throughput")
    parts = [speed]
    if len(memory_counts):
        memory = loader_memory(reference, bam, vcf, counts=tuple(memory_counts), width=width)
        memory.insert(0, "kind", "memory")
        memory.insert(1, "loader", "biometal")
        parts.append(memory)
    table = pd.concat(parts, ignore_index=True)
    table.insert(1, "width", width)
    with atomic_path(out) as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
    return table
