"""Rule cohort_map: one cohort sample's pairs -> sorted, indexed BAM (mappy sr)."""

from biometal.runner import run
from biometal.variants.mapping import map_reads


def main(smk):
    fq1, fq2 = smk.input.fastq
    map_reads(smk.input.reference, fq1, fq2, smk.output.bam, sample=smk.wildcards.sample, threads=1)


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
