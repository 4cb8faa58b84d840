"""Rule cohort_evaluate: per-sample scores, recall by allele count and depth, CPU (without
a truth: the calls counted, not scored)."""

from biometal.runner import run
from biometal.variants.cohort_inputs import parse_interval
from biometal.variants.cohort_report import evaluate_cohort


def main(smk):
    samples = smk.params.samples
    peers = dict(zip(smk.params.peers, smk.input.peers, strict=True))
    gvcf_cpu = list(smk.input.cpu_gvcf)
    cpu = {"single": gvcf_cpu, "joint": [*gvcf_cpu, smk.input.cpu_joint]}
    cpu.update({p: [c] for p, c in zip(smk.params.peers, smk.input.cpu_peers, strict=True)})
    evaluate_cohort(
        smk.input.truth if smk.params.scored else None, smk.input.reference, samples,
        dict(zip(samples, smk.input.gvcfs, strict=True)), smk.input.joint, peers, cpu,
        smk.output.evaluation, smk.output.recall, interval=parse_interval(smk.params.region),
    )  # fmt: skip


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
