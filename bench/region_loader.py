"""Multi-modal region loader: biometal.ml.regions vs a plain pysam + cyvcf2 + pyfaidx loader.

Both produce the same arrays per region (one-hot sequence, coverage, A/C/G/T/N/del counts,
base-quality bins, variant channels, genotype; checked equal on the first regions before
timing). Timing is :func:`biometal.ml.regions.loader_throughput`: both loaders in this
process, interleaved (ours, peer, ours, peer, ...), CPU time (user+sys of the process),
after an untimed warm-up. Shapes (``--shapes``):

- ``tiles1k``: 1,000 windows of 1 kb, one every 2 kb (no two windows share a read);
- ``tiles10k``: 10,000 windows of 1 kb, one every 200 bp over the genome (overlapping:
  ours piles each stretch up once for all the windows on it, the peer per window);
- ``sites``: 128 bp windows centred on every truth VCF site (sparse);
- ``seq``: sequence only (no BAM/VCF), 10,000 windows of 1 kb (GenVarLoader's "sequence"
  figure is per thread of this kind).

Memory: :func:`biometal.ml.regions.loader_memory`, peak RSS of a fresh process streaming
1k / 10k / 50k windows of 1 kb with BAM and VCF.

Data: the default simulated 30x data of the workflow (``snakemake --cores 2
results/align/sim.bam results/data/truth.vcf.gz``). Ratios: peer CPU / ours (> 1: ours
faster), median (min-max) over the repeats. The machine is shared (2 cores, other jobs):
CPU time, not wall time, is the measure; wall time is printed for reference.

    .venv/bin/python bench/region_loader.py --repeats 3
"""

from __future__ import annotations

import argparse
import os

import numpy as np
import pandas as pd

from biometal.ml.regions import (
    iter_region_arrays,
    loader_memory,
    loader_throughput,
    peer_region_arrays,
    region_windows,
)

#: GenVarLoader, per thread after its preprocessing step, as published (quoted in issue 14)
GVL_PUBLISHED = {"sequence": "~500 MB/s", "tracks": "~2 GB/s", "peak memory": "3.5 GB"}


def shapes(ref: str, vcf: str) -> dict[str, tuple[pd.DataFrame, bool]]:
    """name -> (regions, with BAM and VCF)."""
    return {
        "tiles1k": (region_windows(ref, tile=1000, step=2000).iloc[:1000], True),
        "tiles10k": (region_windows(ref, tile=1000, step=200).iloc[:10_000], True),
        "sites": (region_windows(around_vcf=vcf, width=128), True),
        "seq": (region_windows(ref, tile=1000, step=200).iloc[:10_000], False),
    }


def check_equal(ref: str, bam: str, vcf: str, table: pd.DataFrame, n: int = 50) -> None:
    sub = table.iloc[:n]
    ours = iter_region_arrays(ref, sub, bam=bam, vcf=vcf)
    peer = peer_region_arrays(ref, sub, bam=bam, vcf=vcf)
    for a, b in zip(ours, peer, strict=True):
        for key, v in a.items():
            if isinstance(v, np.ndarray):
                assert np.array_equal(v, b[key]), (key, a["chrom"], a["start"])


def fmt(x: pd.Series, spec: str = ".3f") -> str:
    return f"{x.median():{spec}} ({x.min():{spec}}-{x.max():{spec}})"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--reference", default="results/data/reference.fa")
    p.add_argument("--bam", default="results/align/sim.bam")
    p.add_argument("--vcf", default="results/data/truth.vcf.gz")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--shapes", default="tiles1k,tiles10k,sites,seq")
    p.add_argument("--memory", default="1000,10000,50000", help="region counts ('' to skip)")
    p.add_argument("--out", default=None, help="TSV of every run")
    args = p.parse_args()
    ref, bam, vcf = args.reference, args.bam, args.vcf
    all_shapes = shapes(ref, vcf)
    runs = []
    print(f"# {ref}, {bam}, {vcf}; CPU seconds, median (min-max) of {args.repeats}")
    print(
        "| shape | regions | MB produced | ours CPU s | peer CPU s | peer/ours | "
        "ours regions/s | ours MB/s | peer regions/s | peer MB/s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in args.shapes.split(","):
        table, full = all_shapes[name]
        b, v = (bam, vcf) if full else (None, None)
        if full:
            check_equal(ref, bam, vcf, table)
        df = loader_throughput(ref, b, v, table, args.repeats)
        df.insert(0, "shape", name)
        runs.append(df)
        ours = df[df.loader == "biometal"].set_index("repeat")
        peer = df[df.loader != "biometal"].set_index("repeat")
        ratio = peer.cpu_s / ours.cpu_s
        print(
            f"| {name} | {len(table):,} | {ours.bytes.iloc[0] / 1e6:.0f} | {fmt(ours.cpu_s)} "
            f"| {fmt(peer.cpu_s)} | {fmt(ratio, '.1f')} | {fmt(ours.regions_per_s, '.0f')} "
            f"| {fmt(ours.mb_per_s, '.0f')} | {fmt(peer.regions_per_s, '.0f')} "
            f"| {fmt(peer.mb_per_s, '.1f')} |",
            flush=True,
        )
    if args.out:
        pd.concat(runs).to_csv(args.out, sep="\t", index=False)
    print(f"# GenVarLoader, published, per thread after preprocessing: {GVL_PUBLISHED}")
    if args.memory:
        counts = [int(x) for x in args.memory.split(",")]
        mem = loader_memory(ref, bam, vcf, counts, width=1000)
        print("\n| regions | MB produced | RSS before loading (MB) | peak RSS (MB) |")
        print("|---|---|---|---|")
        for r in mem.itertuples():
            print(
                f"| {r.regions:,} | {r.bytes / 1e6:,.0f} | {r.rss_before_mb:.0f} "
                f"| {r.peak_rss_mb:.0f} |"
            )
    print(f"# cpus {os.cpu_count()}; NUMBA_NUM_THREADS={os.environ.get('NUMBA_NUM_THREADS')}")


if __name__ == "__main__":
    main()
