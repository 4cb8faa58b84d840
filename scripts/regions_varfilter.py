"""Rule regions_varfilter: train the learned variant filter, score it on held-out contigs,
export it (ONNX checked against torch, Core ML)."""

from biometal.ml.varfilter.evaluate import DepthSet, run_varfilter
from biometal.ml.varfilter.train import TrainParams
from biometal.runner import run


def main(smk):
    cfg = smk.params.cfg
    sets = [
        DepthSet(
            label=depth,
            bam=smk.input[f"bam_{depth}"],
            candidates=smk.input[f"candidates_{depth}"],
            caller=smk.input[f"caller_{depth}"],
        )
        for depth, _ in smk.params.depths
    ]
    run_varfilter(
        smk.input.reference,
        smk.input.truth,
        sets,
        smk.output.table,
        smk.output.scores,
        smk.output.model,
        heldout=list(cfg["heldout"]),
        repeats_bed=smk.input.get("repeats"),
        params=TrainParams(**cfg["train"], seed=smk.params.seed),
        threshold=cfg["threshold"],
        width=cfg["width"],
        min_mapq=smk.params.pileup["min_mapq"],
        min_baseq=smk.params.pileup["min_baseq"],
        onnx_out=smk.output.onnx,
        export_report_out=smk.output.report,
        mlpackage_out=smk.output.get("mlpackage"),
        mlpackage_int8_out=smk.output.get("mlpackage_int8"),
    )


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
