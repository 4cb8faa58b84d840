"""Rule seedfilter_train: the seed-viability CNN, its threshold and test metrics."""

from biometal.ml.seedfilter.train import train_params, train_seedfilter
from biometal.runner import run


def main(smk):
    train_seedfilter(
        smk.input[0],
        smk.output.model,
        smk.output.metrics,
        smk.output.predictions,
        smk.output.history,
        train_params({**smk.params.train, "threads": smk.threads}, smk.params.seed),
    )


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
