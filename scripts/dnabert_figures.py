"""Rule dnabert_figures: loss, throughput, memory and standard vs quality-aware figures."""

from biometal.ml.dnabert.figures import plot_dnabert
from biometal.runner import run


def main(smk):
    plot_dnabert(
        list(smk.input.logs),
        smk.input.evaluation,
        smk.input.thresholds,
        {name: smk.output[name] for name in ("loss", "throughput", "memory", "comparison")},
        quality_threshold=smk.params.quality_threshold,
    )


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
