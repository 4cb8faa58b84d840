"""Benchmark: two copies of the tree (old and new code) on the same 1M-pair samples, by phase
and whole job, interleaved (issue 12, item 6).

    cp -r OLD_CHECKOUT/biometal /tmp/old/       # the code to compare against
    python bench/rnaseq_ab.py --workdir DIR --old /tmp/old --new . --reps 3

Needs the workflow's outputs in DIR (``snakemake --cores 2 case_study_rnaseq``). Builds six
samples of 1M pairs as ``bench/rnaseq_startup.py`` does (five default samples' files
concatenated). Every figure is CPU seconds (user + system) on one thread, each tree in its own
fresh process (``PYTHONPATH`` set to it; numba caches are per source file, so the two trees do
not share compiled code), the trees alternating:

* ``phase`` rows, sample 0 in process, median of 3 repeats after a warm-up: ``read`` (both
  mates decompressed, parsed and ID-checked as quantification reads them), ``pseudoalign``
  (the chunks already in memory);
* ``job`` rows: all six samples in one process as the workflow runs them
  (:func:`biometal.rnaseq.quant.quantify_samples`), CPU per sample; the quant tables of the two
  trees are compared byte for byte.

Prints medians (min-max) over ``--reps`` runs.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rnaseq_startup import BATCH, concatenated, cpu_seconds  # noqa: E402

PHASES = (
    "import inspect, statistics, sys, time\n"
    "from biometal._threads import set_numba_threads\n"
    "from biometal.io.mates import mate_chunks\n"
    "from biometal.rnaseq.index import load_index\n"
    "from biometal.rnaseq.pseudoalign import ECRegistry, pseudoalign\n"
    "set_numba_threads(1)\n"
    "idx, fq1, fq2 = sys.argv[1:4]\n"
    "kw = {'with_qual': False} if 'with_qual' in inspect.signature(mate_chunks).parameters "
    "else {}\n"
    "index = load_index(idx)\n"
    "def read():\n"
    "    for _ in mate_chunks(fq1, fq2, 65536, **kw): pass\n"
    "held = list(mate_chunks(fq1, fq2, 65536, **kw))\n"
    "def pa():\n"
    "    reg = ECRegistry(index)\n"
    "    for c1, c2 in held: pseudoalign(index, reg, c1, c2)\n"
    "pa(); read()\n"
    "res = {'read': [], 'pseudoalign': []}\n"
    "for _ in range(3):\n"
    "    for p, f in (('read', read), ('pseudoalign', pa)):\n"
    "        t = time.process_time(); f(); res[p].append(time.process_time() - t)\n"
    "import biometal\n"
    "print(' '.join(f'{statistics.median(v):.4f}' for v in res.values()), biometal.__file__)\n"
)


def summary(values: list[float]) -> str:
    return f"{statistics.median(values):.3f}\t{min(values):.3f}\t{max(values):.3f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workdir", default=".", help="where the workflow's results/ are")
    ap.add_argument("--old", required=True, help="tree holding the old biometal/ package")
    ap.add_argument("--new", default=".", help="tree holding the new biometal/ package")
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    wd = Path(args.workdir).resolve()
    rna = wd / "results/data/rnaseq"
    index = wd / "results/rnaseq/index/index.npz"
    samples = sorted({p.name.split("_R")[0] for p in rna.glob("*_R1.fastq.gz")})
    if not index.exists() or not samples:
        sys.exit(f"error: {index} or the samples not found (run: snakemake case_study_rnaseq)")
    mates = {s: [str(rna / f"{s}_R1.fastq.gz"), str(rna / f"{s}_R2.fastq.gz")] for s in samples}
    tmp = Path(tempfile.mkdtemp(prefix="biometal_ab_"))
    sets = [
        concatenated([mates[samples[(i + j) % len(samples)]] for j in range(5)], tmp, f"m{i}")
        for i in range(len(samples))
    ]
    flat = [f for fq in sets for f in fq]
    trees = {"old": str(Path(args.old).resolve()), "new": str(Path(args.new).resolve())}
    if trees["old"] == trees["new"]:
        sys.exit("error: --old and --new are the same tree")
    os.chdir(tmp)  # `python -c` puts the working directory before PYTHONPATH on sys.path
    out = {t: tmp / t for t in trees}
    for t in trees:
        out[t].mkdir()
        (out[t] / "index.npz").write_bytes(index.read_bytes())  # tables land beside it
    phase: dict[str, dict[str, list[float]]] = {t: {"read": [], "pseudoalign": []} for t in trees}
    job: dict[str, list[float]] = {t: [] for t in trees}
    for _ in range(args.reps):
        for t, tree in trees.items():
            env = {**os.environ, "PYTHONPATH": tree}
            text = subprocess.run(
                [sys.executable, "-c", PHASES, str(index), *sets[0]],
                env=env,
                check=True,
                capture_output=True,
                text=True,
            ).stdout.split()
            if not text[2].startswith(tree + os.sep):
                sys.exit(f"error: {t} imported {text[2]}, not the copy in {tree}")
            phase[t]["read"].append(float(text[0]))
            phase[t]["pseudoalign"].append(float(text[1]))
            os.environ["PYTHONPATH"] = tree  # cpu_seconds passes the environment on
            job[t].append(
                cpu_seconds([sys.executable, "-c", BATCH, str(out[t] / "index.npz"), *flat])
                / len(sets)
            )
    print("kind\twhat\ttree\tcpu_s_median\tcpu_s_min\tcpu_s_max")
    for p in ("read", "pseudoalign"):
        for t in trees:
            print(f"phase\t{p} (1M pairs)\t{t}\t{summary(phase[t][p])}")
    for t in trees:
        print(f"job\tone process, per sample ({len(sets)} x 1M pairs)\t{t}\t{summary(job[t])}")
    same = all(
        filecmp.cmp(out["old"] / f"index.npz.{i}.tsv", out["new"] / f"index.npz.{i}.tsv", False)
        for i in range(1, 2 * len(sets), 2)
    )
    print(f"# quant tables old vs new: {'identical' if same else 'DIFFERENT'}")


if __name__ == "__main__":
    main()
