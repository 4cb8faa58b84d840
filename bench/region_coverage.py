"""Region coverage: biometal.regions.coverage vs mosdepth 0.3.3 and samtools bedcov.

Same BAM + BED for every tool, CPU time (user+sys: ``getrusage`` of this process for the
in-process call, of the children for processes), runs interleaved (ours, CLI, mosdepth,
bedcov, ours, ...), median (min-max) over ``--repeats``; ratio = peer CPU / our CPU, per
repeat, median (> 1: biometal faster).

- ours: ``region_coverage(bam, bed, threads=1)`` in process (numba cache warm; one untimed
  call first), mosdepth mode vs mosdepth, bedcov mode vs samtools bedcov;
- ours CLI: ``python -m biometal coverage BAM BED OUT -t 1`` (includes interpreter start-up,
  imports and loading the numba cache, ~1.5 s of CPU);
- mosdepth: ``mosdepth -n -t 1 --by BED`` (its default mode = our default mode);
- samtools: ``samtools bedcov BED BAM``.

Data (made once under ``--workdir``, seeded): ``dense``, 30x 2x150 pairs simulated on a
2-contig reference of ``--length`` bp and mapped with biometal's mappy mapper; ``sparse``,
its reads in 40 windows of 1 kb only (a panel); ``panel_01``, covtobed's real amplicon BAM
on human chromosomes (Debian covtobed-examples), if installed. BEDs: ``exons``, 10,000
regions of 200 bp spread over the contigs that have reads; ``contigs``, whole contigs.
Then peak RSS (``ru_maxrss`` of a fresh process) of ours for 1k, 10k and 100k regions of
200 bp on the dense BAM, and of mosdepth for the same BEDs.

    .venv/bin/python bench/region_coverage.py --repeats 3
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pysam

from biometal.regions.coverage import region_coverage

COVTOBED_PANEL = Path("/usr/share/doc/covtobed-examples/examples/panel_01.bam")


def _cpu_self() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _cpu_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def make_data(work: Path, length: int) -> dict[str, Path]:
    """The dense and sparse BAMs (and panel_01's sorted, indexed copy)."""
    from biometal.simulate import simulate_reads, simulate_reference, simulate_variants
    from biometal.variants.mapping import map_reads

    work.mkdir(parents=True, exist_ok=True)
    dense = work / "dense.bam"
    if not dense.exists():
        ref = work / "ref.fa"
        simulate_reference(ref, n_contigs=2, total_length=length, seed=11)
        vcf = work / "truth.vcf.gz"
        simulate_variants(ref, vcf, work / "hap.fa", seed=11)
        r1, r2 = work / "r1.fq.gz", work / "r2.fq.gz"
        simulate_reads(ref, work / "hap.fa", vcf, r1, r2, work / "truth.tsv.gz", seed=11)
        map_reads(ref, r1, r2, dense, sample="S", threads=2)
    out = {"dense": dense}
    sparse = work / "sparse.bam"
    if not sparse.exists():
        rng = np.random.default_rng(5)
        with pysam.AlignmentFile(str(dense)) as fh:
            names, lengths = fh.references, fh.lengths
        win = work / "sparse_windows.bed"
        with open(win, "w") as fh:
            for _ in range(40):
                k = int(rng.integers(len(names)))
                s = int(rng.integers(0, lengths[k] - 1000))
                fh.write(f"{names[k]}\t{s}\t{s + 1000}\n")
        subprocess.run(
            ["samtools", "view", "-b", "-L", str(win), "-o", str(sparse), str(dense)], check=True
        )
        subprocess.run(["samtools", "index", str(sparse)], check=True)
    out["sparse"] = sparse
    if COVTOBED_PANEL.exists():
        panel = work / "panel_01.bam"
        if not panel.exists():
            subprocess.run(["samtools", "sort", "-o", str(panel), str(COVTOBED_PANEL)], check=True)
            subprocess.run(["samtools", "index", str(panel)], check=True)
        out["panel_01"] = panel
    return out


def make_beds(work: Path, bam: Path, tag: str, n_exons: int = 10_000) -> dict[str, Path]:
    with pysam.AlignmentFile(str(bam)) as fh:
        stats = [(s.contig, s.mapped) for s in fh.get_index_statistics()]
        lengths = dict(zip(fh.references, fh.lengths, strict=True))
    used = [c for c, n in stats if n > 0]
    rng = np.random.default_rng(7)
    exons = work / f"{tag}.exons.bed"
    with open(exons, "w") as fh:
        rows = []
        for _ in range(n_exons):
            c = used[int(rng.integers(len(used)))]
            s = int(rng.integers(0, lengths[c] - 200))
            rows.append((c, s))
        for c, s in sorted(rows, key=lambda r: (list(lengths).index(r[0]), r[1])):
            fh.write(f"{c}\t{s}\t{s + 200}\n")
    contigs = work / f"{tag}.contigs.bed"
    with open(contigs, "w") as fh:
        for c in used:
            fh.write(f"{c}\t0\t{lengths[c]}\n")
    return {"exons": exons, "contigs": contigs}


def run_case(bam: Path, bed: Path, work: Path, repeats: int) -> dict[str, list[float]]:
    out = work / "out"
    out.mkdir(exist_ok=True)
    region_coverage(bam, bed, threads=1)  # warm: numba cache loaded
    region_coverage(bam, bed, mode="bedcov", threads=1)
    times: dict[str, list[float]] = {
        k: [] for k in ("ours", "ours_bedcov", "ours_cli", "mosdepth", "bedcov")
    }
    env = dict(os.environ, NUMBA_NUM_THREADS="1")
    for _ in range(repeats):
        c = _cpu_self()
        region_coverage(bam, bed, threads=1)
        times["ours"].append(_cpu_self() - c)
        c = _cpu_self()
        region_coverage(bam, bed, mode="bedcov", threads=1)
        times["ours_bedcov"].append(_cpu_self() - c)
        cmds = {
            "ours_cli": [
                sys.executable,
                "-m",
                "biometal",
                "coverage",
                str(bam),
                str(bed),
                str(out / "c.tsv"),
                "-t",
                "1",
            ],
            "mosdepth": ["mosdepth", "-n", "-t", "1", "--by", str(bed), str(out / "md"), str(bam)],
            "bedcov": ["samtools", "bedcov", str(bed), str(bam)],
        }
        for k, cmd in cmds.items():
            c = _cpu_children()
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env)
            times[k].append(_cpu_children() - c)
    return times


