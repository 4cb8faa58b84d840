"""Rule call_variants: BAM -> SNP and indel calls (bgzipped, tabix-indexed VCF 4.3)."""

from biometal.pileup.params import pileup_params
from biometal.runner import run
from biometal.variants.call import CallParams, call_variants


def main(smk):
    call_variants(
        smk.input.bam,
        smk.input.reference,
        smk.output.vcf,
        sample=smk.wildcards.sample,
        pileup=pileup_params(smk.params.pileup, threads=smk.threads, backend=smk.params.backend),
        calling=CallParams(**smk.params.calling),
    )


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
