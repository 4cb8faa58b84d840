"""Rule dnabert_classify_export: encoder and classifier to ONNX / Core ML, export checks."""

from pathlib import Path

from biometal.ml.dnabert.classify import export_models
from biometal.runner import run


def main(smk):
    cfg = smk.params.cfg["export"]
    reports = {
        f"classifier_{i}": r for i, r in zip(smk.params.inits, smk.input.reports, strict=True)
    }
    export_models(
        smk.input.encoder,
        smk.input.classifier,
        reports,
        Path(smk.output.onnx).parent,
        smk.output.table,
        batch_sizes=cfg["batch_sizes"],
        atol=cfg["atol"],
    )


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
