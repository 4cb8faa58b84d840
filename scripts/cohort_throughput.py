"""Rule cohort_throughput: the site_stats kernel's positions/s vs the numpy path."""

from biometal.runner import run
from biometal.variants.cohort_inputs import parse_interval
from biometal.variants.cohort_report import site_stats_throughput


def main(smk):
    site_stats_throughput(
        smk.input.bam, smk.input.reference, smk.output[0],
        theta=smk.params.calling["theta"], rho=smk.params.calling["overdispersion"],
        repeats=smk.params.repeats, covered=smk.params.covered,
        interval=parse_interval(smk.params.region),
    )  # fmt: skip


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
