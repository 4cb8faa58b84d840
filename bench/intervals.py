"""Interval operations: biometal.regions vs bedtools 2.30 (process) vs bioframe (in process).

Data: ``--n`` (default 1,000,000) A and ``--n`` B intervals (seeded), BED3, on the 24 human
chromosomes (GRCh38 lengths; counts proportional to length), lengths uniform 100-5,000 bp,
sorted (``sort -k1,1 -k2,2n`` order). Operations: intersect (default output, ``-sorted``),
merge, subtract (``-sorted``), complement (``-g``), closest (``-d``, ties all), coverage
(``-sorted``).

Timing is CPU time (user+sys; the machine is shared: 2 cores, other jobs). biometal and bioframe
run in this process on already-parsed arrays / DataFrames (``time.process_time``, all threads;
numba compile excluded by a warm-up call on small data); biometal's ``op`` time includes
building the result's columns but not BED text, its ``op+io`` time adds ``read_bed`` of the
inputs and writing the BED lines to ``/dev/null``. bedtools runs as a process writing to
``/dev/null``, timed from ``RUSAGE_CHILDREN`` (its parse + op + output). Tools are interleaved
per repeat; median (min-max) over ``--repeats``; ratio = peer CPU / biometal CPU (> 1: biometal
faster).

    .venv/bin/python bench/intervals.py --n 1000000 --repeats 3
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from biometal.regions import intervals as ops
from biometal.regions import read_bed, read_genome

GRCH38 = {
    "chr1": 248956422, "chr2": 242193529, "chr3": 198295559, "chr4": 190214555,
    "chr5": 181538259, "chr6": 170805979, "chr7": 159345973, "chr8": 145138636,
    "chr9": 138394717, "chr10": 133797422, "chr11": 135086622, "chr12": 133275309,
    "chr13": 114364328, "chr14": 107043718, "chr15": 101991189, "chr16": 90338345,
    "chr17": 83257441, "chr18": 80373285, "chr19": 58617616, "chr20": 64444167,
    "chr21": 46709983, "chr22": 50818468, "chrX": 156040895, "chrY": 57227415,
}  # fmt: skip


def make_bed(path: Path, n: int, seed: int) -> None:
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


def cpu() -> float:
    return time.process_time()


def bedtools_cpu(args: list[str]) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(args, stdout=subprocess.DEVNULL, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--ops", default="intersect,merge,subtract,complement,closest,coverage")
    args = p.parse_args()
    bt = shutil.which("bedtools")
    try:
        import bioframe as bf
    except ImportError:
        bf = None
    tmp = Path(tempfile.mkdtemp(prefix="bench_intervals_"))
    fa, fb, fg = tmp / "a.bed", tmp / "b.bed", tmp / "g.txt"
    make_bed(fa, args.n, 1)
    make_bed(fb, args.n, 2)
    fg.write_text("".join(f"{c}\t{n}\n" for c, n in sorted(GRCH38.items())))
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
    bedtools = {
        "intersect": [bt, "intersect", "-a", fa, "-b", fb, "-sorted"],
        "merge": [bt, "merge", "-i", fa],
        "subtract": [bt, "subtract", "-a", fa, "-b", fb, "-sorted"],
        "complement": [bt, "complement", "-i", fa, "-g", fg],
        "closest": [bt, "closest", "-a", fa, "-b", fb, "-d"],
        "coverage": [bt, "coverage", "-a", fa, "-b", fb, "-sorted"],
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
    print(f"# n = {args.n:,} x {args.n:,}; CPU seconds, median (min-max) of {args.repeats}")
    print(
        "| op | biometal op | biometal op+io | bedtools | bioframe | bedtools/ours(op) "
        "| bedtools/ours(op+io) | bioframe/ours(op) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for op in args.ops.split(","):
        ours[op](small_a, small_b)  # warm-up: numba compile / cache load
        t = {"op": [], "io": [], "bt": [], "bf": []}
        for _ in range(args.repeats):
            c0 = cpu()
            res = ours[op](a, b)
            t["op"].append(cpu() - c0)
            c0 = cpu()
            xa = read_bed(fa)
            xb = None if op in ("merge", "complement") else read_bed(fb)
            with open("/dev/null", "w") as out:
                out.write("\n".join(text.get(op, ours[op])(xa, xb).lines()))
            t["io"].append(cpu() - c0)
            if bt:
                t["bt"].append(bedtools_cpu([str(x) for x in bedtools[op]]))
            if op in peers_bf:
                c0 = cpu()
                peers_bf[op]()
                t["bf"].append(cpu() - c0)
        del res

        def fmt(v: list[float]) -> str:
            return f"{statistics.median(v):.3f} ({min(v):.3f}-{max(v):.3f})" if v else "n/a"

        def ratio(num: str, den: str, t: dict = t) -> str:
            if not t[num] or not t[den]:
                return "n/a"
            return f"{statistics.median([x / y for x, y in zip(t[num], t[den], strict=True)]):.2f}"

        print(
            f"| {op} | {fmt(t['op'])} | {fmt(t['io'])} | {fmt(t['bt'])} | {fmt(t['bf'])} | "
            f"{ratio('bt', 'op')} | {ratio('bt', 'io')} | {ratio('bf', 'op')} |",
            flush=True,
        )
    shutil.rmtree(tmp)
    bfv = getattr(bf, "__version__", None)
    print(f"# python {sys.version.split()[0]}; bedtools {bt}; bioframe {bfv}")


if __name__ == "__main__":
    main()
