"""Rule rnaseq_figure_accuracy."""

from biometal.rnaseq.figures import plot_accuracy
from biometal.runner import run


def main(smk):
    runs = [(m, s, q) for (m, s), q in zip(smk.params.runs, smk.input.quants, strict=True)]
    plot_accuracy(smk.input.accuracy, runs, smk.input.truth, smk.output[0])


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
