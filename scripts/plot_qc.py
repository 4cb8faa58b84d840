"""Rule qc_figure: GC and mean-quality distributions per sample."""

from biometal.qc import plot_qc
from biometal.runner import run


def main(smk):
    plot_qc(list(smk.input), smk.output[0])


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
