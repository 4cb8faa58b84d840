"""Rule cohort_map: one cohort sample's pairs (or single reads) -> sorted, indexed BAM
(mappy sr)."""

from biometal.runner import run
from biometal.variants.mapping import map_reads


def main(smk):
    fq = list(smk.input.fastq)
    fq2 = fq[1] if len(fq) > 1 else None
    map_reads(
        smk.input.reference, fq[0], fq2, smk.output.bam, sample=smk.wildcards.sample, threads=1
    )


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
