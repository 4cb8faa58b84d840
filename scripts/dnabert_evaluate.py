"""Rule dnabert_evaluate: masked-token accuracy of every model on held-out reads."""

from biometal.ml.dnabert.train import evaluate_from_config
from biometal.runner import run


def main(smk):
    models = dict(zip(smk.params.modes, smk.input.models, strict=True))
    evaluate_from_config(
        smk.params.cfg,
        models,
        list(smk.params.sources),
        smk.output[0],
        seed=smk.params.seed,
        threads=smk.threads,
    )


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
