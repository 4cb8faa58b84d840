"""Rule assembly_simulate: a genome with repeats (BED table) and its read pairs."""

from biometal.assembly.simulate import simulate_assembly_data
from biometal.runner import run


def main(smk):
    cfg = smk.params.cfg
    simulate_assembly_data(
        smk.output.reference,
        smk.output.repeats,
        smk.output.R1,
        smk.output.R2,
        length=cfg["length"],
        coverage=cfg["coverage"],
        repeat_fraction=cfg["repeat_fraction"],
        seed=smk.params.seed,
    )


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
