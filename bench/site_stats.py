"""site_stats kernel throughput: positions/s of the numba twin (1 and 2 threads) vs the numpy
code path (biometal.variants.sitestats, what call_snps runs on candidate sites) at EVERY
position of a region, the work reference-confidence gVCFs and joint calling need.

Data: ``--positions`` pileup rows (seeded) at ``--depth`` mean coverage (Poisson), 90%
hom-ref sites with 0.5% sequencing errors, 7% hets, 3% hom-alt, base qualities 25-40; REF
codes uniform A/C/G/T. Both paths compute the same statistics (best ALT, PL, GT, GQ, QUAL,
binomial and beta-binomial tests; tests/kernels/test_site_stats.py checks they agree).

Timing: in-process CPU time (``time.process_time``: user+sys of all threads; the machine is
shared, 2 cores), after one warm-up call on a small table (numba's cached machine code
loaded, scipy imported). The paths are interleaved, order rotated per repeat; median
(min-max) over ``--repeats``; ratio = numba positions per CPU-second / numpy positions per
CPU-second. With 2 threads the CPU time adds both threads; wall time is printed too.
Metal: not measured here (no Apple GPU on this machine).

    .venv/bin/python bench/site_stats.py --positions 1000000 --repeats 3
    .venv/bin/python bench/site_stats.py --bam results/cohort/bam/C0[1-4].bam \\
        --reference results/cohort/data/ref.fa     # real rows: the cohort's pileups
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np


def make_table(n: int, depth: float, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(counts uint32[n, 24], ref uint8[n]) as the module docstring describes."""
    rng = np.random.default_rng(seed)
    ref = rng.integers(0, 4, n).astype(np.uint8)
    alt = (ref + rng.integers(1, 4, n)) % 4
    kind = rng.random(n)
    af = np.where(kind < 0.9, 0.0, np.where(kind < 0.97, 0.5, 1.0))
    d = rng.poisson(depth, n)
    n_alt = rng.binomial(d, af)
    n_err = rng.binomial(d - n_alt, 0.005)
    n_ref = d - n_alt - n_err
    acgt = np.zeros((n, 4), np.int64)
    rows = np.arange(n)
    np.add.at(acgt, (rows, ref), n_ref)
    np.add.at(acgt, (rows, alt), n_alt)
    np.add.at(acgt, (rows, (alt + 1) % 4), n_err)
    fwd = rng.binomial(acgt, 0.5)
    counts = np.zeros((n, 24), np.uint32)
    counts[:, 0:4] = fwd
    counts[:, 5:9] = acgt - fwd
    counts[:, 18:22] = acgt * rng.integers(25, 41, (n, 4))
    return counts, ref


def pileup_table(bams: list[str], reference: str) -> tuple[np.ndarray, np.ndarray]:
    """(counts, ref) of every pileup block of ``bams`` (MAPQ >= 20), as write_gvcf feeds
    the kernel: real rows instead of the synthetic table."""
    from biometal.pileup.engine import PileupParams, iter_pileup
    from biometal.variants.call import _Reference

    lut = np.full(256, 4, np.uint8)
    for i, c in enumerate(b"ACGT"):
        lut[c] = lut[c + 32] = i
    ref = _Reference(reference)
    counts, codes = [], []
    for bam in bams:
        for b in iter_pileup(bam, PileupParams(min_mapq=20), reference=reference):
            counts.append(np.asarray(b.counts, np.uint32))
            codes.append(lut[np.frombuffer(ref.load(b.contig, b.start, b.end).encode(), np.uint8)])
    return np.ascontiguousarray(np.concatenate(counts)), np.concatenate(codes)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--positions", type=int, default=1_000_000)
    ap.add_argument("--depth", type=float, default=30.0)
    ap.add_argument("--bam", nargs="+", help="real pileup rows of these BAMs instead")
    ap.add_argument("--reference", help="their reference FASTA (with --bam)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", help="write the results here as JSON")
    args = ap.parse_args()

    from biometal.kernels.site_stats import site_stats

    from biometal.variants.cohort_report import site_stats_numpy as numpy_path

    theta, rho = 0.001, 0.02
    if args.bam:
        if not args.reference:
            ap.error("--bam needs --reference")
        counts, ref = pileup_table(args.bam, args.reference)
        args.positions = len(ref)
    else:
        counts, ref = make_table(args.positions, args.depth)
    small_c, small_r = make_table(2000, args.depth, seed=2)
    site_stats(small_c, small_r, backend="cpu", threads=1)
    site_stats(small_c, small_r, backend="cpu", threads=2)
    numpy_path(small_c, small_r, theta, rho)

    paths = {
        "numba_1t": lambda: site_stats(counts, ref, theta=theta, rho=rho, backend="cpu", threads=1),
        "numba_2t": lambda: site_stats(counts, ref, theta=theta, rho=rho, backend="cpu", threads=2),
        "numpy": lambda: numpy_path(counts, ref, theta, rho),
    }
    cpu: dict[str, list[float]] = {k: [] for k in paths}
    wall: dict[str, list[float]] = {k: [] for k in paths}
    names = list(paths)
    for rep in range(args.repeats):
        order = names[rep % len(names) :] + names[: rep % len(names)]
        for name in order:
            c0, w0 = time.process_time(), time.perf_counter()
            paths[name]()
            cpu[name].append(time.process_time() - c0)
            wall[name].append(time.perf_counter() - w0)
    n = args.positions
    depth = None if args.bam else args.depth
    out = {"positions": n, "depth": depth, "repeats": args.repeats, "paths": {}}
    for name in names:
        rate = [n / t for t in cpu[name]]
        out["paths"][name] = {
            "cpu_s_median": statistics.median(cpu[name]),
            "cpu_s_min": min(cpu[name]),
            "cpu_s_max": max(cpu[name]),
            "wall_s_median": statistics.median(wall[name]),
            "positions_per_cpu_s_median": statistics.median(rate),
            "positions_per_cpu_s_min": min(rate),
            "positions_per_cpu_s_max": max(rate),
        }
    for name in ("numba_1t", "numba_2t"):
        ratios = [b / a for a, b in zip(cpu[name], cpu["numpy"], strict=True)]
        out["paths"][name]["ratio_vs_numpy_median"] = statistics.median(ratios)
        out["paths"][name]["ratio_vs_numpy_min"] = min(ratios)
        out["paths"][name]["ratio_vs_numpy_max"] = max(ratios)
    for name, r in out["paths"].items():
        line = (
            f"{name:9s} {r['positions_per_cpu_s_median'] / 1e6:8.2f} M positions/CPU-s "
            f"({r['positions_per_cpu_s_min'] / 1e6:.2f}-{r['positions_per_cpu_s_max'] / 1e6:.2f}); "
            f"CPU {r['cpu_s_median']:.2f} s, wall {r['wall_s_median']:.2f} s"
        )
        if "ratio_vs_numpy_median" in r:
            line += (
                f"; x{r['ratio_vs_numpy_median']:.1f} vs numpy "
                f"({r['ratio_vs_numpy_min']:.1f}-{r['ratio_vs_numpy_max']:.1f})"
            )
        print(line)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=2)


if __name__ == "__main__":
    main()
