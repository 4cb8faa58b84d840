"""Benchmark: what an RNA-seq quantification job pays before its first read, and the whole-job
CPU per sample against kallisto (issue 12, item 6).

    python bench/rnaseq_startup.py                   # the workflow's default samples
    python bench/rnaseq_startup.py --reps 3 --sizes 200000

Needs the workflow's outputs (``snakemake --cores 2 case_study_rnaseq``; ``--workdir`` if they
are elsewhere). Every figure is the CPU time (user + system, from ``os.wait4``) of a fresh
process, so other load on the machine changes it little; medians (min-max) of ``--reps`` runs,
the tools interleaved.

1. Start-up (``startup`` rows), each a fresh process: the interpreter alone, ``import numpy``,
   ``import numba``, and a quantification of 1,000 pairs (all of a job but its reads) as a
   library call (numba's first load imports scipy.linalg for its BLAS check) and as
   ``biometal quant`` (the process entry points load only scipy's BLAS table,
   :mod:`biometal._startup`); kallisto on the same 1,000 pairs.
2. Whole job per sample (``job`` rows), on the default samples (200k pairs each) and on
   samples of 1M pairs (five default samples' files concatenated, gzip members as they are):
   kallisto, one process per sample; ``biometal quant``, one process per sample; and the
   workflow's way, every sample in turn in one process (``rnaseq.samples_per_job``,
   :func:`biometal.rnaseq.quant.quantify_samples`), its CPU shared equally. Ratio: kallisto's
   CPU per sample over biometal's (> 1: biometal uses less).
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

PY = sys.executable
BATCH = (
    "import sys\n"
    "from biometal._startup import preload_cython_blas\n"
    "preload_cython_blas()\n"
    "from biometal.rnaseq.quant import SampleRun, quantify_samples\n"
    "a = sys.argv[1:]\n"
    "runs = [SampleRun(f's{i}', a[i], a[i + 1], f'{a[0]}.{i}.tsv') for i in range(1, len(a), 2)]\n"
    "quantify_samples(a[0], runs, threads=1)\n"
)
LIBRARY = (
    "import sys\n"
    "from biometal.rnaseq.quant import quantify_sample\n"
    "quantify_sample(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], threads=1)\n"
)


def cpu_seconds(cmd: list[str]) -> float:
    """User + system CPU seconds of ``cmd`` run to completion (its output discarded)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    proc.stderr.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{err[-2000:]}")
    return usage.ru_utime + usage.ru_stime


def summary(values: list[float]) -> str:
    return f"{statistics.median(values):.3f}\t{min(values):.3f}\t{max(values):.3f}"


def head_pairs(fq1: str, fq2: str, pairs: int, out: Path) -> tuple[str, str]:
    files = []
    for src, mate in ((fq1, "R1"), (fq2, "R2")):
        dst = out / f"head_{mate}.fq"
        with gzip.open(src, "rt") as fin, open(dst, "w") as fout:
            for i, line in enumerate(fin):
                if i >= 4 * pairs:
                    break
                fout.write(line)
        files.append(str(dst))
    return files[0], files[1]


def concatenated(mates: list[list[str]], out: Path, name: str) -> list[str]:
    files = []
    for m, parts in enumerate(zip(*mates, strict=True)):
        dst = out / f"{name}_R{m + 1}.fastq.gz"
        with open(dst, "wb") as fout:
            for p in parts:
                fout.write(Path(p).read_bytes())
        files.append(str(dst))
    return files


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workdir", default=".", help="where the workflow's results/ are")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--sizes", type=int, nargs="+", default=[200_000, 1_000_000])
    args = ap.parse_args()
    wd = Path(args.workdir)
    rna = wd / "results/data/rnaseq"
    index, kidx = wd / "results/rnaseq/index/index.npz", wd / "results/rnaseq/index/kallisto.idx"
    samples = sorted({p.name.split("_R")[0] for p in rna.glob("*_R1.fastq.gz")})
    for p in (index, kidx):
        if not p.exists() or not samples:
            sys.exit(
                f"error: {p} or the samples not found (run: snakemake --cores 2 case_study_rnaseq)"
            )
    mates = {s: [str(rna / f"{s}_R1.fastq.gz"), str(rna / f"{s}_R2.fastq.gz")] for s in samples}
    tmp = Path(tempfile.mkdtemp(prefix="biometal_startup_"))

    def kal(fq1: str, fq2: str) -> list[str]:
        return ["kallisto", "quant", "-t", "1", "-i", str(kidx), "-o", str(tmp / "k"), fq1, fq2]

    def bio(fq1: str, fq2: str) -> list[str]:
        cmd = [PY, "-m", "biometal.cli", "quant", "-t", "1", str(index), fq1, fq2]
        return [*cmd, "-o", str(tmp / "q.tsv")]

    print("kind\twhat\tpairs\tcpu_s_median\tcpu_s_min\tcpu_s_max")
    h1, h2 = head_pairs(*mates[samples[0]], 1000, tmp)
    startup = {
        "python": [PY, "-c", "pass"],
        "import_numpy": [PY, "-c", "import numpy"],
        "import_numba": [PY, "-c", "import numba"],
        "biometal_library_call": [PY, "-c", LIBRARY, str(index), h1, h2, str(tmp / "l.tsv")],
        "biometal_quant_command": bio(h1, h2),
        "kallisto": kal(h1, h2),
    }
    times: dict[str, list[float]] = {k: [] for k in startup}
    for _ in range(args.reps):
        for k, cmd in startup.items():
            times[k].append(cpu_seconds(cmd))
    for k, v in times.items():
        print(f"startup\t{k}\t1000\t{summary(v)}", flush=True)

    for size in args.sizes:
        factor = max(1, round(size / 200_000))
        if factor == 1:
            sets = [mates[s] for s in samples]
        else:  # sample i: the files of `factor` default samples, starting at sample i
            sets = [
                concatenated(
                    [mates[samples[(i + j) % len(samples)]] for j in range(factor)], tmp, f"m{i}"
                )
                for i in range(len(samples))
            ]
        n = len(sets)
        pairs = 200_000 * factor
        per: dict[str, list[float]] = {
            "kallisto": [],
            "biometal_per_process": [],
            "biometal_one_process": [],
        }
        for _ in range(args.reps):
            per["kallisto"].append(sum(cpu_seconds(kal(*fq)) for fq in sets) / n)
            per["biometal_per_process"].append(sum(cpu_seconds(bio(*fq)) for fq in sets) / n)
            flat = [f for fq in sets for f in fq]
            per["biometal_one_process"].append(
                cpu_seconds([PY, "-c", BATCH, str(index), *flat]) / n
            )
        for k, v in per.items():
            print(f"job\t{k} ({n} samples)\t{pairs}\t{summary(v)}", flush=True)
        k = statistics.median(per["kallisto"])
        for mode in ("biometal_per_process", "biometal_one_process"):
            ratio = k / statistics.median(per[mode])
            print(f"ratio\tkallisto/{mode}\t{pairs}\t{ratio:.3f}\t\t", flush=True)


if __name__ == "__main__":
    main()
