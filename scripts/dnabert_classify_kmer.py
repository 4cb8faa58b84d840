"""Rule dnabert_classify_kmer: the exact k-mer classifier on every test set."""

from pathlib import Path

from biometal.ml.dnabert.classify import run_kmer
from biometal.runner import run


def main(smk):
    cfg = smk.params.cfg
    data_dir = Path(smk.input.data[0]).parent
    run_kmer(
        smk.input.genomes,
        data_dir,
        smk.output.pred,
        smk.output.cost,
        k=cfg["kmer"]["k"],
        lengths=cfg["lengths"],
        min_hits=cfg["kmer"]["min_hits"],
    )


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
