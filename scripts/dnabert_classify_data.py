"""Rule dnabert_classify_data: held-out and diverged-strain test reads with their labels."""

from pathlib import Path

from biometal.ml.dnabert.classify import prepare_data
from biometal.runner import run


def main(smk):
    cfg = smk.params.cfg
    prepare_data(
        smk.input.genomes,
        smk.input.r2,
        smk.input.truth,
        Path(smk.output.labels).parent,
        n_train=cfg["n_train"],
        n_test=cfg["n_test"],
        divergences=cfg["divergences"],
        reads_per_genome=cfg["reads_per_genome"],
        read_length=smk.params.read_length,
        seed=smk.params.seed,
    )


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
