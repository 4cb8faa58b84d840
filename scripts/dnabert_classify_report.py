"""Rule dnabert_classify_report: classification tables, figures and the model card."""

from biometal.ml.dnabert.classify import figures, model_card, summarize
from biometal.runner import run


def main(smk):
    i, o = smk.input, smk.output
    summarize(
        dict(zip(smk.params.methods, i.preds, strict=True)),
        i.costs,
        i.classes,
        o.classification,
        o.by_length,
        o.confusion,
        o.cost,
    )
    figures(
        o.classification,
        o.by_length,
        o.confusion,
        o.cost,
        o.fig_confusion,
        o.fig_length,
        o.fig_cost,
        read_length=smk.params.read_length,
    )
    model_card(o.classification, i.export, i.classifier, o.card)


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
