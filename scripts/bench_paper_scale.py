"""Rule bench_paper_scale: figures of the paper-scale benchmark (quantification cost against
read pairs, biometal vs kallisto; the count-matrix step per implementation)."""

from biometal.rnaseq.scaling_figures import paper_scale_figures
from biometal.runner import run


def main(smk):
    paper_scale_figures(
        smk.input.runs, smk.input.fit, smk.input.matrix, smk.output.scaling, smk.output.matrix
    )


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
