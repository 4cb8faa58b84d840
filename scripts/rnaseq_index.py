"""Rule rnaseq_index: k-mer index of the transcriptome (+ its stats)."""

from biometal.rnaseq.index import index_transcriptome
from biometal.runner import run


def main(smk):
    index_transcriptome(smk.input[0], smk.output.index, smk.output.stats, k=smk.params.k)


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
