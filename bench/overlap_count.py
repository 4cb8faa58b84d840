"""Overlap counts (bedtools intersect -c): the overlap_count kernel's numba twin vs the scan
kernel it replaced, bedtools and bioframe.

Data: :func:`biometal.regions.bench.make_bed` (``--n`` x ``--n`` seeded sorted BED3 on
GRCh38's chromosomes, lengths 100-5,000 bp). Rows, CPU seconds (user+sys, all threads,
``time.process_time``; wall in brackets) median (min-max) of ``--repeats``, numba compile
excluded by a warm-up:

- ``library new``: ``biometal.regions.intervals.overlap_counts(a, b)`` as it is now (keys,
  target sorting, the kernel's cpu backend);
- ``library old``: the same keys, then the old path: B sorted by start with a running
  maximum of ends, and the old scan kernel (a copy of the numba function that
  biometal/regions/_kernels.py held until the overlap_count kernel replaced it);
- ``kernel new`` / ``kernel old``: the kernels alone on prepared arrays;
- ``bedtools``: ``bedtools intersect -a A -b B -c -sorted`` as a process (parse + output);
- ``bioframe``: ``bioframe.count_overlaps`` in process, when installed.

``--skew-n``: the same kernels on ``--skew-n`` x ``--skew-n`` intervals after adding one
target spanning each chromosome (the old scan walks back to it from every query).

    .venv/bin/python bench/overlap_count.py --n 1000000 --repeats 3
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numba
import numpy as np
from numba import njit, prange

from biometal.regions import intervals as ops
from biometal.regions import read_bed
from biometal.regions.bench import GRCH38, _bedtools_cpu, make_bed


@njit(cache=True, parallel=True)
def old_overlap_count(as_, ae, bs, be, bmax):  # pragma: no cover - the replaced kernel
    """Per A interval, the number of B intervals with ``bs < a.end`` and ``be > a.start``."""
    n = len(as_)
    out = np.zeros(n, dtype=np.int64)
    for i in prange(n):
        s = as_[i]
        j = np.searchsorted(bs, ae[i]) - 1
        c = 0
        while j >= 0 and bmax[j] > s:
            if be[j] > s:
                c += 1
            j -= 1
        out[i] = c
    return out


def old_library(a, b):
    as_, ae, (_, bs, be, bmax) = ops._prepare(a, b, None)
    return old_overlap_count(as_, ae, bs, be, bmax)


def timed(fn, repeats):
    cpu, wall, out = [], [], None
    for _ in range(repeats):
        c0, w0 = time.process_time(), time.perf_counter()
        out = fn()
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    return cpu, wall, out


def fmt(cpu, wall):
    return (
        f"{statistics.median(cpu):.3f} ({min(cpu):.3f}-{max(cpu):.3f}) "
        f"[{statistics.median(wall):.3f}]"
    )


def kernel_rows(a, b, repeats, label):
    as_, ae, bs, be, _ = ops._keyed(a, b, None)
    _, sbs, sbe, bmax = ops._sorted_b(bs, be)
    starts, ends, points = np.sort(bs), np.sort(be), np.sort(bs[bs == be])
    from biometal.kernels.overlap_count_cpu import overlap_count_cpu

    def new_kernel():
        out = np.empty(len(as_), np.int64)
        overlap_count_cpu(as_, ae, starts, ends, points, out)
        return out

    rows = {
        f"kernel new{label}": timed(new_kernel, repeats),
        f"kernel old{label}": timed(lambda: old_overlap_count(as_, ae, sbs, sbe, bmax), repeats),
    }
    got = [r[2] for r in rows.values()]
    assert np.array_equal(got[0], got[1]), "old and new kernels disagree"
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--skew-n", type=int, default=100_000)
    args = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_overlap_count_"))
    bf = None
    try:
        fa, fb = tmp / "a.bed", tmp / "b.bed"
        make_bed(fa, args.n, 1)
        make_bed(fb, args.n, 2)
        a, b = read_bed(fa), read_bed(fb)
        small_a = ops.take(a, np.arange(min(1000, len(a))))
        small_b = ops.take(b, np.arange(min(1000, len(b))))
        ops.overlap_counts(small_a, small_b, backend="cpu")  # warm-up (compile / cache load)
        old_library(small_a, small_b)
        rows = {
            "library new": timed(lambda: ops.overlap_counts(a, b, backend="cpu"), args.repeats),
            "library old": timed(lambda: old_library(a, b), args.repeats),
        }
        want = rows["library new"][2]
        assert np.array_equal(want, rows["library old"][2]), "old and new library disagree"
        rows.update(kernel_rows(a, b, args.repeats, ""))
        bt = shutil.which("bedtools")
        if bt:
            cmd = [bt, "intersect", "-a", str(fa), "-b", str(fb), "-c", "-sorted"]
            cpu = [_bedtools_cpu(cmd) for _ in range(args.repeats)]
            rows["bedtools -c -sorted (process)"] = (cpu, [float("nan")] * len(cpu), None)
        try:
            import bioframe as bf
        except ImportError:
            pass
        if bf is not None:
            da, db = a.to_frame(), b.to_frame()
            rows["bioframe count_overlaps"] = timed(lambda: bf.count_overlaps(da, db), 1)
        if args.skew_n:
            ka = ops.take(a, np.arange(min(args.skew_n, len(a))))
            kb = ops.take(b, np.arange(min(args.skew_n, len(b))))
            names = ka.chrom_names
            span = ops.Intervals(
                chrom_names=names,
                chrom=np.arange(len(names), dtype=np.int32),
                start=np.zeros(len(names), np.int64),
                end=np.array([GRCH38[c] for c in names], np.int64),
                tail=np.full(len(names), "", dtype=object),
                strand=np.zeros(len(names), np.int8),
                path="spanning",
            )
            kb = ops.Intervals(
                chrom_names=names,
                chrom=np.r_[kb.chrom, span.chrom].astype(np.int32),
                start=np.r_[kb.start, span.start],
                end=np.r_[kb.end, span.end],
                tail=np.r_[kb.tail, span.tail],
                strand=np.r_[kb.strand, span.strand],
                path="b+spanning",
            )
            rows.update(kernel_rows(ka, kb, args.repeats, f" (skew, {args.skew_n:,})"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"# n = {args.n:,} x {args.n:,}; CPU s median (min-max) [wall s] of {args.repeats}")
    print("| row | CPU s [wall] |")
    print("|---|---|")
    for name, (cpu, wall, _) in rows.items():
        print(f"| {name} | {fmt(cpu, wall)} |")
    new = statistics.median(rows["library new"][0])
    for name in rows:
        if name.startswith(("library old", "bedtools", "bioframe")):
            print(f"# {name} / library new (CPU): {statistics.median(rows[name][0]) / new:.2f}")
    bfv = getattr(bf, "__version__", "not installed") if bf is not None else "not installed"
    print(
        f"# python {sys.version.split()[0]}; numba threads {numba.get_num_threads()}; "
        f"cores {os.cpu_count()}; bedtools {shutil.which('bedtools')}; bioframe {bfv}"
    )


if __name__ == "__main__":
    main()
