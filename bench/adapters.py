"""Adapter trimming of read pairs: biometal vs cutadapt and fastp, with the insert as truth.

Data (simulated, the truth is the read position where the adapter starts, after indel
errors, as the simulator reports it; the read's full length when it has no adapter):

* ``metagenome``: :func:`biometal.simulate.simulate_metagenome` (default mix: 10% short
  inserts uniform in 20..149, else N(300, 60)); truth columns ``r*_adapter_start``.
* ``short``: a short-insert library, inserts ``round(N(120, 40))`` clipped to >= 1, from a
  random genome, sequenced by the simulator's own ``simulate_pairs`` (its returned
  ``r*_adapter`` arrays are the truth).

Tools (1 thread each, plain FASTQ out, gzip in): ``biometal trim -t 1`` (TruSeq adapters),
``cutadapt -j 1 -a A1 -A A2`` (defaults ``-e 0.1 -O 3``), ``fastp -w 1`` with the adapter
sequences and with ``--detect_adapter_for_pe`` (quality/length/poly-G filters off:
``-Q -L -G``; fastp also uses its own mate-overlap analysis).

Third-party data (``--adapterremoval-examples DIR``: the ``examples`` folder of Debian's
``adapterremoval-examples``, 500 real 2x100 pairs, TruSeq adapters; ``--cutadapt-sdist DIR``:
cutadapt's unpacked sdist, ``tests/data/illumina.fastq.gz``, 100 real single reads with
adapter GCCTAACTTCTTAGACTGCCTTAAGGACGT) have no known insert: the table gives, per tool, the
reads cut and the fraction of reads cut to the same length as biometal (``agree_biometal``).

Per tool and data set: read-level trimming error (trimmed length != true insert part, split
into over- and under-trimming; reads a tool dropped count as errors), pair-level error
(either mate wrong), detection precision/recall/F1 (read has adapter vs read was cut),
reads/s per core = reads (both mates) / CPU seconds (user+sys of the tool's processes,
GNU time), peak RSS (GNU time). Runs are interleaved (tool order rotates), ``--repeats``
times; median (min-max). The machine is shared: CPU time, not wall time, is the measure.

    .venv/bin/python bench/adapters.py --pairs 200000 --repeats 3 --out results/bench/adapters.tsv
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from biometal.io.fastx import read_fastq_chunks
from biometal.simulate import TRUSEQ_R1, TRUSEQ_R2, ErrorModel, simulate_metagenome
from biometal.simulate._sequencer import simulate_pairs

READ_LENGTH = 150


def make_metagenome(d: Path, pairs: int, seed: int) -> dict:
    r1, r2, truth = d / "meta_R1.fq.gz", d / "meta_R2.fq.gz", d / "meta_truth.tsv.gz"
    simulate_metagenome(
        d / "meta.fa", r1, r2, truth, n_pairs=pairs, read_length=READ_LENGTH, seed=seed
    )
    t = pd.read_csv(truth, sep="\t")
    return {
        "r1": r1,
        "r2": r2,
        "t1": t["r1_adapter_start"].to_numpy(),
        "t2": t["r2_adapter_start"].to_numpy(),
        "insert": t["insert_size"].to_numpy(),
    }


def make_short(d: Path, pairs: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    genome = np.frombuffer(b"ACGT", np.uint8)[rng.integers(0, 4, size=2_000_000)]
    ins = np.clip(np.rint(rng.normal(120, 40, size=pairs)), 1, None).astype(np.int64)
    start = (rng.random(pairs) * (genome.size - ins + 1)).astype(np.int64)
    minus = rng.random(pairs) < 0.5
    names = [b"si_%d" % i for i in range(pairs)]
    r1, r2 = d / "short_R1.fq.gz", d / "short_R2.fq.gz"
    res = simulate_pairs(
        genome,
        start,
        ins,
        minus,
        names,
        READ_LENGTH,
        ErrorModel(),
        np.random.SeedSequence(seed),
        r1,
        r2,
        adapter_r1=TRUSEQ_R1,
        adapter_r2=TRUSEQ_R2,
    )
    return {"r1": r1, "r2": r2, "t1": res["r1_adapter"], "t2": res["r2_adapter"], "insert": ins}


def tool_commands(r1: Path, r2: Path, o1: Path, o2: Path) -> dict[str, list[str]]:
    py = sys.executable
    fastp_common = ["fastp", "-w", "1", "-i", str(r1), "-I", str(r2), "-o", str(o1), "-O", str(o2)]
    fastp_common += ["-Q", "-L", "-G", "-j", os.devnull, "-h", os.devnull]
    cmds = {
        "biometal": [py, "-m", "biometal", "trim", "-t", "1", str(r1), str(r2)]
        + ["-o", str(o1), "-p", str(o2)],
    }
    if shutil.which("cutadapt"):
        cmds["cutadapt"] = ["cutadapt", "-j", "1", "-a", TRUSEQ_R1, "-A", TRUSEQ_R2]
        cmds["cutadapt"] += ["-o", str(o1), "-p", str(o2), str(r1), str(r2)]
    if shutil.which("fastp"):
        cmds["fastp_given"] = fastp_common + [
            "--adapter_sequence",
            TRUSEQ_R1,
            "--adapter_sequence_r2",
            TRUSEQ_R2,
        ]
        cmds["fastp_auto"] = fastp_common + ["--detect_adapter_for_pe"]
    return cmds


def run_measured(cmd: list[str]) -> tuple[float, float, int]:
    """(cpu seconds user+sys, wall seconds, peak RSS bytes) of one run, from GNU time (the
    tool's own process tree; a fork of this process would report this process's RSS)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        full = ["/usr/bin/time", "-f", "%e %U %S %M", "-o", tf.name, *cmd]
        proc = subprocess.run(full, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"{cmd[0]} failed ({proc.returncode}): {proc.stderr[-2000:]!r}")
        wall, user, sys_, rss = tf.read().split()[-4:]
    return float(user) + float(sys_), float(wall), int(rss) * 1024


