"""Pileup throughput against ``samtools mpileup``: same BAM, same filters, same run.

Each repeat runs every method once, in an order rotated from repeat to repeat (so that no
method always runs first or last), after one untimed warm-up run of each (file cache,
numba's compiled-function cache). Methods:

- ``samtools mpileup``: the command of :func:`biometal.pileup.samtools_command` (same read
  and base filters, BAQ off, overlap removal off) writing its text to a file; samtools'
  pileup is single-threaded;
- ``biometal -> TSV`` in-process, ``threads`` 1 and 2 (and ``metal`` where available):
  BAM to the bgzipped pileup TSV (:func:`biometal.pileup.tsv.write_pileup_tsv`), timed
  around the library call;
- ``biometal -> counts`` in-process: BAM to the per-position count tables and indel events
  (:func:`biometal.pileup.iter_pileup`, what the caller consumes; the counts equal what
  samtools prints, tests/unit/test_pileup_samtools.py), no output file;
- ``biometal -> TSV (new process)``: the TSV through ``python -m biometal.pileup`` with the
  largest thread count, i.e. including interpreter start-up, imports and numba's loading
  of its compiled functions (about 1-2 s of fixed cost).

Every run's wall time, its CPU time (user + system, of this process or of the child
process) and the 1-minute load average before it go to the runs table. CPU time is the
robust measure on a busy machine (other jobs stretch wall time, not CPU time) for the
single-threaded methods. The summary gives per method the median wall time with a
distribution-free 95% confidence interval of the median (order statistics; with 5 repeats
the interval is min..max, 94% coverage), the throughput in reference positions per second,
the ratio of samtools' median to the method's (``speedup_vs_samtools``), the same for CPU
time (``median_cpu_s``, ``cpu_speedup_vs_samtools``), and the mean wall time with its
t-based 95% CI (:func:`biometal.stats.summarize`, the project's benchmark statistics).
"""

from __future__ import annotations

import logging
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from biometal.errors import BiometalError
from biometal.io.atomic import atomic_path
from biometal.io.bam import check_bam
from biometal.kernels import metal_available
from biometal.pileup.engine import PileupParams, iter_pileup, samtools_command
from biometal.pileup.tsv import write_pileup_tsv
from biometal.stats import summarize as summarize_runs

log = logging.getLogger(__name__)

SUMMARY_COLUMNS = [
    "method",
    "backend",
    "threads",
    "repeats",
    "median_s",
    "ci95_low_s",
    "ci95_high_s",
    "positions",
    "mpositions_per_s",
    "speedup_vs_samtools",
    "median_cpu_s",
    "cpu_speedup_vs_samtools",
    "mean_s",
    "mean_ci95_low_s",
    "mean_ci95_high_s",
    "median_load_1min",
]


