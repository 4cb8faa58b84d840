"""Benchmark: k-mer index build of a human-size transcriptome, biometal vs ``kallisto index``.

    python bench/rnaseq_human_scale.py                          # 172k genes, ~280k tx, ~250 Mb
    python bench/rnaseq_human_scale.py --genes 2000 --out /tmp/hs  # a quick try
    python bench/rnaseq_human_scale.py --only kallisto           # one tool
    python bench/rnaseq_human_scale.py --quant 1000000 10        # + quantification 1M, 10M

Simulates the transcriptome once (:func:`biometal.simulate.transcriptome.simulate_transcriptome`,
seed 12; kept in ``--out`` and reused), then builds each index in its own process under
``/usr/bin/time -v`` (wall and CPU = user + sys seconds, peak RSS = "Maximum resident set
size"), one after the
other on the same FASTA in the same run, ``--reps`` times each:

* ``biometal``: ``biometal index`` (the CLI: read, build, self-check, save the ``.npz``) with
  ``--threads`` numba threads (``NUMBA_NUM_THREADS``);
* ``kallisto``: ``kallisto index -k 31`` (single-threaded in 0.48).

Prints a TSV (tool, rep, wall seconds, CPU seconds, peak RSS MiB, index MiB) and the ratios
of the medians (biometal / kallisto; the goal is time <= 1x, memory <= 1.5x; on a shared
machine CPU is the fairer time).

``--quant N F``: also simulates one sample of N read pairs (2 x 100 bp, seed 12) from that
transcriptome, writes it F times over (gzip members concatenated), and quantifies N and F*N
pairs with ``biometal quant -t 1`` and ``kallisto quant -t 1`` on the indexes just built,
each under ``/usr/bin/time -v``: wall and CPU (user + sys) seconds, pairs per CPU second
(per core), peak RSS. Index loading is included, for both.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path


def simulate(out: Path, genes: int) -> dict:
    from biometal.simulate.transcriptome import simulate_transcriptome

    fasta, info_path = out / "transcripts.fa", out / "transcriptome.json"
    if info_path.is_file() and fasta.is_file():
        info = json.loads(info_path.read_text())
        if info.get("genes") == genes:
            return info
    info = simulate_transcriptome(
        out / "annotation.gtf", fasta, n_genes=genes, n_contigs=24, seed=12
    )
    info_path.write_text(json.dumps(info, indent=1) + "\n")
    return info


def timed(cmd: list[str], log: Path, env: dict, cpu: bool = False) -> tuple[float, ...]:
    """(wall seconds, peak RSS MiB[, CPU seconds]) of ``cmd`` from GNU time -v, output to log."""
    with open(log, "w") as fh:
        proc = subprocess.run(
            ["/usr/bin/time", "-v", *cmd], stdout=fh, stderr=subprocess.STDOUT, env=env
        )
    text = log.read_text()
    if proc.returncode != 0:
        sys.exit(f"error: {' '.join(cmd)} failed (see {log}):\n{text[-2000:]}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1))
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", text).group(1)
    secs = 0.0
    for part in wall.split(":"):
        secs = secs * 60 + float(part)
    if not cpu:
        return secs, rss / 1024
    user = float(re.search(r"User time \(seconds\): ([\d.]+)", text).group(1))
    system = float(re.search(r"System time \(seconds\): ([\d.]+)", text).group(1))
    return secs, rss / 1024, user + system


def reads(out: Path, pairs: int, factor: int) -> dict[int, tuple[Path, Path]]:
    """{pairs: (R1, R2)} for ``pairs`` and ``factor * pairs`` simulated read pairs."""
    from biometal.simulate.transcriptome import simulate_rnaseq

    d = out / f"reads_{pairs}"
    r1, r2 = d / "A1_R1.fastq.gz", d / "A1_R2.fastq.gz"
    if not (r1.is_file() and r2.is_file()):
        simulate_rnaseq(
            out / "transcripts.fa", out / "annotation.gtf", d, d / "sheet.tsv",
            d / "counts.tsv", d / "tpm.tsv", d / "de.tsv", n_samples=2,
            sample_names=["A1", "B1"], reads_per_sample=pairs, seed=12,
        )  # fmt: skip
    got = {pairs: (r1, r2)}
    if factor > 1:
        big = [d / f"x{factor}_R{m}.fastq.gz" for m in (1, 2)]
        for src, dst in zip((r1, r2), big, strict=True):
            if not dst.is_file():
                blob = src.read_bytes()
                with open(dst, "wb") as fh:
                    for _ in range(factor):
                        fh.write(blob)
        got[pairs * factor] = (big[0], big[1])
    return got


def quant(args, env: dict) -> None:
    pairs, factor = args.quant
    inputs = reads(args.out, pairs, factor)
    env1 = {**env, "NUMBA_NUM_THREADS": "1"}
    cmds = {
        "biometal": lambda n, r1, r2: [
            sys.executable, "-m", "biometal", "quant", "-t", "1",
            str(args.out / "biometal.npz"), str(r1), str(r2), "-o", str(args.out / f"q{n}.tsv"),
        ],
        "kallisto": lambda n, r1, r2: [
            "kallisto", "quant", "-t", "1", "-i", str(args.out / "kallisto.kidx"),
            "-o", str(args.out / f"k{n}"), str(r1), str(r2),
        ],
    }  # fmt: skip
    print("tool\tpairs\twall_s\tcpu_s\tpairs_per_cpu_s\tpeak_rss_MiB", flush=True)
    per: dict[tuple[str, int], tuple[float, float]] = {}
    for n, (r1, r2) in inputs.items():
        for tool, cmd in cmds.items():
            if args.only and tool != args.only:
                continue
            wall, rss, cpu = timed(cmd(n, r1, r2), args.out / f"{tool}.quant{n}.log", env1, True)
            per[tool, n] = (n / cpu, rss)
            print(f"{tool}\t{n}\t{wall:.1f}\t{cpu:.1f}\t{n / cpu:,.0f}\t{rss:.0f}", flush=True)
    for n in inputs:
        if ("biometal", n) in per and ("kallisto", n) in per:
            b, k = per["biometal", n], per["kallisto", n]
            print(f"# {n:,} pairs: biometal / kallisto per core {b[0] / k[0]:.2f}x, RSS "
                  f"{b[1] / k[1]:.2f}x")  # fmt: skip
    for tool in ("biometal", "kallisto"):
        sizes = sorted(n for t, n in per if t == tool)
        if len(sizes) == 2:
            lo, hi = per[tool, sizes[0]][1], per[tool, sizes[1]][1]
            print(f"# {tool} peak RSS {sizes[0]:,} -> {sizes[1]:,} pairs: {lo:.0f} -> {hi:.0f} "
                  f"MiB ({100 * (hi / lo - 1):+.1f}%)")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="results/bench/rnaseq_human_scale", type=Path)
    ap.add_argument("--genes", type=int, default=172_000)
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2, help="biometal's threads")
    ap.add_argument("--only", choices=["biometal", "kallisto"])
    ap.add_argument("--skip-index", action="store_true", help="reuse the indexes in --out")
    ap.add_argument("--quant", nargs=2, type=int, metavar=("PAIRS", "FACTOR"), help="also quantify")
    args = ap.parse_args()
    if shutil.which("/usr/bin/time") is None:
        sys.exit("error: /usr/bin/time (GNU time) not found")
    args.out.mkdir(parents=True, exist_ok=True)
    info = simulate(args.out, args.genes)
    fasta = args.out / "transcripts.fa"
    print(
        f"# transcriptome: {info['transcripts']:,} transcripts, "
        f"{info['transcript_bp'] / 1e6:.1f} Mb ({fasta})",
        flush=True,
    )
    tools = {
        "biometal": lambda idx: [sys.executable, "-m", "biometal", "index", str(fasta), str(idx)],
        "kallisto": lambda idx: ["kallisto", "index", "-k", "31", "-i", str(idx), str(fasta)],
    }  # fmt: skip
    suffix = {"biometal": ".npz", "kallisto": ".kidx"}
    env = {**os.environ, "NUMBA_NUM_THREADS": str(args.threads)}
    rows: dict[str, list[tuple[float, float, float, float]]] = {}
    print("tool\trep\twall_s\tcpu_s\tpeak_rss_MiB\tindex_MiB", flush=True)
    for rep in range(0 if args.skip_index else args.reps):
        for tool, cmd in tools.items():
            if args.only and tool != args.only:
                continue
            idx = args.out / f"{tool}{suffix[tool]}"
            secs, rss, cpu = timed(cmd(idx), args.out / f"{tool}.{rep}.log", env, True)
            size = idx.stat().st_size / 2**20
            rows.setdefault(tool, []).append((secs, cpu, rss, size))
            print(f"{tool}\t{rep}\t{secs:.1f}\t{cpu:.1f}\t{rss:.0f}\t{size:.0f}", flush=True)
    if len(rows) == 2:
        med = {t: [statistics.median(v[i] for v in r) for i in range(4)] for t, r in rows.items()}
        b, k = med["biometal"], med["kallisto"]
        print(
            f"# biometal / kallisto (medians): wall {b[0] / k[0]:.2f}x, CPU {b[1] / k[1]:.2f}x, "
            f"peak RSS {b[2] / k[2]:.2f}x, index size {b[3] / k[3]:.2f}x; biometal on "
            f"{args.threads} threads, kallisto on 1"
        )
    if args.quant:
        quant(args, env)


if __name__ == "__main__":
    main()
