"""Rule rnaseq_figure_pca."""

from biometal.rnaseq.figures import plot_pca
from biometal.runner import run


def main(smk):
    plot_pca(smk.input.pca, smk.input.variance, smk.output[0])


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
