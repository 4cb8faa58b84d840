"""Rule cohort_subset: one sample's BAM cut to cohort.region."""

from biometal.runner import run
from biometal.variants.cohort_inputs import parse_interval, subset_bam


def main(smk):
    i = smk.input
    subset_bam(i.bam, i.reference, smk.output.bam, parse_interval(smk.params.region))


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
