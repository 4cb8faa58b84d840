"""Rule cohort_reference: your own (or the ENA) reference as a plain, indexed FASTA."""

from biometal.runner import run
from biometal.variants.cohort_inputs import parse_interval, prepare_reference


def main(smk):
    prepare_reference(smk.input[0], smk.output.region, parse_interval(smk.params.region))


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
