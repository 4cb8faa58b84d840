"""Rule cohort_simulate: the cohort's reference region, multi-sample truth and reads."""

from pathlib import Path

from biometal.runner import run
from biometal.simulate.cohort import simulate_cohort


def main(smk):
    cfg = smk.params.cfg
    simulate_cohort(
        smk.input.reference,
        smk.output.region,
        smk.output.truth,
        smk.params.samples,
        Path(smk.output.region).parent,
        region_length=cfg["region_length"],
        snp_rate=cfg["snp_rate"],
        indel_rate=cfg["indel_rate"],
        pop_haplotypes=cfg["pop_haplotypes"],
        coverage=cfg["coverage"],
        seed=smk.params.seed,
    )


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
