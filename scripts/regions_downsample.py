"""Rule regions_downsample: the sample's BAM with a fraction of its read pairs, indexed."""

from biometal.ml.varfilter.data import downsample_bam
from biometal.runner import run


def main(smk):
    downsample_bam(smk.input.bam, smk.output.bam, smk.params.fraction, seed=smk.params.seed)


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
