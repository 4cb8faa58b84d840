"""Rule simulate_reads."""

from biometal.runner import run
from biometal.simulate import ErrorModel, simulate_reads, stage_seed


def main(smk):
    cfg = {k: v for k, v in smk.params.cfg.items() if k != "sample"}
    simulate_reads(
        smk.input.reference,
        smk.input.haplotypes,
        smk.input.vcf,
        smk.output.r1,
        smk.output.r2,
        smk.output.truth,
        seed=stage_seed(smk.params.seed, "reads"),
        compresslevel=smk.params.compresslevel,
        errors=ErrorModel.from_config(smk.params.errors),
        **cfg,
    )


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
