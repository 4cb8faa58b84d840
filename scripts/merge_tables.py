"""Concatenate per-sample TSV tables with identical columns into one table."""

from biometal.io.tables import merge_tables
from biometal.runner import run


def main(smk):
    merge_tables(list(smk.input), smk.output[0])


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