def trimmed_lengths(path: Path, n: int) -> np.ndarray:
    """Length of each output read by its index in the input (-1: missing from the output)."""
    out = np.full(n, -1, np.int64)
    for chunk in read_fastq_chunks(path, 1 << 16, with_names=True):
        idx = np.fromiter(
            (int(x.split(None, 1)[0].rsplit(b"_", 1)[1]) for x in chunk.names),
            np.int64,
            len(chunk),
        )
        out[idx] = chunk.lengths
    return out


def accuracy(t1, t2, p1, p2) -> dict:
    true1 = np.where(t1 >= 0, t1, READ_LENGTH)
    true2 = np.where(t2 >= 0, t2, READ_LENGTH)
    truth = np.concatenate([true1, true2])
    pred = np.concatenate([p1, p2])
    missing = pred < 0
    wrong = (pred != truth) | missing
    over = ~missing & (pred < truth)
    under = ~missing & (pred > truth)
    has = truth < READ_LENGTH
    cut = ~missing & (pred < READ_LENGTH)
    tp = int((has & cut).sum())
    fp = int((~has & cut).sum())
    fn = int((has & ~cut).sum())
    prec = tp / (tp + fp) if tp + fp else 1.0
    rec = tp / (tp + fn) if tp + fn else 1.0
    n = truth.size
    pair_wrong = wrong[: t1.size] | wrong[t1.size :]
    return {
        "read_err_pct": 100 * wrong.mean(),
        "over_pct": 100 * over.mean(),
        "under_pct": 100 * under.mean(),
        "dropped": int(missing.sum()),
        "pair_err_pct": 100 * pair_wrong.mean(),
        "adapter_reads": int(has.sum()),
        "precision": prec,
        "recall": rec,
        "f1": 2 * prec * rec / (prec + rec) if prec + rec else 0.0,
        "reads": n,
    }


def lengths_by_order(path: Path) -> np.ndarray:
    return np.concatenate([c.lengths for c in read_fastq_chunks(path, 1 << 16)] or [[]])


def third_party(args, work: Path) -> list[dict]:
    """Agreement with biometal on third-party reads without a known insert."""
    rows = []
    sets = []
    if args.adapterremoval_examples:
        ex = Path(args.adapterremoval_examples)
        sets.append(("adapterremoval_examples", ex / "reads_1.fq.gz", ex / "reads_2.fq.gz"))
    if args.cutadapt_sdist:
        sets.append(
            ("cutadapt_illumina", Path(args.cutadapt_sdist) / "tests/data/illumina.fastq.gz", None)
        )
    for name, r1, r2 in sets:
        d = work / name
        d.mkdir(exist_ok=True)
        o1, o2 = d / "o1.fq", d / "o2.fq"
        if r2 is not None:
            cmds = tool_commands(r1, r2, o1, o2)
        else:
            ad = "GCCTAACTTCTTAGACTGCCTTAAGGACGT"
            cmds = {
                "biometal": [sys.executable, "-m", "biometal", "trim", "-t", "1", "-a", ad]
                + [str(r1), "-o", str(o1)],
                "cutadapt": ["cutadapt", "-j", "1", "-a", ad, "-o", str(o1), str(r1)],
                "fastp_given": ["fastp", "-w", "1", "-i", str(r1), "-o", str(o1), "-Q", "-L"]
                + ["-G", "-j", os.devnull, "-h", os.devnull, "--adapter_sequence", ad],
            }
        ref = None
        inputs = lengths_by_order(r1)
        if r2 is not None:
            inputs = np.concatenate([inputs, lengths_by_order(r2)])
        for tool, cmd in cmds.items():
            run_measured(cmd)
            got = lengths_by_order(o1)
            if r2 is not None:
                got = np.concatenate([got, lengths_by_order(o2)])
            if ref is None:
                ref = got
            same = float(np.mean(got == ref)) if got.size == ref.size else float("nan")
            rows.append(
                {
                    "dataset": name,
                    "tool": tool,
                    "reads": int(got.size),
                    "reads_cut": int((got < inputs[: got.size]).sum()),
                    "agree_biometal": same,
                }
            )
    return rows


