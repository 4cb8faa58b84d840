"""Rule seedfilter_figures: ROC, PR, latency and stage-time figures; the metrics table."""

from biometal.ml.seedfilter.figures import seedfilter_figures
from biometal.runner import run


def main(smk):
    seedfilter_figures(dict(smk.input.items()), dict(smk.output.items()))


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
