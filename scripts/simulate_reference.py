"""Rule simulate_reference."""

from biometal.runner import run
from biometal.simulate import simulate_reference, stage_seed


def main(smk):
    cfg = dict(smk.params.cfg)
    cfg["gc_range"] = tuple(cfg["gc_range"])
    simulate_reference(
        smk.output.fasta,
        smk.output.fai,
        repeats_bed_out=smk.output.repeats,
        seed=stage_seed(smk.params.seed, "reference"),
        **cfg,
    )


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
