"""Interval operations: biometal.regions vs bedtools 2.30 (process) vs bioframe (in process).

The measurement is :func:`biometal.regions.bench.benchmark_intervals` (data, timing and
interleaving are described there; the workflow's case_study_regions target runs it too):
``--n`` (default 1,000,000) x ``--n`` seeded sorted BED3 intervals on GRCh38's chromosomes,
CPU time (user+sys) of biometal in process (``op``: on parsed arrays; ``op+io``: with BED
parsing and text output), bedtools as a process, bioframe in process; median (min-max) over
``--repeats``; ratio = peer CPU / biometal CPU (> 1: biometal faster).

    .venv/bin/python bench/intervals.py --n 1000000 --repeats 3
"""

from __future__ import annotations

import argparse
import shutil
import sys

from biometal.regions.bench import OPS, benchmark_intervals, summarize_intervals


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--ops", default=",".join(OPS))
    args = p.parse_args()
    runs = benchmark_intervals(args.n, args.repeats, args.ops.split(","))
    s = summarize_intervals(runs).set_index(["op", "tool"])
    print(f"# n = {args.n:,} x {args.n:,}; CPU seconds, median (min-max) of {args.repeats}")
    print(
        "| op | biometal op | biometal op+io | bedtools | bioframe | bedtools/ours(op) "
        "| bedtools/ours(op+io) | bioframe/ours(op) |"
    )
    print("|---|---|---|---|---|---|---|---|")

    def fmt(op: str, tool: str) -> str:
        if (op, tool) not in s.index:
            return "n/a"
        r = s.loc[(op, tool)]
        return f"{r.median_cpu_s:.3f} ({r.min_cpu_s:.3f}-{r.max_cpu_s:.3f})"

    def ratio(op: str, num: str, den: str) -> str:
        if (op, num) not in s.index or (op, den) not in s.index:
            return "n/a"
        sub = runs[runs["op"] == op].pivot(index="repeat", columns="tool", values="cpu_s")
        return f"{(sub[num] / sub[den]).median():.2f}"

    for op in args.ops.split(","):
        print(
            f"| {op} | {fmt(op, 'biometal')} | {fmt(op, 'biometal_io')} | {fmt(op, 'bedtools')} "
            f"| {fmt(op, 'bioframe')} | {ratio(op, 'bedtools', 'biometal')} "
            f"| {ratio(op, 'bedtools', 'biometal_io')} | {ratio(op, 'bioframe', 'biometal')} |",
            flush=True,
        )
    try:
        import bioframe

        bfv = bioframe.__version__
    except ImportError:
        bfv = None
    print(f"# python {sys.version.split()[0]}; bedtools {shutil.which('bedtools')}; bioframe {bfv}")


if __name__ == "__main__":
    main()
