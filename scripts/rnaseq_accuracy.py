"""Rule rnaseq_accuracy: every method's TPM against the simulated truth."""

from biometal.rnaseq.accuracy import accuracy_table
from biometal.runner import run


def main(smk):
    runs = [(m, s, q) for (m, s), q in zip(smk.params.runs, smk.input.quants, strict=True)]
    accuracy_table(runs, smk.input.truth, smk.output[0])


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
