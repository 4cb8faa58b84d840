"""DNABERT read-classification target (``dnabert_classify``): paths of the test data
(held-out metagenome reads, reads of diverged strains), the k-mer baseline, the two
fine-tuned classifiers (pretrained encoder / from scratch), the exported models, tables,
figures and model card."""

from __future__ import annotations

from dataclasses import dataclass

from biometal.workflow.data import SimData

DC = "results/dnabert/classify"
#: the DNABERT case study's MLM-pretrained encoder (rules/dnabert.smk writes it)
PRETRAINED = "results/dnabert/models/standard.pt"
INITS = ("pretrained", "scratch")
FIGURES = ("confusion", "length", "cost")
TABLES = ("classification", "by_length", "confusion", "cost", "export")


def set_name(divergence: float) -> str:
    """The test set of reads from strains ``divergence`` away: ``diverged_5pct`` for 0.05."""
    return f"diverged_{divergence * 100:g}pct"


@dataclass(frozen=True)
class DnabertClassifyPlan:
    """``meta``: the simulated metagenome (genomes, mates, truth); ``sets``: test sets."""

    meta: dict[str, str]
    sets: list[str]

    inits = list(INITS)
    pretrained = PRETRAINED

    @property
    def data(self) -> dict[str, str]:
        files = {s: f"{DC}/data/{s}.fq.gz" for s in self.sets}
        return {**files, "labels": f"{DC}/data/labels.tsv", "classes": f"{DC}/data/classes.txt"}

    @staticmethod
    def method(init: str) -> str:
        return f"dnabert_{init}"

    @staticmethod
    def pred(method: str) -> str:
        return f"{DC}/pred/{method}.tsv.gz"

    @staticmethod
    def cost(method: str) -> str:
        return f"{DC}/cost/{method}.tsv"

    @staticmethod
    def classifier(init: str, ext: str = "pt") -> str:
        return f"{DC}/models/classifier_{init}.{ext}"

    @staticmethod
    def classifier_report(init: str) -> str:
        return f"{DC}/export/classifier_{init}.json"

    @property
    def methods(self) -> list[str]:
        return ["kmer", *(self.method(i) for i in INITS)]

    @property
    def tables(self) -> dict[str, str]:
        return {t: f"{DC}/{t}.tsv" for t in TABLES}

    @property
    def figures(self) -> dict[str, str]:
        return {f: f"results/figures/dnabert_classify_{f}.png" for f in FIGURES}

    @property
    def mlpackages(self) -> dict[str, str]:
        m = f"{DC}/models"
        return {
            "encoder": f"{m}/encoder.mlpackage",
            "encoder_int8": f"{m}/encoder_int8.mlpackage",
            "classifier": f"{m}/classifier_pretrained.mlpackage",
            "classifier_int8": f"{m}/classifier_pretrained_int8.mlpackage",
        }

    @property
    def card(self) -> str:
        return f"{DC}/MODEL_CARD.md"

    @property
    def outputs(self) -> list[str]:
        return [
            *self.tables.values(),
            *self.figures.values(),
            f"{DC}/models/encoder.onnx",
            *(self.classifier(i, "onnx") for i in INITS),
            *self.mlpackages.values(),
            self.card,
        ]


def dnabert_classify_plan(config: dict, sim: SimData) -> DnabertClassifyPlan:
    """The dnabert_classify target's plan of a validated config."""
    cfg = config["dnabert_classify"]
    return DnabertClassifyPlan(
        meta=dict(sim.meta), sets=["heldout", *(set_name(d) for d in cfg["divergences"])]
    )
