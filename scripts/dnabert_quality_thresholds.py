"""Rule dnabert_quality_thresholds: fraction of tokens quality-aware tokenization changes."""

from biometal.ml.quality import write_tokens_affected
from biometal.runner import run


def main(smk):
    cfg = smk.params.cfg
    write_tokens_affected(
        list(smk.params.sources),
        cfg["thresholds"],
        smk.output[0],
        k=cfg["k"],
        stride=cfg["stride"],
        max_length=cfg["max_length"],
        max_reads=cfg["threshold_reads"],
    )


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
