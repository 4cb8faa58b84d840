"""Rule rnaseq_figure_cost."""

from biometal.rnaseq.figures import plot_cost
from biometal.runner import run


def main(smk):
    plot_cost(smk.input.cost, smk.input.index_cost, smk.output[0])


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
