"""Rule fm_index: suffix array + FMD-index of the reference, saved once."""

from biometal.align.smem import fm_index_file
from biometal.runner import run


def main(smk):
    fm_index_file(smk.input[0], smk.output[0], seed=smk.params.seed)


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
