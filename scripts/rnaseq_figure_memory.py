"""Rule rnaseq_figure_memory."""

from biometal.rnaseq.figures import plot_memory
from biometal.runner import run


def main(smk):
    plot_memory(smk.input.memory, smk.input.throughput, smk.output[0])


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
