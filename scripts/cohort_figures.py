"""Rule cohort_figures: recall by allele count / depth and the kernel's throughput."""

from biometal.runner import run
from biometal.variants.cohort_report import cohort_figures


def main(smk):
    i, o = smk.input, smk.output
    cohort_figures(i.evaluation, i.recall, i.throughput, o.recall, o.throughput)


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
