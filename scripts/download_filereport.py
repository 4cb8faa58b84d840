"""Rule ena_filereport: the study's run metadata from ENA and the runs chosen from it."""

from biometal.io.download import Retry, ena_runs_file
from biometal.runner import run


def main(smk):
    p = smk.params
    ena_runs_file(
        p.project,
        smk.output.report,
        smk.output.runs,
        portal=p.portal,
        fastq_base=p.fastq_base,
        samples=p.samples,
        n_samples=p.n_samples,
        retry=Retry(**p.retry),
    )


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
