"""Rule assembly_split_metagenome: each metagenome genome's read pairs and sequence."""

from pathlib import Path

from biometal.assembly.experiment import split_metagenome
from biometal.runner import run


def main(smk):
    out_dir = Path(smk.output[0]).parent.parent  # results/assembly/data
    split_metagenome(smk.input.genomes, smk.input.r1, smk.input.r2, smk.input.truth, out_dir)


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
