"""Rule regions_intervals: interval operations, biometal vs bedtools and bioframe (CPU time)."""

from biometal.regions.bench import write_interval_bench
from biometal.runner import run


def main(smk):
    cfg = smk.params.cfg
    write_interval_bench(smk.output[0], cfg["n"], cfg["repeats"], cfg["operations"])


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
