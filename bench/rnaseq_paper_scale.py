"""Benchmark: the '500 GB of RNA-seq on a laptop' claim, biometal vs kallisto, reads streamed.

    python bench/rnaseq_paper_scale.py                         # 1M..20M pairs, 2 repeats
    python bench/rnaseq_paper_scale.py --sizes 1e6 2e6 5e6 10e6 20e6 50e6 --reps 1
    python bench/rnaseq_paper_scale.py --genes 2000 --sizes 1e5 2e5 --pool 100000   # a quick try

Nothing large touches the disk. A transcriptome (``--genes``, simulated once by
``bench/rnaseq_human_scale.py``'s ``simulate``, seed 12, kept in ``--out``) is indexed by
``biometal index`` and ``kallisto index -k 31``. A pool of ``--pool`` distinct read pairs
(2 x ``--read-length`` bp, :func:`biometal.simulate.transcriptome.simulate_rnaseq`, two
samples of ``pool / 2`` pairs, seed 12) is held in memory as plain FASTQ; for a sample of N
pairs the pool is streamed round and round (the last copy cut at a record boundary) into two
named pipes, one writer thread per pipe (so neither tool can deadlock us by reading one mate
ahead of the other; 1 MiB pipe buffers), while the tool reads the pipes as its two mate files:

* ``biometal quant -t 1`` (``NUMBA_NUM_THREADS=1``) and ``kallisto quant -t 1``, each a fresh
  process, index loading included; sizes in increasing order, the two tools interleaved
  (their order alternates by repeat);
* per run: CPU seconds (user + sys of the tool's process, ``os.wait4``), wall seconds, peak
  RSS (``/usr/bin/time -v``), pairs the tool reports having processed (checked == N);
* the generator's cost is separate: CPU seconds to simulate the pool (per pair: what a
  stream simulated afresh would cost), and this process's CPU seconds while it fed each run
  (``gen_cpu_s``: copying the pool into the pipes).

Reads repeat every ``--pool`` pairs; neither tool caches anything per read, so the cost per
pair is that of distinct reads (the default pool is 500k pairs). Writes ``runs.tsv``,
``fit.tsv`` (``cpu_s = a + b * pairs`` per tool, least squares, standard errors),
``projection.tsv`` (50 samples x 10 GB, see :func:`projection`) and ``generator.tsv`` to
``--out``, and prints them. ``scripts/bench_paper_scale.py`` draws them
(:mod:`biometal.rnaseq.scaling_figures`).
"""

from __future__ import annotations

import argparse
import errno
import fcntl
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rnaseq_human_scale import simulate, timed  # noqa: E402  (transcriptome, GNU-time builds)

from biometal.io import open_input  # noqa: E402
from biometal.rnaseq.scaling_figures import fit_cost, projection  # noqa: E402

F_SETPIPE_SZ = 1031
PIPE_BYTES = 1 << 20
SLICE = 1 << 20
TOOLS = ("biometal", "kallisto")
RSS = re.compile(r"Maximum resident set size \(kbytes\): (\d+)")


def _cpu_self() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


