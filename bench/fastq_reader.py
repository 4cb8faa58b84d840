"""Benchmark: biometal FASTQ readers against pysam.FastxFile on the same .gz file.

    python bench/fastq_reader.py                    # 1M reads x 150 bp, 5 interleaved repeats
    python bench/fastq_reader.py --fastq my.fq.gz   # an existing file
    python bench/fastq_reader.py --rss              # peak RSS streaming N and 10N reads

Timing mode prints a TSV: method, median_s, min_s, max_s, records_per_s (at the median),
ratio_vs_pysam (records/s over pysam's, > 1 is faster). Every method reads every record and
touches its fields: pysam ``(r.name, r.sequence, r.quality)``, biometal ``read_fastq``
``(r.name, r.seq, r.qual)``, biometal ``read_fastq_chunks`` (codes + qual + offsets arrays).
Methods are interleaved within each repeat, after one untimed warm-up pass each (page
cache, numba's compiled-code cache). ``--serial`` adds biometal rows with the background
read/decompress thread off (single core).

RSS mode runs each reader over a file of N and of 10N reads, each in a fresh subprocess, and
prints the child's peak RSS (its VmHWM; see ``child_peak_rss_mb``) for both sizes and their
ratio.

Generated inputs (random reads, seeded, written with biometal's FastqWriter) go to
``--workdir`` (default /tmp/biometal_bench) and are reused when present.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from biometal.io import FastqWriter, ReadChunk, read_fastq, read_fastq_chunks


def make_fastq(path: Path, n_reads: int, length: int, seed: int, compresslevel: int) -> Path:
    """Write ``n_reads`` random reads of ``length`` bp (1% N, Phred 2..40) unless present."""
    if path.exists():
        return path
    rng = np.random.default_rng(seed)
    batch = 65536
    with FastqWriter(path, compresslevel=compresslevel) as out:
        for start in range(0, n_reads, batch):
            n = min(batch, n_reads - start)
            codes = rng.integers(0, 4, n * length, dtype=np.uint8)
            codes[rng.random(n * length) < 0.01] = 4
            qual = rng.integers(2, 41, n * length, dtype=np.uint8)
            offsets = np.arange(n + 1, dtype=np.int64) * length
            out.write_chunk(ReadChunk(codes, qual, offsets))
    return path


def run_pysam(path: str) -> int:
    import pysam

    n = 0
    for r in pysam.FastxFile(path):
        _ = (r.name, r.sequence, r.quality)
        n += 1
    return n


def run_records(path: str) -> int:
    n = 0
    for r in read_fastq(path):
        _ = (r.name, r.seq, r.qual)
        n += 1
    return n


def run_chunks(path: str) -> int:
    n = 0
    for chunk in read_fastq_chunks(path):
        n += len(chunk)
    return n


def serial(fn):
    """``fn`` with the background read/decompress thread switched off."""

    def run(path: str) -> int:
        from biometal.io import fastx

        saved, fastx.PREFETCH = fastx.PREFETCH, False
        try:
            return fn(path)
        finally:
            fastx.PREFETCH = saved

    return run


METHODS = {
    "pysam.FastxFile": run_pysam,
    "biometal.read_fastq": run_records,
    "biometal.read_fastq_chunks": run_chunks,
}
SERIAL_METHODS = {
    "biometal.read_fastq[no-thread]": serial(run_records),
    "biometal.read_fastq_chunks[no-thread]": serial(run_chunks),
}


def timing(path: str, repeats: int, with_serial: bool = False) -> None:
    methods = dict(METHODS, **(SERIAL_METHODS if with_serial else {}))
    counts = {}
    for name, fn in methods.items():  # warm-up: page cache, numba cache, imports
        counts[name] = fn(path)
    if len(set(counts.values())) != 1:
        raise SystemExit(f"record counts differ: {counts}")
    n_records = next(iter(counts.values()))
    times: dict[str, list[float]] = {name: [] for name in methods}
    for _ in range(repeats):
        for name, fn in methods.items():
            t0 = time.perf_counter()
            fn(path)
            times[name].append(time.perf_counter() - t0)
    peer = n_records / statistics.median(times["pysam.FastxFile"])
    print(f"# file={path} records={n_records} repeats={repeats}")
    print("method\tmedian_s\tmin_s\tmax_s\trecords_per_s\tratio_vs_pysam")
    for name, ts in times.items():
        med = statistics.median(ts)
        rate = n_records / med
        print(f"{name}\t{med:.3f}\t{min(ts):.3f}\t{max(ts):.3f}\t{rate:.0f}\t{rate / peer:.2f}")


_CHILD = """
import resource, sys
from biometal.io import read_fastq, read_fastq_chunks
path, mode = sys.argv[1], sys.argv[2]
if mode == "chunks":
    n = sum(len(c) for c in read_fastq_chunks(path))
else:
    n = sum(1 for _ in read_fastq(path))
try:
    with open("/proc/self/status") as f:
        peak_kib = next(int(x.split()[1]) for x in f if x.startswith("VmHWM:"))
except OSError:  # not Linux: ru_maxrss (bytes on macOS)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
print(n, peak_kib)
"""


def child_peak_rss_mb(path: Path, mode: str) -> tuple[int, float]:
    """(records, peak RSS in MiB) of a fresh interpreter streaming ``path``.

    The child reports its own VmHWM: a child's ru_maxrss on Linux starts at the parent's
    peak (exec keeps the high-water mark of the forked address space), which would hide
    the child's own use behind the parent's.
    """
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), mode], capture_output=True, text=True, check=True
    )
    n, peak_kib = out.stdout.split()
    return int(n), int(peak_kib) / 1024


def rss(paths: tuple[Path, Path]) -> None:
    print("mode\treads_N\tpeak_rss_N_MiB\treads_10N\tpeak_rss_10N_MiB\tratio_10N_over_N")
    for mode in ("chunks", "records"):
        (n1, r1), (n2, r2) = (child_peak_rss_mb(p, mode) for p in paths)
        print(f"{mode}\t{n1}\t{r1:.1f}\t{n2}\t{r2:.1f}\t{r2 / r1:.3f}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fastq", help="existing FASTQ(.gz) to time (default: generate one)")
    ap.add_argument("--reads", type=int, default=1_000_000, help="reads to generate")
    ap.add_argument("--length", type=int, default=150, help="read length to generate")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--compresslevel", type=int, default=1, help="gzip level of generated file")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--workdir", default="/tmp/biometal_bench")
    ap.add_argument(
        "--serial", action="store_true", help="also time biometal without its read thread"
    )
    ap.add_argument("--rss", action="store_true", help="peak RSS for N and 10N reads")
    ap.add_argument("--rss-reads", type=int, default=100_000, help="N for --rss")
    args = ap.parse_args(argv)
    work = Path(args.workdir)

    def generated(n: int) -> Path:
        name = f"reads_{n}x{args.length}_s{args.seed}_l{args.compresslevel}.fastq.gz"
        return make_fastq(work / name, n, args.length, args.seed, args.compresslevel)

    if args.rss:
        rss((generated(args.rss_reads), generated(10 * args.rss_reads)))
        return
    path = args.fastq or str(generated(args.reads))
    timing(path, args.repeats, args.serial)


if __name__ == "__main__":
    main()
