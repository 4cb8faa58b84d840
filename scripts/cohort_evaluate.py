"""Rule cohort_evaluate: per-sample scores, recall by allele count and depth, CPU."""

from biometal.runner import run
from biometal.variants.cohort_report import evaluate_cohort


def main(smk):
    samples = smk.params.samples
    peers = dict(zip(smk.params.peers, smk.input.peers, strict=True))
    gvcf_cpu = list(smk.input.cpu_gvcf)
    cpu = {"single": gvcf_cpu, "joint": [*gvcf_cpu, smk.input.cpu_joint]}
    cpu.update({p: [c] for p, c in zip(smk.params.peers, smk.input.cpu_peers, strict=True)})
    evaluate_cohort(
        smk.input.truth, smk.input.reference, samples,
        dict(zip(samples, smk.input.gvcfs, strict=True)), smk.input.joint, peers, cpu,
        smk.output.evaluation, smk.output.recall,
    )  # fmt: skip


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
