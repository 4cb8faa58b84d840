"""Rule map_reads: FASTQ -> sorted, indexed BAM with mappy (minimap2 sr preset)."""

from biometal.runner import run
from biometal.variants.mapping import map_reads


def main(smk):
    fastq = list(smk.input.fastq)
    map_reads(
        smk.input.reference,
        fastq[0],
        fastq[1] if len(fastq) > 1 else None,
        smk.output.bam,
        sample=smk.wildcards.sample,
        threads=smk.threads,
        max_insert=smk.params.max_insert,
    )


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