def fmt_spread(values: list[float], digits: int = 0) -> str:
    return (
        f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}-"
        f"{max(values):.{digits}f})"
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pairs", type=int, default=200_000, help="read pairs per data set")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per tool")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--datasets", default="metagenome,short")
    ap.add_argument("--workdir", default=None, help="keep the data here (default: temporary)")
    ap.add_argument("--out", default=None, help="also write the TSV here")
    ap.add_argument("--adapterremoval-examples", default=None, help="Debian examples folder")
    ap.add_argument("--cutadapt-sdist", default=None, help="cutadapt's unpacked sdist")
    args = ap.parse_args(argv)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="bench_adapters."))
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    makers = {"metagenome": make_metagenome, "short": make_short}
    for name in [x for x in args.datasets.split(",") if x]:
        d = work / name
        d.mkdir(exist_ok=True)
        data = makers[name](d, args.pairs, args.seed)
        n = len(data["t1"])
        o1, o2 = d / "out_R1.fq", d / "out_R2.fq"
        cmds = tool_commands(data["r1"], data["r2"], o1, o2)
        tools = list(cmds)
        timing: dict[str, list[tuple[float, float, int]]] = {t: [] for t in tools}
        acc: dict[str, dict] = {}
        for rep in range(args.repeats):
            order = tools[rep % len(tools) :] + tools[: rep % len(tools)]
            for tool in order:
                timing[tool].append(run_measured(cmds[tool]))
                if tool not in acc:
                    p1 = trimmed_lengths(o1, n)
                    p2 = trimmed_lengths(o2, n)
                    acc[tool] = accuracy(data["t1"], data["t2"], p1, p2)
        base = None
        for tool in tools:
            cpu = [c for c, _, _ in timing[tool]]
            rps = [2 * n / c for c in cpu]
            if tool == "cutadapt":
                base = statistics.median(rps)
            rows.append(
                {
                    "dataset": name,
                    "tool": tool,
                    **acc[tool],
                    "reads_per_cpu_s": fmt_spread(rps),
                    "median_rps": statistics.median(rps),
                    "cpu_s": fmt_spread(cpu, 2),
                    "wall_s": fmt_spread([w for _, w, _ in timing[tool]], 2),
                    "peak_rss_mb": max(r for _, _, r in timing[tool]) / 2**20,
                }
            )
        for row in rows:
            if row["dataset"] == name:
                row["x_cutadapt"] = row["median_rps"] / base if base else float("nan")
    table = pd.DataFrame(rows).drop(columns=["median_rps"], errors="ignore")
    text = table.to_csv(sep="\t", index=False, float_format="%.4f", lineterminator="\n")
    sys.stdout.write(text)
    # start-up of `python -m biometal trim` (interpreter, numba, cached kernels) on one pair:
    # part of every biometal CPU time above, independent of the input size
    one = work / "one"
    one.mkdir(exist_ok=True)
    for m in (1, 2):
        (one / f"r{m}.fq").write_text("@p_0\n" + "ACGT" * 25 + "\n+\n" + "I" * 100 + "\n")
    cmd = tool_commands(one / "r1.fq", one / "r2.fq", one / "o1.fq", one / "o2.fq")["biometal"]
    startup = [run_measured(cmd)[0] for _ in range(3)]
    sys.stdout.write(f"# biometal start-up CPU s (1 pair): {fmt_spread(startup, 2)}\n")
    text += f"# biometal start-up CPU s (1 pair): {fmt_spread(startup, 2)}\n"
    extra = third_party(args, work)
    if extra:
        text2 = pd.DataFrame(extra).to_csv(
            sep="\t", index=False, float_format="%.4f", lineterminator="\n"
        )
        sys.stdout.write("\n" + text2)
        text += "\n" + text2
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text)
    if not args.workdir:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
