"""Rule readqc_simulate: the read-QC data (reads with realistic errors and their truth)."""

from pathlib import Path

from biometal.readqc.experiment import simulate_readqc
from biometal.runner import run
from biometal.simulate import stage_seed


def main(smk):
    cfg = smk.params.cfg
    simulate_readqc(
        Path(smk.output.ref_fa).parent,
        seed=stage_seed(smk.params.seed, "readqc"),
        ref_length=cfg["ref_length"],
        train_coverage=cfg["train_coverage"],
        test_coverage=cfg["test_coverage"],
        errors=cfg["errors"],
        compresslevel=smk.params.compresslevel,
    )


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
