"""Rule readqc_figures: calibration, masking, trimming and variant-call figures."""

from biometal.readqc.figures import readqc_figures
from biometal.runner import run


def main(smk):
    readqc_figures(dict(smk.input.items()), dict(smk.output.items()))


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
