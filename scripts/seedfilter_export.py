"""Rule seedfilter_export: ONNX (checked against torch) and Core ML packages (+ INT8)."""

from biometal.ml.seedfilter.export import export_all
from biometal.runner import run


def main(smk):
    export_all(
        smk.input[0],
        smk.output.onnx,
        smk.output.mlpackage,
        smk.output.mlpackage_int8,
        smk.output.report,
        batch_sizes=smk.params.batch_sizes,
        atol=smk.params.atol,
    )


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
