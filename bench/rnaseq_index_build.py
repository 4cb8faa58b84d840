"""Benchmark: RNA-seq k-mer index build, per stage, and ``biometal index`` vs ``kallisto index``.

    python bench/rnaseq_index_build.py stages --genes 5000           # per-stage CPU s, peak RSS
    python bench/rnaseq_index_build.py compare --genes 5000 --reps 3  # vs kallisto, interleaved
    python bench/rnaseq_index_build.py digest INDEX.npz               # arrays' md5 (no timings)

The transcriptome is the simulator's (``bench/rnaseq_human_scale.py``'s ``simulate``, seed 12;
5,000 genes = 7.2 Mb, 20,000 = 28.8 Mb), kept in ``--out/g<genes>`` and reused.

``stages``: one process runs the steps of :func:`biometal.rnaseq.index.index_transcriptome`
one by one (numba's cache warmed first by a tiny build) and prints, per stage, CPU seconds
(user + sys of the process, all threads) and the process's peak RSS so far (``ru_maxrss``: a
stage that raises it is the one that sets the peak).

``compare``: ``biometal index`` (the CLI, default threads: numba's default, one per core, unless
``--threads``) and ``kallisto index -k 31`` (0.48: one thread), each in its own process under
``/usr/bin/time -f "%e %U %S %M"``, alternating, ``--reps`` times; prints each run and the
medians (min-max) of CPU seconds (user + sys) and peak RSS, and the ratios of the medians.

``digest``: md5 of every array of a saved index and of its metadata less the timing fields, so
that two builds can be compared (the file itself holds ``build_seconds``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fasta_of(out: Path, genes: int) -> Path:
    from rnaseq_human_scale import simulate

    d = out / f"g{genes}"
    d.mkdir(parents=True, exist_ok=True)
    info = simulate(d, genes)
    print(
        f"# {genes:,} genes: {info['transcripts']:,} transcripts, "
        f"{info['transcript_bp'] / 1e6:.1f} Mb ({d / 'transcripts.fa'})",
        flush=True,
    )
    return d / "transcripts.fa"


def stages(args) -> None:
    import numba
    import numpy as np

    from biometal.rnaseq import index as ix

    fasta = fasta_of(args.out, args.genes)
    warm = args.out / "warm.fa"
    rng = np.random.default_rng(1)
    warm.write_text("".join(f">t{i}\n{''.join(rng.choice(list('ACGT'), 300))}\n" for i in range(5)))
    ix.index_transcriptome(warm, args.out / "warm.npz")  # numba's cache loaded
    rows = []

    def stage(name, fn):
        c, w = _cpu(), time.perf_counter()
        got = fn()
        rows.append((name, _cpu() - c, time.perf_counter() - w, _rss_mib()))
        return got

    print(f"# start: peak RSS {_rss_mib():.0f} MiB, {numba.get_num_threads()} threads")
    k = ix.DEFAULT_K
    names, codes, offsets = stage("read FASTA", lambda: ix.read_transcripts(fasta))
    timings: dict = {}
    index = stage(
        "build (all)", lambda: ix._build(names, codes, offsets, k, str(fasta), 0.0, timings)
    )
    stage("self-check", lambda: ix.self_check(index, codes, offsets))
    stage("save", lambda: ix.save_index(index, args.out / "stages.npz"))
    print("build stage\tcpu_s\twall_s\tpeak_rss_so_far_MiB")
    for name, (secs, cpu, rss) in timings.items():
        print(f"{name}\t{cpu:.2f}\t{secs:.2f}\t{rss / 1024:.0f}")
    print("stage\tcpu_s\twall_s\tpeak_rss_so_far_MiB")
    for name, c, w, r in rows:
        print(f"{name}\t{c:.2f}\t{w:.2f}\t{r:.0f}")


def run_timed(cmd: list[str], env: dict) -> tuple[float, float, float]:
    """(wall s, CPU s, peak RSS MiB) from GNU time."""
    proc = subprocess.run(
        ["/usr/bin/time", "-f", "%e %U %S %M", *cmd],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    if proc.returncode != 0:
        sys.exit(f"error: {' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
    wall, user, sys_, rss = proc.stderr.strip().splitlines()[-1].split()
    return float(wall), float(user) + float(sys_), int(rss) / 1024


def compare(args) -> None:
    fasta = fasta_of(args.out, args.genes)
    d = fasta.parent
    env = dict(os.environ)
    if args.threads:
        env["NUMBA_NUM_THREADS"] = str(args.threads)
    tools = {
        "biometal": [sys.executable, "-m", "biometal", "index", str(fasta), str(d / "b.npz")],
        "kallisto": ["kallisto", "index", "-k", "31", "-i", str(d / "k.kidx"), str(fasta)],
    }
    threads = args.threads or os.cpu_count()
    print(f"# biometal threads: {threads}; kallisto: 1")
    print("tool\trep\twall_s\tcpu_s\tpeak_rss_MiB", flush=True)
    got: dict[str, list[tuple[float, float, float]]] = {t: [] for t in tools}
    for rep in range(args.reps):
        for tool, cmd in tools.items():
            w, c, r = run_timed(cmd, env)
            got[tool].append((w, c, r))
            print(f"{tool}\t{rep}\t{w:.2f}\t{c:.2f}\t{r:.0f}", flush=True)
    med = {}
    for tool, rows in got.items():
        cpu = [r[1] for r in rows]
        rss = [r[2] for r in rows]
        med[tool] = (statistics.median(cpu), statistics.median(rss))
        print(
            f"# {tool}: CPU {med[tool][0]:.2f} s ({min(cpu):.2f}-{max(cpu):.2f}), peak RSS "
            f"{med[tool][1]:.0f} MiB ({min(rss):.0f}-{max(rss):.0f})"
        )
    b, k = med["biometal"], med["kallisto"]
    print(f"# biometal / kallisto (medians): CPU {b[0] / k[0]:.2f}x, peak RSS {b[1] / k[1]:.2f}x")


def digest(args) -> None:
    import numpy as np

    with np.load(args.index, allow_pickle=False) as data:
        for name in sorted(data.files):
            a = data[name]
            if name == "meta":
                meta = json.loads(str(a))
                for key in ("build_seconds", "stage_seconds"):
                    meta.get("stats", {}).pop(key, None)
                blob = json.dumps(meta, sort_keys=True).encode()
            else:
                blob = a.dtype.str.encode() + str(a.shape).encode() + a.tobytes()
            print(f"{hashlib.md5(blob).hexdigest()}  {name}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("stages", "compare"):
        p = sub.add_parser(name)
        p.add_argument("--genes", type=int, default=5000)
        p.add_argument("--out", type=Path, default=Path("results/bench/rnaseq_index_build"))
        if name == "compare":
            p.add_argument("--reps", type=int, default=3)
            p.add_argument("--threads", type=int, help="NUMBA_NUM_THREADS (default: numba's)")
    p = sub.add_parser("digest")
    p.add_argument("index", type=Path)
    args = ap.parse_args()
    {"stages": stages, "compare": compare, "digest": digest}[args.cmd](args)


if __name__ == "__main__":
    main()
