"""Rule pileup_figure: pileup wall time by method and backend against samtools."""

from biometal.runner import run
from biometal.variants.figures import plot_pileup_throughput


def main(smk):
    plot_pileup_throughput(smk.input[0], smk.output[0])


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
