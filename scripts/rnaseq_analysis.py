"""Rule rnaseq_analysis: PCA and hierarchical clustering of the samples."""

from biometal.rnaseq.matrices import sample_analysis
from biometal.runner import run


def main(smk):
    sample_analysis(
        smk.input.cpm,
        smk.input.sheet,
        smk.output.pca,
        smk.output.variance,
        smk.output.correlation,
        smk.output.clustering,
        min_cpm=smk.params.min_cpm,
    )


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
