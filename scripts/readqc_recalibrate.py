"""Rule readqc_recalibrate: the held-out pairs with one method's qualities."""

from biometal.readqc.experiment import recalibrate_pair
from biometal.runner import run


def main(smk):
    recalibrate_pair(
        smk.wildcards.method,
        smk.input.model,
        list(smk.input.fastq),
        [smk.output.r1, smk.output.r2],
        threads=smk.threads,
    )


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
