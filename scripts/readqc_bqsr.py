"""Rule readqc_bqsr: the BQSR table of the aligned training bases."""

from biometal.readqc.experiment import fit_bqsr
from biometal.runner import run


def main(smk):
    fit_bqsr(smk.input[0], smk.output[0], prior_errors=smk.params.prior_errors)


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