def _fmt(x: list[float]) -> str:
    return f"{np.median(x):.3f} ({min(x):.3f}-{max(x):.3f})"


def _ratio(num: list[float], den: list[float]) -> str:
    r = np.asarray(num) / np.maximum(np.asarray(den), 1e-9)
    return f"{np.median(r):.2f} ({r.min():.2f}-{r.max():.2f})"


_RSS = """
import resource, sys
from biometal.regions.coverage import region_coverage
region_coverage(sys.argv[1], sys.argv[2], threads=1)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _rss_child(cmd: list[str]) -> int:
    """Peak RSS (kB) of a command, from /usr/bin/time -v (GNU time)."""
    proc = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True, check=True)
    for line in proc.stderr.splitlines():
        if "Maximum resident set size" in line:
            return int(line.split()[-1])
    return -1


def memory(work: Path, bam: Path) -> None:
    with pysam.AlignmentFile(str(bam)) as fh:
        lengths = dict(zip(fh.references, fh.lengths, strict=True))
    rng = np.random.default_rng(9)
    print("\n# peak RSS (MB) vs number of 200 bp regions, dense BAM")
    print("| regions | biometal (in a fresh python) | mosdepth -n --by |")
    print("|---|---|---|")
    for n in (1_000, 10_000, 100_000):
        bed = work / f"rss_{n}.bed"
        cs = rng.choice(list(lengths), n)
        with open(bed, "w") as fh:
            for c in cs:
                s = int(rng.integers(0, lengths[c] - 200))
                fh.write(f"{c}\t{s}\t{s + 200}\n")
        ours = _rss_child([sys.executable, "-c", _RSS, str(bam), str(bed)])
        md = _rss_child(
            ["mosdepth", "-n", "-t", "1", "--by", str(bed), str(work / "rss"), str(bam)]
        )
        print(f"| {n:,} | {ours / 1024:.0f} | {md / 1024:.0f} |", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--length", type=int, default=2_000_000, help="simulated reference bp")
    p.add_argument("--workdir", default="results/bench/region_coverage")
    args = p.parse_args()
    for tool in ("mosdepth", "samtools"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed")
    work = Path(args.workdir)
    t0 = time.time()
    bams = make_data(work, args.length)
    print(
        f"# data ready in {time.time() - t0:.0f} s; CPU seconds, median (min-max) of "
        f"{args.repeats} interleaved repeats; ratio = peer / ours, median (min-max)"
    )
    print(
        "| BAM | BED | ours (mosdepth mode) | ours CLI | mosdepth | mosdepth/ours "
        "| mosdepth/ours CLI | ours (bedcov mode) | samtools bedcov | bedcov/ours |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for tag, bam in bams.items():
        for shape, bed in make_beds(work, bam, tag).items():
            t = run_case(bam, bed, work, args.repeats)
            print(
                f"| {tag} | {shape} | {_fmt(t['ours'])} | {_fmt(t['ours_cli'])} "
                f"| {_fmt(t['mosdepth'])} | {_ratio(t['mosdepth'], t['ours'])} "
                f"| {_ratio(t['mosdepth'], t['ours_cli'])} | {_fmt(t['ours_bedcov'])} "
                f"| {_fmt(t['bedcov'])} | {_ratio(t['bedcov'], t['ours_bedcov'])} |",
                flush=True,
            )
    memory(work, bams["dense"])
    print(f"# python {sys.version.split()[0]}; 1 thread each (mosdepth -t 1, numba 1 thread)")


if __name__ == "__main__":
    main()
