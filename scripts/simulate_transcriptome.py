"""Rule simulate_transcriptome."""

from biometal.runner import run
from biometal.simulate import simulate_transcriptome, stage_seed


def main(smk):
    simulate_transcriptome(
        smk.output.gtf,
        smk.output.transcripts,
        smk.output.genome,
        smk.output.tx2gene,
        seed=stage_seed(smk.params.seed, "transcriptome"),
        **smk.params.cfg,
    )


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
