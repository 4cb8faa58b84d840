"""Rule dnabert_vocab: the k-mer tokenizer's vocab.txt (DNABERT layout)."""

from biometal.ml.tokenizer import KmerTokenizer
from biometal.runner import run


def main(smk):
    KmerTokenizer(smk.params.k).save_vocabulary(smk.output[0])


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
