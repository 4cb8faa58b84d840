"""Cost tables of the quantifiers, from Snakemake ``benchmark:`` files measured in the same run.

A benchmark file (one per job) gives wall seconds ``s``, ``cpu_time`` (user + system of the
job's process tree, seconds) and ``max_rss`` (MiB, sampled by Snakemake about twice a second,
so it can miss a short peak). Tables:

* ``cost.tsv``: ``method sample reads threads wall_s cpu_s max_rss_mb reads_per_s
  reads_per_s_per_core``: ``reads`` are fragments (read pairs for paired-end), ``reads_per_s
  = reads / wall_s`` and ``reads_per_s_per_core = reads / cpu_s`` (CPU seconds, so a job
  that used two cores for a second counts two). Both include process start-up: loading the
  index, and for biometal Python and numpy (and numba, 0.40-0.45 s of CPU by
  ``bench/rnaseq_startup.py``, where a job runs on more than one thread or without the
  ahead-of-time build), paid once per job: a job of ``job_samples`` samples shares its
  seconds among them by reads.
* ``index_cost.tsv``: ``method wall_s cpu_s max_rss_mb size_mb`` of the index builds.
* ``memory.tsv`` (:func:`memory_table`): peak memory against input size.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from biometal.io.atomic import atomic_path
from biometal.io.tables import read_benchmark
from biometal.rnaseq.peers import reads_processed

COST_COLUMNS = [
    "method",
    "sample",
    "reads",
    "threads",
    "wall_s",
    "cpu_s",
    "max_rss_mb",
    "reads_per_s",
    "reads_per_s_per_core",
    "job_samples",
]


def _write(table: pd.DataFrame, out: str | os.PathLike | None) -> None:
    if out is not None:
        with atomic_path(out) as tmp:
            table.to_csv(tmp, sep="\t", index=False, float_format="%.4f", lineterminator="\n")


def cost_table(
    runs: Iterable[tuple[str, str, str | os.PathLike, str | os.PathLike, int]],
    out: str | os.PathLike | None = None,
) -> pd.DataFrame:
    """Cost of every ``(method, sample, quant path, benchmark path, threads)`` run.

    Runs that share a benchmark file were one job (biometal quantifies
    ``rnaseq.samples_per_job`` samples in one process): the job's wall and CPU seconds are
    shared among them in proportion to their reads, start-up included, and each gets the
    job's peak memory; ``job_samples`` says how many shared it.
    """
    runs = [(m, s, q, str(b), t, reads_processed(m, q)) for m, s, q, b, t in runs]
    job_reads: dict[str, int] = {}
    job_samples: dict[str, int] = {}
    for *_, bench, _, reads in runs:
        job_reads[bench] = job_reads.get(bench, 0) + reads
        job_samples[bench] = job_samples.get(bench, 0) + 1
    rows = []
    for method, sample, _, bench, threads, reads in runs:
        b = read_benchmark(bench)
        share = reads / job_reads[bench] if job_reads[bench] else 1 / job_samples[bench]
        wall, cpu = b["wall_s"] * share, b["cpu_s"] * share
        rows.append(
            {
                "method": method,
                "sample": sample,
                "reads": reads,
                "threads": threads,
                "wall_s": wall,
                "cpu_s": cpu,
                "max_rss_mb": b["max_rss_mb"],
                "reads_per_s": reads / wall if wall > 0 else float("nan"),
                "reads_per_s_per_core": reads / cpu if cpu > 0 else float("nan"),
                "job_samples": job_samples[bench],
            }
        )
    table = pd.DataFrame(rows, columns=COST_COLUMNS)
    _write(table, out)
    return table


def _size_mb(path: Path) -> float:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20
    return path.stat().st_size / 2**20


def index_cost_table(
    builds: Iterable[tuple[str, str | os.PathLike, str | os.PathLike]],
    out: str | os.PathLike | None = None,
) -> pd.DataFrame:
    """Cost of every ``(method, index path (file or directory), benchmark path)`` build."""
    rows = [
        {"method": m, **read_benchmark(bench), "size_mb": _size_mb(Path(index))}
        for m, index, bench in builds
    ]
    table = pd.DataFrame(rows, columns=["method", "wall_s", "cpu_s", "max_rss_mb", "size_mb"])
    _write(table, out)
    return table


def memory_table(
    runs: Iterable[tuple[str, int, str | os.PathLike, str | os.PathLike]],
    out: str | os.PathLike | None = None,
) -> pd.DataFrame:
    """Peak memory against input size for ``(method, factor, quant path, benchmark path)``.

    Columns ``method factor reads peak_rss_mb bench_max_rss_mb wall_s cpu_s``:
    ``peak_rss_mb`` is the process's own high-water mark (VmHWM) where the method reports it
    (biometal's run JSON), else Snakemake's sampled ``max_rss``.
    """
    rows = []
    for method, factor, quant, bench in runs:
        b = read_benchmark(bench)
        peak = b["max_rss_mb"]
        if method == "biometal":
            peak = float(json.loads(Path(quant).with_suffix(".json").read_text())["peak_rss_mb"])
        rows.append(
            {
                "method": method,
                "factor": int(factor),
                "reads": reads_processed(method, quant),
                "peak_rss_mb": peak,
                "bench_max_rss_mb": b["max_rss_mb"],
                "wall_s": b["wall_s"],
                "cpu_s": b["cpu_s"],
            }
        )
    table = pd.DataFrame(rows)
    _write(table, out)
    return table


def throughput_table(memory: pd.DataFrame, out: str | os.PathLike | None = None) -> pd.DataFrame:
    """Fixed and per-read CPU cost of each method, from the memory-scaling runs.

    A least-squares line ``cpu_s = fixed_cpu_s + reads * cpu_us_per_read / 1e6`` through the
    runs of each method: ``fixed_cpu_s`` is start-up (interpreter, index load), and
    ``marginal_reads_per_s_per_core = 1e6 / cpu_us_per_read`` the throughput a large sample
    approaches. Also the throughput of the largest run, start-up included.
    """
    import numpy as np

    rows = []
    for method, grp in memory.groupby("method", sort=False):
        x = grp["reads"].to_numpy(dtype=float)
        y = grp["cpu_s"].to_numpy(dtype=float)
        if len(grp) >= 2 and np.ptp(x) > 0:
            slope, intercept = np.polyfit(x, y, 1)
        else:
            slope, intercept = (y[0] / x[0] if x[0] else float("nan")), 0.0
        big = grp.loc[grp["reads"].idxmax()]
        rows.append(
            {
                "method": method,
                "runs": len(grp),
                "fixed_cpu_s": intercept,
                "cpu_us_per_read": slope * 1e6,
                "marginal_reads_per_s_per_core": 1.0 / slope if slope > 0 else float("nan"),
                "largest_reads": int(big["reads"]),
                "largest_reads_per_s_per_core": big["reads"] / big["cpu_s"],
            }
        )
    table = pd.DataFrame(rows)
    _write(table, out)
    return table
