"""Rule readqc_covariates: aligned training bases -> covariates and mismatch labels (.npz)."""

from biometal.readqc.experiment import training_arrays
from biometal.runner import run


def main(smk):
    training_arrays(
        smk.input.bam,
        smk.input.reference,
        smk.output[0],
        known_sites=smk.input.known_sites,
        max_bases=smk.params.max_bases or None,
    )


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
