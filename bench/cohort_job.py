"""Whole-job CPU of the cohort chain vs bcftools, as the workflow runs them (issue 16).

Reruns the two jobs of ``case_study_cohort`` that do the calling, ``cohort_gvcf_joint``
(every gVCF and the joint VCF, one process) and ``cohort_bcftools`` (``bcftools mpileup -b
bams.txt | bcftools call -mv`` + index), ``--repeats`` times with ``snakemake --cores 1
--forcerun`` on the cohort already in ``results/`` (the first run of the target makes it),
and reads their CPU (user + sys) where the workflow records it: ``results/cohort/cpu/``
(ours: the gVCF parts and the joint step, start-up included) and the bcftools rule's
``times``. Prints one row per run and the medians (min-max) of ours, bcftools and
bcftools / ours, and checks that every run wrote the same decompressed gVCFs and joint VCF.

``--numba-too`` alternates each run with the same tree on numba alone (``BIOMETAL_AOT=0``:
the kernels' ahead-of-time build, biometal.kernels.jit, left out). ``--other-tree DIR``
alternates each run with the same jobs run by an earlier checkout
(``git worktree add DIR REV``: its Snakefile and scripts on the same working directory,
biometal imported from it through ``PYTHONPATH``; for its own kernels link them in, ``ln -s
DIR/kernels DIR/biometal/kernels``, and build them ahead of time from outside both trees:
``cd /tmp && PYTHONPATH=DIR python -m biometal.kernels.jit build``). The first run of a
tree whose numba kernels are not compiled yet includes compiling them: leave it out
(``--skip-first``).

    .venv/bin/python bench/cohort_job.py --repeats 4                       # default cohort
    .venv/bin/python bench/cohort_job.py --configfile cohort20.yaml --repeats 4
    .venv/bin/python bench/cohort_job.py --repeats 5 --directory RUN --configfile TINY OWN
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_jobs(
    tree: Path,
    workdir: Path,
    configfiles: list[str],
    pythonpath: str | None,
    extra_env: dict | None = None,
) -> None:
    """The two jobs, rerun by ``tree``'s Snakefile (and scripts) in ``workdir``."""
    cmd = [
        str(Path(sys.executable).parent / "snakemake"), "--cores", "1", "case_study_cohort",
        "--forcerun", "cohort_gvcf_joint", "cohort_bcftools", "--rerun-triggers", "mtime", "-q",
        "-s", str(tree / "Snakefile"), "--directory", str(workdir),
    ]  # fmt: skip
    if configfiles:
        cmd += ["--configfile", *(str(Path(c).resolve()) for c in configfiles)]
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    env.update(extra_env or {})
    proc = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"snakemake failed in {tree}:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")


def measure(results: Path) -> tuple[float, float, str]:
    """(our CPU s, bcftools CPU s, md5 of the decompressed gVCFs and joint VCF)."""
    cpu = results / "cohort" / "cpu"
    ours = sum(json.loads(f.read_text())["cpu_s"] for f in cpu.glob("gvcf_*.json"))
    ours += json.loads((cpu / "joint.json").read_text())["cpu_s"]
    # bash `times`: the shell's own user/sys, then its children's
    children = (cpu / "bcftools.times").read_text().split("\n")[1].split()

    def seconds(t: str) -> float:
        m, s = t.rstrip("s").split("m")
        return 60 * float(m) + float(s)

    peer = seconds(children[0]) + seconds(children[1])
    h = hashlib.md5()
    outputs = sorted((results / "cohort" / "gvcf").glob("*.g.vcf.gz"))
    for f in [*outputs, results / "cohort" / "joint.vcf.gz"]:
        for line in gzip.decompress(f.read_bytes()).splitlines(keepends=True):
            if not line.startswith(b"##"):  # the header names the command and paths
                h.update(line)
    return ours, peer, h.hexdigest()


def spread(xs: list[float]) -> str:
    return f"{statistics.median(xs):.2f} ({min(xs):.2f}-{max(xs):.2f})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--configfile", nargs="+", default=[], help=(
        "as for snakemake, one or more (default: config/config.yaml)"
    ))  # fmt: skip
    ap.add_argument("--directory", type=Path, default=ROOT, help=(
        "the workflow's working directory holding the cohort's results/ (default: this tree; "
        "e.g. a run of tests/workflow/test_cohort_own_workflow.py, with its --configfile's)"
    ))  # fmt: skip
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--other-tree", type=Path, help="an earlier checkout, run in alternation")
    ap.add_argument("--skip-first", action="store_true", help="leave each tree's run 1 out")
    ap.add_argument("--numba-too", action="store_true", help=(
        "alternate with this tree on numba alone (BIOMETAL_AOT=0: no ahead-of-time build)"
    ))  # fmt: skip
    args = ap.parse_args()
    workdir = args.directory.resolve()
    results = workdir / "results"
    if not (results / "cohort" / "cpu" / "bcftools.times").is_file():
        sys.exit("no cohort in results/: run `snakemake --cores 2 case_study_cohort` first")
    trees = [("this", ROOT, None, None)]
    if args.numba_too:
        trees.append(("numba", ROOT, None, {"BIOMETAL_AOT": "0"}))
    if args.other_tree:
        other = args.other_tree.resolve()
        trees.append(("other", other, str(other), None))
    rows: dict[str, list[tuple[float, float]]] = {name: [] for name, *_ in trees}
    digests = set()
    print("run\ttree\tours_cpu_s\tbcftools_cpu_s\tbcftools/ours")
    for rep in range(1, args.repeats + 1):
        for name, tree, pythonpath, extra_env in trees:
            run_jobs(tree, workdir, args.configfile, pythonpath, extra_env)
            ours, peer, digest = measure(results)
            digests.add(digest)
            print(f"{rep}\t{name}\t{ours:.3f}\t{peer:.3f}\t{peer / ours:.2f}", flush=True)
            if not (args.skip_first and rep == 1):
                rows[name].append((ours, peer))
    for name, runs in rows.items():
        if runs:
            ours, peer = [r[0] for r in runs], [r[1] for r in runs]
            ratio = [p / o for o, p in runs]
            print(f"# {name}: ours {spread(ours)} s, bcftools {spread(peer)} s, "
                  f"bcftools / ours x{spread(ratio)}")  # fmt: skip
    print("# outputs identical in every run" if len(digests) == 1 else "# OUTPUTS DIFFER")


if __name__ == "__main__":
    main()
