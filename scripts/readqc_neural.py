"""Rule readqc_neural: the neural base-quality model, trained and exported as ONNX."""

from biometal.readqc.experiment import train_neural
from biometal.runner import run
from biometal.simulate import stage_seed


def main(smk):
    cfg = smk.params.cfg
    train_neural(
        smk.input[0],
        smk.output.model,
        smk.output.history,
        max_bases=cfg["max_bases"],
        epochs=cfg["epochs"],
        hidden=cfg["hidden"],
        threads=smk.threads,
        seed=stage_seed(smk.params.seed, "readqc_neural") % 2**31,
    )


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
