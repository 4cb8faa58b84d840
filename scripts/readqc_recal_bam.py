"""Rule readqc_recal_bam: the training pairs with one method's qualities, mapped again."""

from biometal.readqc.experiment import recalibrate_and_map
from biometal.runner import run


def main(smk):
    recalibrate_and_map(
        smk.wildcards.method,
        smk.input.reference,
        list(smk.input.fastq),
        smk.output.bam,
        sample="train",
        model=smk.input.model,
        threads=smk.threads,
    )


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
