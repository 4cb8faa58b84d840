"""Regions target (``case_study_regions``): paths of the interval benchmark against bedtools,
the multi-modal region loader's throughput and memory, and the learned variant filter (the
variant case study's first sample, at full depth and down-sampled, scored against its truth).
"""

from __future__ import annotations

from dataclasses import dataclass

from biometal.workflow.data import SimData
from biometal.workflow.variants import VariantsPlan

RG = "results/regions"
FIGURES = ("intervals", "loader", "varfilter")


@dataclass(frozen=True)
class RegionsPlan:
    """Inputs and outputs of case_study_regions. ``sample``: the variant case study's sample
    the filter is trained on ("" when there is no truth VCF: no filter); ``depths``: (label,
    fraction of the reads kept) per depth; ``repeats``: the reference's repeat BED ("" for
    your own reference: the repeat stratum is then homopolymer context)."""

    reference: str
    sample: str
    bam: str
    truth: str
    repeats: str
    depths: tuple[tuple[str, float], ...]
    coreml: bool
    #: the BAM is the user's (its index is theirs to make: not an input of the jobs)
    own_bam: bool = False

    @property
    def bai(self) -> list[str]:
        """The index of the sample's BAM when the workflow makes it (else none: a user's BAM
        without one fails in the job with a one-line error)."""
        return [] if self.own_bam else [f"{self.bam}.bai"]

    @property
    def varfilter(self) -> bool:
        return bool(self.sample)

    def fraction(self, depth: str) -> float:
        return dict(self.depths)[depth]

    def depth_bam(self, depth: str) -> str:
        """The sample's BAM at ``depth``: its own BAM (fraction 1) or the down-sampled one."""
        if self.fraction(depth) >= 1.0:
            return self.bam
        return f"{RG}/bam/{self.sample}.{depth}.bam"

    def depth_inputs(self, wildcards) -> dict[str, str]:
        """Input function of regions_calls (use with unpack): BAM, index, reference."""
        bam = self.depth_bam(wildcards.depth)
        inputs = {"bam": bam, "reference": self.reference}
        if bam != self.bam or not self.own_bam:
            inputs["bai"] = f"{bam}.bai"
        return inputs

    def calls(self, depth: str, mode: str) -> str:
        """VCF of the caller at ``depth``: mode ``candidates`` (low thresholds) or
        ``caller`` (the variant case study's thresholds)."""
        return f"{RG}/calls/{self.sample}.{depth}.{mode}.vcf.gz"

    @property
    def varfilter_inputs(self) -> dict:
        """Inputs of regions_varfilter."""
        inputs: dict = {"reference": self.reference, "truth": self.truth}
        for depth, _ in self.depths:
            inputs[f"bam_{depth}"] = self.depth_bam(depth)
            inputs[f"candidates_{depth}"] = self.calls(depth, "candidates")
            inputs[f"caller_{depth}"] = self.calls(depth, "caller")
        if self.repeats:
            inputs["repeats"] = self.repeats
        return inputs

    model = f"{RG}/varfilter/varfilter.pt"
    onnx = f"{RG}/varfilter/varfilter.onnx"
    mlpackage = f"{RG}/varfilter/varfilter.mlpackage"
    mlpackage_int8 = f"{RG}/varfilter/varfilter_int8.mlpackage"
    export_report = f"{RG}/varfilter/export.json"
    table = f"{RG}/varfilter.tsv"
    scores = f"{RG}/varfilter_scores.tsv"
    intervals = f"{RG}/intervals.tsv"
    loader = f"{RG}/loader.tsv"

    @property
    def coreml_outputs(self) -> dict[str, str]:
        """The Core ML packages of the filter (directories; none unless ``coreml``)."""
        if not self.coreml:
            return {}
        return {"mlpackage": self.mlpackage, "mlpackage_int8": self.mlpackage_int8}

    @property
    def loader_inputs(self) -> dict[str, str]:
        """Inputs of regions_loader: the reference, the sample's BAM, the truth VCF."""
        inputs = {"reference": self.reference, "bam": self.bam}
        if not self.own_bam:
            inputs["bai"] = f"{self.bam}.bai"
        if self.truth:
            inputs["vcf"] = self.truth
        return inputs

    @property
    def figures(self) -> dict[str, str]:
        names = FIGURES if self.varfilter else FIGURES[:2]
        return {f: f"results/figures/regions_{f}.png" for f in names}

    @property
    def outputs(self) -> list[str]:
        out = [self.intervals, self.loader]
        if self.varfilter:
            out += [self.table, self.scores, self.model, self.onnx, self.export_report]
            out += list(self.coreml_outputs.values())
        return out + list(self.figures.values())


def regions_plan(config: dict, sim: SimData, variants: VariantsPlan) -> RegionsPlan:
    """The case_study_regions plan of a validated config (the variant case study's inputs)."""
    cfg = config["regions"]
    first = variants.names[0]
    sample = first if variants.truth else ""
    simulated = variants.reference == sim.reference
    coverage = config["simulate"]["reads"]["coverage"] if simulated else None
    depths = []
    for f in cfg["varfilter"]["fractions"]:
        label = f"{round(coverage * f):g}x" if coverage else f"f{f:g}"
        if label not in dict(depths):
            depths.append((label, float(f)))
    return RegionsPlan(
        reference=variants.reference,
        sample=sample,
        bam=variants.bam(first),
        truth=variants.truth or "",
        repeats=f"{sim.root}/reference.repeats.bed" if simulated else "",
        depths=tuple(depths),
        coreml=bool(cfg["varfilter"]["coreml"]),
        own_bam=bool(variants.samples[first]["bam"]),
    )
