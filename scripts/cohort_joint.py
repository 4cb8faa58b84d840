"""Rule cohort_joint: every sample's gVCF -> one multi-sample VCF (+ the job's CPU time)."""

from biometal.runner import run
from biometal.variants.call import CallParams
from biometal.variants.cohort_report import write_cpu
from biometal.variants.joint import joint_genotype


def main(smk):
    stats = joint_genotype(
        smk.input.gvcfs, smk.input.reference, smk.output.vcf,
        calling=CallParams(**smk.params.calling),
    )  # fmt: skip
    write_cpu(smk.output.cpu, stats)


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
