"""Rule readqc_variants_recalibrate: a sample's reads with recalibrated qualities, mapped."""

from biometal.readqc.experiment import recalibrate_and_map
from biometal.runner import run


def main(smk):
    recalibrate_and_map(
        smk.params.method,
        smk.input.reference,
        list(smk.input.fastq),
        smk.output.bam,
        sample=smk.wildcards.sample,
        model=smk.input.get("model"),
        bam=smk.input.get("bam"),
        known_sites=smk.input.get("known_sites"),
        threads=smk.threads,
        max_insert=smk.params.max_insert,
    )


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
