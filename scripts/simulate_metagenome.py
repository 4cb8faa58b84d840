"""Rule simulate_metagenome."""

from biometal.runner import run
from biometal.simulate import ErrorModel, simulate_metagenome, stage_seed


def main(smk):
    simulate_metagenome(
        smk.output.genomes,
        smk.output.r1,
        smk.output.r2,
        smk.output.truth,
        smk.output.abundance,
        seed=stage_seed(smk.params.seed, "metagenome"),
        compresslevel=smk.params.compresslevel,
        errors=ErrorModel.from_config(smk.params.errors),
        **smk.params.cfg,
    )


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
