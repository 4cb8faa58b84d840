"""Rule cohort_gvcf: one sample's BAM -> gVCF (+ the job's CPU time)."""

from biometal.pileup.params import pileup_params
from biometal.runner import run
from biometal.variants.call import CallParams
from biometal.variants.cohort_report import write_cpu
from biometal.variants.gvcf import GvcfParams, write_gvcf


def main(smk):
    g = smk.params.gvcf
    stats = write_gvcf(
        smk.input.bam,
        smk.input.reference,
        smk.output.gvcf,
        sample=smk.wildcards.sample,
        pileup=pileup_params(smk.params.pileup, threads=1, backend=smk.params.backend),
        calling=CallParams(**smk.params.calling),
        gvcf=GvcfParams(gq_bands=tuple(g["gq_bands"]), evidence_min_alt=g["evidence_min_alt"]),
        backend=smk.params.backend,
        threads=1,
    )
    write_cpu(smk.output.cpu, stats)


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
