"""Rule rnaseq_de: two-condition differential expression (+ its score against the truth)."""

from biometal.rnaseq.matrices import differential_expression
from biometal.runner import run


def main(smk):
    truth = smk.input.get("truth") or None
    differential_expression(
        smk.input.cpm,
        smk.input.sheet,
        smk.output.de,
        min_cpm=smk.params.min_cpm,
        truth_de=truth,
        truth_out=smk.output.get("accuracy") or None,
    )


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
