"""Rule seedfilter_features: gradient boosting and logistic regression on seed features."""

from biometal.ml.seedfilter.train import train_feature_models, train_params
from biometal.runner import run


def main(smk):
    train_feature_models(
        smk.input[0],
        smk.output.models,
        smk.output.metrics,
        smk.output.predictions,
        train_params(smk.params.train, smk.params.seed),
    )


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
