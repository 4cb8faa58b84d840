"""Rule dnabert_classify_finetune: fine-tune one classifier, export it, classify the tests."""

from pathlib import Path

from biometal.ml.dnabert.classify import finetune_classifier, run_dnabert
from biometal.runner import run


def main(smk):
    cfg = smk.params.cfg
    ft = cfg["finetune"]
    finetune_classifier(
        smk.wildcards.init,
        smk.input.r1,
        smk.input.truth,
        smk.input.genomes,
        smk.output.model,
        smk.output.log,
        pretrained=smk.input.pretrained,
        n_train=cfg["n_train"],
        steps=ft["steps"],
        batch_size=ft["batch_size"],
        lr=ft["lr"],
        warmup=ft["warmup"],
        dropout=ft["dropout"],
        reverse_complement=ft["reverse_complement"],
        mutation_rate=ft["mutation_rate"],
        token_mask=ft["token_mask"],
        freeze_encoder=ft["freeze_encoder"],
        seed=smk.params.seed,
    )
    run_dnabert(
        smk.output.model,
        Path(smk.input.data[0]).parent,
        smk.output.onnx,
        smk.output.pred,
        smk.output.cost,
        smk.output.report,
        lengths=cfg["lengths"],
        batch_size=max(cfg["export"]["batch_sizes"]),
        atol=cfg["export"]["atol"],
    )


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
