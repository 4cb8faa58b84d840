"""Rule regions_figures: interval benchmark and region loader figures."""

from biometal.regions.figures import plot_intervals, plot_loader
from biometal.runner import run


def main(smk):
    plot_intervals(smk.input.intervals, smk.output.intervals)
    plot_loader(smk.input.loader, smk.output.loader)


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
