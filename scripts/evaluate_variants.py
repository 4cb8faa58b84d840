"""Rule evaluate_variants: precision / recall / F1 of every caller against the truth."""

import pandas as pd

from biometal.runner import run
from biometal.variants.report import evaluate_callers, write_eval


def main(smk):
    samples = list(dict.fromkeys(s for s, _, _, _ in smk.params.sets))
    tables = []
    for sample in samples:
        sets = [(c, v, b) for s, c, v, b in smk.params.sets if s == sample]
        tables.append(
            evaluate_callers(
                sample,
                smk.input.truth,
                smk.input.reference,
                {c: v for c, v, _ in sets},
                {c: [b] for c, _, b in sets},
            )
        )
    write_eval(pd.concat(tables, ignore_index=True), smk.output[0])


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
