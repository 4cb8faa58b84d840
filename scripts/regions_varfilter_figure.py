"""Rule regions_varfilter_figure: the learned filter's precision / recall figure."""

from biometal.ml.varfilter.figures import plot_varfilter
from biometal.runner import run


def main(smk):
    plot_varfilter(smk.input.table, smk.input.scores, smk.output[0])


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
