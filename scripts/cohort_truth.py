"""Rule cohort_truth: your truth VCF cut to the cohort's samples and region."""

from biometal.runner import run
from biometal.variants.cohort_inputs import parse_interval, subset_truth


def main(smk):
    subset_truth(
        smk.input[0], smk.output.truth, smk.params.samples, parse_interval(smk.params.region)
    )


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
