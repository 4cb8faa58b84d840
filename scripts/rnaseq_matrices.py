"""Rule rnaseq_matrices: gene-level counts, CPM, TPM and log2 CPM (genes x samples)."""

from biometal.rnaseq.matrices import gene_matrices
from biometal.runner import run


def main(smk):
    gene_matrices(
        dict(zip(smk.params.samples, smk.input.quants, strict=True)),
        smk.input.gtf,
        smk.output.counts,
        smk.output.cpm,
        smk.output.tpm,
        smk.output.log2cpm,
    )


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