class Pool:
    """``pairs`` read pairs as two plain FASTQ blobs; :meth:`cut` = byte length of r records."""

    def __init__(self, r1: bytes, r2: bytes) -> None:
        self.blobs = (r1, r2)
        self._nl = [np.flatnonzero(np.frombuffer(b, np.uint8) == 10) for b in self.blobs]
        n1, n2 = (len(x) // 4 for x in self._nl)
        if n1 != n2 or n1 == 0:
            raise SystemExit(f"error: pool mates hold {n1} and {n2} records")
        self.pairs = n1

    def cut(self, mate: int, records: int) -> int:
        return 0 if records == 0 else int(self._nl[mate][4 * records - 1]) + 1

    @property
    def bytes_per_pair(self) -> float:
        return (len(self.blobs[0]) + len(self.blobs[1])) / self.pairs


def make_pool(out: Path, pairs: int, read_length: int) -> tuple[Pool, float]:
    """The pool (simulated into ``out/pool_*``, reused) and the CPU seconds simulating it took."""
    from biometal.simulate.transcriptome import simulate_rnaseq

    d = out / f"pool_{pairs}_{read_length}"
    files = [d / f"{s}_R{m}.fastq.gz" for s in ("P1", "P2") for m in (1, 2)]
    cost_file = d / "simulate_cpu_s.txt"
    if not all(f.is_file() for f in files) or not cost_file.is_file():
        t = _cpu_self()
        simulate_rnaseq(
            out / "transcripts.fa", out / "annotation.gtf", d, d / "sheet.tsv",
            d / "counts.tsv", d / "tpm.tsv", d / "de.tsv", n_samples=2,
            sample_names=["P1", "P2"], reads_per_sample=pairs // 2, read_length=read_length,
            fragment_mean=300.0, fragment_sd=50.0, seed=12,
        )  # fmt: skip
        cost_file.write_text(f"{_cpu_self() - t:.3f}\n")
    blobs = []
    for m in (0, 1):
        parts = []
        for f in files[m::2]:
            with open_input(f) as fh:
                parts.append(fh.read())
        blobs.append(b"".join(parts))
    return Pool(*blobs), float(cost_file.read_text())


def _open_fifo(path: str, proc: subprocess.Popen | None) -> int:
    """Open a FIFO for writing once the reader has it open; give up if the reader died."""
    while True:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno != errno.ENXIO:
                raise
            if proc is not None and proc.poll() is not None:
                return -1
            time.sleep(0.005)
            continue
        os.set_blocking(fd, True)
        try:
            fcntl.fcntl(fd, F_SETPIPE_SZ, PIPE_BYTES)
        except OSError:
            pass
        return fd


def _write_all(fd: int, data: memoryview) -> None:
    while data:
        n = os.write(fd, data)
        data = data[n:]


def _feed_all(fd: int, pool: Pool, mate: int, pairs: int, errors: list) -> None:
    blob = memoryview(pool.blobs[mate])
    full, rest = divmod(pairs, pool.pairs)
    try:
        for view in [blob] * full + [blob[: pool.cut(mate, rest)]]:
            for i in range(0, len(view), SLICE):
                _write_all(fd, view[i : i + SLICE])
    except BrokenPipeError as exc:
        errors.append(exc)
    finally:
        os.close(fd)


def stream_run(
    cmd: list[str], fifos: tuple[str, str], pool: Pool, pairs: int, log: Path, env: dict
) -> dict:
    """Run ``cmd`` reading ``pairs`` pairs from the two FIFOs: wall, CPU, peak RSS of the tool."""
    with open(log, "w") as fh:
        t0 = time.perf_counter()
        gen0 = _cpu_self()
        # Peak RSS from GNU time: a process forked from this (large) Python process keeps
        # its resident-set high-water mark across exec, so wait4's ru_maxrss here would be
        # ours; the tool, forked by time, starts small. CPU from wait4 (time's share ~1 ms).
        proc = subprocess.Popen(
            ["/usr/bin/time", "-v", *cmd], stdout=fh, stderr=subprocess.STDOUT, env=env
        )
        errors: list = []
        threads = []
        for mate, fifo in enumerate(fifos):
            th = threading.Thread(target=_feeder, args=(fifo, proc, pool, mate, pairs, errors))
            th.start()
            threads.append(th)
        _, status, ru = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
    for th in threads:
        th.join()
    gen_cpu = _cpu_self() - gen0
    if proc.returncode != 0 or errors:
        shutil.copy(log, log.with_suffix(".failed.log"))
        sys.exit(f"error: {' '.join(cmd)} failed (see {log}):\n{log.read_text()[-2000:]}")
    return {
        "wall_s": wall,
        "cpu_s": ru.ru_utime + ru.ru_stime,
        "user_s": ru.ru_utime,
        "sys_s": ru.ru_stime,
        "peak_rss_mib": int(RSS.findall(log.read_text())[-1]) / 1024,
        "gen_cpu_s": gen_cpu,
    }


def _feeder(fifo: str, proc, pool: Pool, mate: int, pairs: int, errors: list) -> None:
    fd = _open_fifo(fifo, proc)
    if fd >= 0:
        _feed_all(fd, pool, mate, pairs, errors)


def processed(tool: str, out: Path) -> tuple[int, float]:
    """(pairs processed, fraction pseudoaligned) as the tool reports them."""
    if tool == "biometal":
        info = json.loads(out.with_suffix(".json").read_text())
        return int(info["reads"]), float(info["pseudoaligned_fraction"])
    info = json.loads((out / "run_info.json").read_text())
    return int(info["n_processed"]), float(info["p_pseudoaligned"]) / 100


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="results/bench/rnaseq_paper_scale", type=Path)
    ap.add_argument("--genes", type=int, default=20_000)
    ap.add_argument("--sizes", nargs="+", type=float, default=[1e6, 2e6, 5e6, 10e6, 20e6])
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--pool", type=int, default=500_000, help="distinct pairs in the stream")
    ap.add_argument("--read-length", type=int, default=150)
    ap.add_argument("--only", choices=TOOLS)
    ap.add_argument("--samples", type=int, default=50, help="projection: samples")
    ap.add_argument("--sample-gb", type=float, default=10.0, help="projection: GB per sample")
    ap.add_argument("--cores", type=int, default=8, help="projection: cores")
    ap.add_argument(
        "--append", action="store_true", help="add to --out's runs.tsv (repeats numbered on)"
    )
    args = ap.parse_args()
    for exe in ("/usr/bin/time", "kallisto"):
        if shutil.which(exe) is None:
            sys.exit(f"error: {exe} not found")
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    info = simulate(out, args.genes)
    fasta = out / "transcripts.fa"
    print(f"# transcriptome: {args.genes:,} genes, {info['transcripts']:,} transcripts, "
          f"{info['transcript_bp'] / 1e6:.1f} Mb", flush=True)  # fmt: skip
    env = {**os.environ, "NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    index = {"biometal": out / "biometal.npz", "kallisto": out / "kallisto.kidx"}
    build = {
        "biometal": [sys.executable, "-m", "biometal", "index", str(fasta), str(index["biometal"])],
        "kallisto": ["kallisto", "index", "-k", "31", "-i", str(index["kallisto"]), str(fasta)],
    }  # fmt: skip
    for tool in TOOLS:
        if not index[tool].exists():
            secs, rss = timed(build[tool], out / f"{tool}.index.log", env)
            print(f"# {tool} index: {secs:.1f} s wall, {rss:.0f} MiB", flush=True)

    pool, sim_cpu = make_pool(out, args.pool, args.read_length)
    gz = len(zlib.compress(pool.blobs[0][: 16 << 20], 6)) / min(len(pool.blobs[0]), 16 << 20)
    gen = pd.DataFrame(
        [
            {"what": "simulate_us_per_pair", "value": 1e6 * sim_cpu / pool.pairs},
            {"what": "pool_pairs", "value": pool.pairs},
            {"what": "plain_bytes_per_pair", "value": pool.bytes_per_pair},
            {"what": "gzip6_ratio", "value": 1 / gz},
        ]
    )
    gen.to_csv(out / "generator.tsv", sep="\t", index=False, float_format="%.4f")
    print(gen.to_string(index=False), flush=True)

    tmp = Path(tempfile.mkdtemp(prefix="paper_scale_", dir=out))
    fifos = (str(tmp / "R1.fq"), str(tmp / "R2.fq"))
    for f in fifos:
        os.mkfifo(f)
    cmds = {
        "biometal": lambda o: [
            sys.executable, "-m", "biometal", "quant", "-t", "1", str(index["biometal"]),
            *fifos, "-o", str(o), "--info", str(o.with_suffix(".json")),
        ],
        "kallisto": lambda o: [
            "kallisto", "quant", "-t", "1", "-i", str(index["kallisto"]), "-o", str(o), *fifos,
        ],
    }  # fmt: skip
    runs_tsv = out / "runs.tsv"
    rows = pd.read_csv(runs_tsv, sep="\t").to_dict("records") if args.append else []
    first = 1 + max((r["rep"] for r in rows), default=-1)
    cols = ["tool", "pairs", "rep", "wall_s", "cpu_s", "user_s", "sys_s", "peak_rss_mib",
            "gen_cpu_s"]  # fmt: skip
    print("\t".join([*cols, "pseudoaligned"]), flush=True)
    try:
        for rep in range(first, first + args.reps):
            for n in sorted(int(s) for s in args.sizes):
                order = TOOLS if rep % 2 == 0 else TOOLS[::-1]
                for tool in order:
                    if args.only and tool != args.only:
                        continue
                    o = tmp / (f"q{n}.tsv" if tool == "biometal" else f"k{n}")
                    r = stream_run(cmds[tool](o), fifos, pool, n, out / f"{tool}.{n}.log", env)
                    got, frac = processed(tool, o)
                    if got != n:
                        sys.exit(f"error: {tool} processed {got} pairs, {n} streamed")
                    rows.append({"tool": tool, "pairs": n, "rep": rep, **r, "pseudoaligned": frac})
                    pd.DataFrame(rows).to_csv(runs_tsv, sep="\t", index=False, float_format="%.4f")
                    print("\t".join(f"{rows[-1][c]:.2f}" if isinstance(rows[-1][c], float)
                                    else str(rows[-1][c]) for c in [*cols, "pseudoaligned"]),
                          flush=True)  # fmt: skip
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    runs = pd.DataFrame(rows)
    stream_us = 1e6 * runs["gen_cpu_s"].sum() / runs["pairs"].sum()
    gen.loc[len(gen)] = {"what": "stream_us_per_pair", "value": stream_us}
    gen.to_csv(out / "generator.tsv", sep="\t", index=False, float_format="%.4f")
    fit = fit_cost(runs)
    fit.to_csv(out / "fit.tsv", sep="\t", index=False, float_format="%.6g")
    proj = projection(
        fit, runs, gen.set_index("what")["value"].to_dict(), args.samples, args.sample_gb,
        args.cores,
    )  # fmt: skip
    proj.to_csv(out / "projection.tsv", sep="\t", index=False, float_format="%.4g")
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(fit.to_string(index=False))
        print(proj.to_string(index=False))


if __name__ == "__main__":
    main()