def median_ci(values: Sequence[float], conf: float = 0.95) -> tuple[float, float, float]:
    """Median and a distribution-free confidence interval from order statistics.

    The interval ``[x_(k), x_(n-k+1)]`` with the largest k whose binomial coverage
    ``1 - 2 P(Bin(n, 1/2) < k)`` is still >= ``conf`` (k = 1, i.e. min..max, when even that
    does not reach ``conf``, as for n <= 5).
    """
    x = np.sort(np.asarray(values, dtype=np.float64))
    n = len(x)
    if n == 0:
        return float("nan"), float("nan"), float("nan")
    k = 1
    for cand in range(1, n // 2 + 1):
        if 1 - 2 * stats.binom.cdf(cand - 1, n, 0.5) >= conf:
            k = cand
    return float(np.median(x)), float(x[k - 1]), float(x[n - k])


def _load() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:  # pragma: no cover - platform without getloadavg
        return float("nan")


def bench_backends(requested: str) -> list[str]:
    """Backends the benchmark times: the numba backend always, Metal too where it answers
    (unless ``requested`` is ``cpu``)."""
    return ["cpu"] + (["metal"] if requested != "cpu" and metal_available() else [])


def benchmark_pileup(
    bam: str | os.PathLike,
    reference: str | os.PathLike,
    runs_out: str | os.PathLike,
    summary_out: str | os.PathLike,
    params: PileupParams,
    *,
    repeats: int = 5,
    threads: Sequence[int] = (1, 2),
    backends: Sequence[str] = ("cpu",),
    new_process: bool = True,
) -> pd.DataFrame:
    """Time the pileup methods (module docstring); write the runs and summary tables."""
    if shutil.which("samtools") is None:
        raise BiometalError(
            "pileup benchmark: samtools is not installed (the peer to compare with)"
        )
    check_bam(bam, reference)
    bam, reference = str(bam), str(reference)
    tmpdir = Path(tempfile.mkdtemp(prefix=".pileup_bench.", dir=Path(summary_out).parent))
    methods: list[tuple[str, str, int, object]] = []

    def samtools_run() -> None:
        cmd = samtools_command(bam, params, reference)
        cmd[-1:-1] = ["-o", str(tmpdir / "samtools.txt")]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise BiometalError(f"samtools mpileup failed: {proc.stderr.strip()[-300:]}")

    methods.append(("samtools mpileup", "-", 1, samtools_run))
    for backend in backends:
        for t in threads:
            p = PileupParams(**{**vars(params), "threads": int(t), "backend": backend})

            def ours(p: PileupParams = p) -> None:
                write_pileup_tsv(bam, tmpdir / "biometal.tsv.gz", p, reference=reference)

            methods.append(("biometal -> TSV", backend, int(t), ours))

            def counts(p: PileupParams = p) -> None:
                for _ in iter_pileup(bam, p, reference=reference):
                    pass

            methods.append(("biometal -> counts", backend, int(t), counts))
    if new_process:
        t_max = int(max(threads))

        def cli() -> None:
            cmd = [
                sys.executable,
                "-m",
                "biometal.pileup",
                bam,
                reference,
                str(tmpdir / "cli.tsv.gz"),
                "-q",
                str(params.min_mapq),
                "-Q",
                str(params.min_baseq),
                "--ff",
                ",".join(params.exclude_flags),
                "--threads",
                str(t_max),
                "--backend",
                backends[0],
                "--region-size",
                str(params.region_size),
            ] + (["-A"] if params.count_orphans else [])
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                raise BiometalError(f"python -m biometal.pileup failed: {proc.stderr[-300:]}")

        methods.append(("biometal -> TSV (new process)", backends[0], t_max, cli))
    rows = []
    try:
        for _, _, _, fn in methods:  # warm-up
            fn()
        positions = _positions(tmpdir / "biometal.tsv.gz")
        for rep in range(repeats):
            order = methods[rep % len(methods) :] + methods[: rep % len(methods)]
            for name, backend, t, fn in order:
                load = _load()
                r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
                c0 = time.process_time()
                t0 = time.perf_counter()
                fn()
                wall = time.perf_counter() - t0
                r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu = time.process_time() - c0
                cpu += (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
                rows.append(
                    {
                        "method": name,
                        "backend": backend,
                        "threads": t,
                        "repeat": rep + 1,
                        "seconds": wall,
                        "cpu_seconds": cpu,
                        "load_1min": load,
                    }
                )
                log.info(
                    "%s (%s, %d threads) repeat %d: %.3f s",
                    name,
                    backend,
                    t,
                    rep + 1,
                    rows[-1]["seconds"],
                )
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    runs = pd.DataFrame(rows)
    summary = summarize(runs, positions)
    with atomic_path(runs_out) as tmp:
        runs.to_csv(tmp, sep="\t", index=False, float_format="%.4f")
    with atomic_path(summary_out) as tmp:
        summary.to_csv(tmp, sep="\t", index=False, float_format="%.4g")
    return summary


def _positions(tsv_gz: Path) -> int:
    import gzip

    n = 0
    with gzip.open(tsv_gz, "rb") as fh:
        for line in fh:
            if not line.startswith(b"#"):
                n += 1
    return n


def summarize(runs: pd.DataFrame, positions: int) -> pd.DataFrame:
    """Summary table (``SUMMARY_COLUMNS``) of a runs table."""
    out = []
    for (method, backend, t), g in runs.groupby(["method", "backend", "threads"], sort=False):
        med, lo, hi = median_ci(g["seconds"])
        mean = summarize_runs(g["seconds"].tolist())
        out.append(
            {
                "method": method,
                "backend": backend,
                "threads": int(t),
                "repeats": len(g),
                "median_s": med,
                "ci95_low_s": lo,
                "ci95_high_s": hi,
                "positions": positions,
                "mpositions_per_s": positions / med / 1e6 if med > 0 else float("nan"),
                "median_cpu_s": float(np.median(g["cpu_seconds"])),
                "mean_s": mean.mean,
                "mean_ci95_low_s": mean.ci_low,
                "mean_ci95_high_s": mean.ci_high,
                "median_load_1min": float(np.median(g["load_1min"])),
            }
        )
    summary = pd.DataFrame(out)
    is_ref = summary["method"] == "samtools mpileup"
    for col, out_col in (
        ("median_s", "speedup_vs_samtools"),
        ("median_cpu_s", "cpu_speedup_vs_samtools"),
    ):
        ref = summary.loc[is_ref, col]
        summary[out_col] = float(ref.iloc[0]) / summary[col] if len(ref) else np.nan
    return summary[SUMMARY_COLUMNS]
