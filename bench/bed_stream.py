"""Peak memory of streaming a BED file (``iter_bed``) vs reading it whole (``read_bed``).

Data: ``--lines`` random BED6 records (seeded; 24 chromosomes, sorted starts, name, score,
strand) written to a temporary directory (``--tmp``, default /tmp) and deleted after. Each
reader runs in a fresh process: ``import`` (only ``import biometal.regions``: the floor),
``iter_bed`` (every chunk of ``--chunk-size`` records counted and dropped before the next) and
``read_bed`` (the whole file as one ``Intervals``). Reported: peak RSS
(``ru_maxrss`` of the child), CPU seconds (user+sys) and records read. One process at a
time, so the numbers do not compete for memory.

    .venv/bin/python bench/bed_stream.py --lines 1000000 10000000 --chunk-size 1000000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

CHILD = r"""
import json, resource, sys, time
import biometal.regions as R
mode, path, chunk = sys.argv[1], sys.argv[2], int(sys.argv[3])
t = time.perf_counter()
n = 0
if mode == "iter_bed":
    for c in R.iter_bed(path, chunk):
        n += len(c)
        del c  # a consumer that drops each chunk before asking for the next
elif mode == "read_bed":
    n = len(R.read_bed(path))
ru = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"records": n, "peak_rss_mb": ru.ru_maxrss / 1024,
                  "cpu_s": ru.ru_utime + ru.ru_stime, "wall_s": time.perf_counter() - t}))
"""


def write_bed(path: Path, n: int, seed: int = 1, block: int = 1_000_000) -> None:
    rng = np.random.default_rng(seed)
    chroms = np.array([f"chr{i}" for i in range(1, 23)] + ["chrX", "chrY"], dtype=object)
    per = -(-n // len(chroms))
    with open(path, "w") as out:
        for lo in range(0, n, block):
            k = min(block, n - lo)
            idx = np.arange(lo, lo + k)
            c = chroms[idx // per]
            s = (idx % per) * 100 + rng.integers(0, 50, k)
            e = s + rng.integers(1, 500, k)
            sc = rng.integers(0, 1000, k)
            st = rng.choice(np.array(["+", "-", "."], dtype=object), k)
            out.write(
                "".join(
                    f"{a}\t{b}\t{x}\tr{i}\t{y}\t{z}\n"
                    for a, b, x, i, y, z in zip(
                        c, s.tolist(), e.tolist(), idx.tolist(), sc.tolist(), st, strict=True
                    )
                )
            )


def run(mode: str, path: Path, chunk: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(path), str(chunk)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, nargs="+", default=[1_000_000, 10_000_000])
    ap.add_argument("--chunk-size", type=int, default=1_000_000)
    ap.add_argument("--tmp", default="/tmp")
    args = ap.parse_args()
    print("lines\tfile_mb\treader\trecords\tpeak_rss_mb\tcpu_s\twall_s")
    with tempfile.TemporaryDirectory(dir=args.tmp, prefix="bed_stream_") as d:
        for n in args.lines:
            path = Path(d) / f"r{n}.bed"
            write_bed(path, n)
            mb = path.stat().st_size / 2**20
            for mode in ("import", "iter_bed", "read_bed"):
                r = run(mode, path, args.chunk_size)
                print(
                    f"{n}\t{mb:.0f}\t{mode}\t{r['records']}\t{r['peak_rss_mb']:.0f}\t"
                    f"{r['cpu_s']:.1f}\t{r['wall_s']:.1f}",
                    flush=True,
                )
            path.unlink()


if __name__ == "__main__":
    main()
