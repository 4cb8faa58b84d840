"""Rule cohort_gvcf_joint: every cohort sample's BAM (simulated or your own) -> its gVCF,
then the joint VCF, in one job (+ the CPU time of each part)."""

from biometal.pileup.params import pileup_params
from biometal.runner import run
from biometal.variants.call import CallParams
from biometal.variants.cohort_report import gvcf_joint_job
from biometal.variants.gvcf import GvcfParams


def main(smk):
    g = smk.params.gvcf
    gvcf_joint_job(
        smk.input.bams, smk.params.samples, smk.input.reference, smk.output.gvcfs,
        smk.output.cpu_gvcf, smk.output.vcf, smk.output.cpu,
        pileup=pileup_params(smk.params.pileup, threads=1, backend=smk.params.backend),
        calling=CallParams(**smk.params.calling),
        gvcf=GvcfParams(gq_bands=tuple(g["gq_bands"]), evidence_min_alt=g["evidence_min_alt"]),
        backend=smk.params.backend,
    )  # fmt: skip


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
