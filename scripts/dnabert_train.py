"""Rule dnabert_train: MLM training of one tokenization mode on streamed reads."""

from biometal.ml.dnabert.train import train_from_config
from biometal.runner import run


def main(smk):
    cfg = dict(smk.params.cfg)
    cfg["train"] = {**cfg["train"], "threads": smk.threads}
    train_from_config(
        cfg,
        smk.wildcards.dnabert_mode,
        list(smk.params.sources),
        smk.output.model,
        smk.output.log,
        seed=smk.params.seed,
    )


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
