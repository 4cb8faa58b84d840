"""Rule rnaseq_figure_correlation."""

from biometal.rnaseq.figures import plot_correlation
from biometal.runner import run


def main(smk):
    plot_correlation(smk.input.correlation, smk.input.clustering, smk.input.pca, smk.output[0])


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
