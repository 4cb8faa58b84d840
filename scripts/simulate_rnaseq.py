"""Rule simulate_rnaseq: every RNA-seq sample in one pass (shared expression model)."""

from pathlib import Path

from biometal.runner import run
from biometal.simulate import ErrorModel, simulate_rnaseq, stage_seed


def main(smk):
    simulate_rnaseq(
        smk.input.transcripts,
        smk.input.gtf,
        Path(smk.output.sheet).parent,
        smk.output.sheet,
        smk.output.counts,
        smk.output.tpm,
        smk.output.de,
        sample_names=smk.params.samples,
        seed=stage_seed(smk.params.seed, "rnaseq"),
        compresslevel=smk.params.compresslevel,
        errors=ErrorModel.from_config(smk.params.errors),
        **smk.params.cfg,
    )


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
