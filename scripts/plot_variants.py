"""Rule variants_figure: precision / recall / F1 and wall time per caller."""

from biometal.runner import run
from biometal.variants.figures import plot_precision_recall


def main(smk):
    plot_precision_recall(smk.input[0], smk.output[0])


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
