"""Rule readqc_trim_biometal: adapter trimming of read pairs (mate overlap + adapters)."""

from biometal.readqc.adapters import trim_pairs
from biometal.runner import run


def main(smk):
    trim_pairs(smk.input.r1, smk.input.r2, smk.output.r1, smk.output.r2, threads=smk.threads)


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
