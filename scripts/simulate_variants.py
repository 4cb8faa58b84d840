"""Rule simulate_variants."""

from biometal.runner import run
from biometal.simulate import simulate_variants, stage_seed


def main(smk):
    simulate_variants(
        smk.input[0],
        smk.output.vcf,
        smk.output.haplotypes,
        seed=stage_seed(smk.params.seed, "variants"),
        **smk.params.cfg,
    )


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
