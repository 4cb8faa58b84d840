"""Benchmark: biometal's FM-index (``biometal fmindex`` / ``fastmap``) against ``bwa index`` /
``bwa fastmap`` on the same simulated chromosome and reads, in the same run.

    python bench/fm_index.py                      # 16 and 64 Mb, 100k reads x 150 bp
    python bench/fm_index.py --sizes 4 --reads 20000 --repeats 1   # a quick look

For each size: one simulated chromosome (``biometal.simulate.simulate_reference``, one
contig, repeat families and tandem repeats, seeded), reads of 150 bp sampled from both strands
with 1% substitutions. Each command runs in its own process under ``/usr/bin/time -v``:

- build: ``bwa index -p P ref.fa`` vs ``biometal fmindex ref.fa ref.fm.npz``: wall seconds
  and peak RSS (time's "Maximum resident set size");
- index bytes per reference base: bwa's ``.bwt + .sa + .pac`` vs the ``.npz``;
- seeding: ``bwa fastmap -l 19 P reads.fq`` vs ``biometal fastmap -t 1 -l 19 ref.fm.npz
  reads.fq`` (bwa fastmap is single-threaded, so biometal gets one thread too), end to end
  (index loading included), reads per second at the median of ``--repeats`` runs (the
  tools interleaved), by wall time and by CPU time (user + system; with the range over
  the runs: on a shared machine CPU time is the steadier measure); the two
  outputs are compared (SMEMs and counts must be identical, positions on the same index).

Row ``biometal_all_cores``: ``biometal fastmap`` with its default threads (all cores).
Row ``biometal_on_bwa_index`` seeds with ``biometal fastmap`` on bwa's own index
files (``FMIndex.from_bwa``; its output must equal bwa's line for line). Prints a TSV:
size_mb, tool, build_s, build_peak_rss_mb, index_bytes_per_base, seed_s (median wall),
reads_per_s, seed_peak_rss_mb, seed_cpu_s (median), its range, reads_per_cpu_s, and the
ratios biometal/bwa (reads_per_s and reads_per_cpu_s: bwa's seconds over ours, > 1 is
faster). Inputs and indexes go to ``--workdir``
(default /tmp/biometal_fm_bench), reused when present (builds are always rerun).
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np

BIOMETAL = [sys.executable, "-m", "biometal.cli"]


def timed(cmd: list[str], stdout=subprocess.DEVNULL) -> tuple[float, float, float]:
    """(wall seconds, peak RSS MB, CPU seconds: user + system) of ``cmd`` under
    /usr/bin/time -v."""
    p = subprocess.run(
        ["/usr/bin/time", "-v", *cmd], stdout=stdout, stderr=subprocess.PIPE, text=True
    )
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr[-2000:]}")
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", p.stderr)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)
    parts = [float(x) for x in wall.group(1).split(":")]
    secs = sum(v * 60**i for i, v in enumerate(reversed(parts)))
    cpu = sum(
        float(re.search(rf"{k} time \(seconds\): (\S+)", p.stderr).group(1))
        for k in ("User", "System")
    )
    return secs, int(rss.group(1)) / 1024, cpu


def make_inputs(work: Path, size_mb: int, n_reads: int, seed: int) -> tuple[Path, Path]:
    from biometal.simulate.reference import simulate_reference

    ref = work / f"ref{size_mb}.fa"
    if not ref.exists():
        simulate_reference(ref, n_contigs=1, total_length=size_mb * 1_000_000, seed=seed)
    fq = work / f"reads{size_mb}_{n_reads}.fq"
    if not fq.exists():
        from biometal.io.fastx import read_fasta

        rec = next(iter(read_fasta(ref)))
        seq = np.frombuffer(rec.seq.upper().encode(), np.uint8)
        comp = np.zeros(256, np.uint8)
        for a, b in zip(b"ACGTN", b"TGCAN", strict=True):
            comp[a] = b
        rng = np.random.default_rng(seed)
        acgt = np.frombuffer(b"ACGT", np.uint8)
        with open(fq, "w") as fh:
            for r in range(n_reads):
                p = int(rng.integers(0, seq.shape[0] - 150))
                s = seq[p : p + 150].copy()
                m = rng.random(150) < 0.01
                s[m] = acgt[rng.integers(0, 4, int(m.sum()))]
                if rng.random() < 0.5:
                    s = comp[s][::-1]
                fh.write(f"@r{r}\n{s.tobytes().decode()}\n+\n{'I' * 150}\n")
    return ref, fq


def lines(path: Path) -> list[str]:
    """Non-empty lines (bwa fastmap prints a few stray empty ones)."""
    return [ln for ln in path.read_text().splitlines() if ln]


def em_lines(path: Path) -> list[str]:
    """``EM`` lines without positions (SMEM intervals and counts)."""
    out = []
    with open(path) as fh:
        for line in fh:
            if line.startswith(("SQ", "EM")):
                out.append("\t".join(line.split("\t")[:4]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[16, 64], help="Mb")
    ap.add_argument("--reads", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=3, help="seeding runs per tool")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--workdir", default="/tmp/biometal_fm_bench")
    args = ap.parse_args()
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    print(
        "size_mb\ttool\tbuild_s\tbuild_peak_rss_mb\tindex_bytes_per_base\tseed_s\treads_per_s"
        "\tseed_peak_rss_mb\tseed_cpu_s\tseed_cpu_s_range\treads_per_cpu_s",
        flush=True,
    )
    for size in args.sizes:
        ref, fq = make_inputs(work, size, args.reads, args.seed)
        bp = size * 1_000_000
        rows = {}
        prefix = work / f"bwa{size}"
        npz = work / f"ref{size}.fm.npz"
        b_s, b_rss, _ = timed(["bwa", "index", "-p", str(prefix), str(ref)])
        bwa_bytes = sum(Path(f"{prefix}{e}").stat().st_size for e in (".bwt", ".sa", ".pac"))
        o_s, o_rss, _ = timed([*BIOMETAL, "fmindex", str(ref), str(npz)])
        our_bytes = npz.stat().st_size
        tools = {
            "bwa": ["bwa", "fastmap", "-l", "19", str(prefix), str(fq)],
            "biometal": [*BIOMETAL, "fastmap", "-t", "1", "-l", "19", str(npz), str(fq)],
            # all cores of this machine (bwa fastmap has no threads option)
            "biometal_all_cores": [*BIOMETAL, "fastmap", "-l", "19", str(npz), str(fq)],
            # the same, reading bwa's own index files (FMIndex.from_bwa)
            "biometal_on_bwa_index": [*BIOMETAL, "fastmap", "-t", "1", "-l", "19"]
            + [str(prefix), str(fq)],
        }
        seeds = {t: [] for t in tools}
        outs = {t: work / f"{t}{size}.fastmap" for t in tools}
        for _ in range(args.repeats):
            for t, cmd in tools.items():
                with open(outs[t], "w") as fh:
                    seeds[t].append(timed(cmd, stdout=fh))
        same = em_lines(outs["bwa"]) == em_lines(outs["biometal"])
        exact = lines(outs["bwa"]) == lines(outs["biometal_on_bwa_index"])
        med = {t: statistics.median(x[0] for x in v) for t, v in seeds.items()}
        srss = {t: max(x[1] for x in v) for t, v in seeds.items()}
        cpus = {t: sorted(x[2] for x in v) for t, v in seeds.items()}
        ccpu = {t: statistics.median(v) for t, v in cpus.items()}
        rows["bwa"] = (b_s, b_rss, bwa_bytes / bp)
        rows["biometal"] = (o_s, o_rss, our_bytes / bp)
        rows["biometal_all_cores"] = (o_s, o_rss, our_bytes / bp)
        rows["biometal_on_bwa_index"] = (float("nan"), float("nan"), bwa_bytes / bp)
        for tool, (bs, rss, bpb) in rows.items():
            ss = med[tool]
            print(
                f"{size}\t{tool}\t{bs:.1f}\t{rss:.0f}\t{bpb:.2f}\t{ss:.2f}\t"
                f"{args.reads / ss:.0f}\t{srss[tool]:.0f}\t{ccpu[tool]:.2f}\t"
                f"{cpus[tool][0]:.2f}-{cpus[tool][-1]:.2f}\t{args.reads / ccpu[tool]:.0f}",
                flush=True,
            )
        (bs, rss, bpb), (bs0, rss0, bpb0) = rows["biometal"], rows["bwa"]
        ss, ss0 = med["biometal"], med["bwa"]
        print(
            f"{size}\tbiometal/bwa\t{bs / bs0:.2f}\t{rss / rss0:.2f}\t{bpb / bpb0:.2f}\t"
            f"{ss / ss0:.2f}\t{ss0 / ss:.2f}\t{srss['biometal'] / srss['bwa']:.2f}\t"
            f"{ccpu['biometal'] / ccpu['bwa']:.2f}\t\t{ccpu['bwa'] / ccpu['biometal']:.2f}\t"
            f"# SMEMs identical: {same}; on bwa's index byte-identical output: {exact}",
            flush=True,
        )


if __name__ == "__main__":
    main()
