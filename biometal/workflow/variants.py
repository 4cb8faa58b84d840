"""Variant-calling case study inputs: the simulated reference and DNA sample, or the user's own
(``variants.reference`` + ``variants.samples``: FASTQ to map or BAMs aligned already)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from biometal.errors import ConfigError
from biometal.variants.samples import read_variant_sheet
from biometal.workflow.data import SimData
from biometal.workflow.peers import PeerFinder
from biometal.workflow.readqc import NEURAL_MODEL

PILEUP = "results/pileup"
VAR = "results/variants"


@dataclass(frozen=True)
class VariantsPlan:
    reference: str
    # {sample: {"fastq": [fq1, fq2?], "bam": user's BAM or ""}}
    samples: dict[str, dict]
    truth: str | None
    peers: list[str]
    bench: bool  # the pileup benchmark against samtools mpileup runs
    # none | bqsr | neural: call on reads whose qualities were recalibrated (variants.recalibrate)
    recalibrate: str = "none"

    @property
    def names(self) -> list[str]:
        return list(self.samples)

    def sample_fastq(self, wildcards) -> list[str]:
        """Input function of map_reads: the sample's FASTQ files."""
        return self.samples[wildcards.sample]["fastq"]

    @staticmethod
    def map_mem_mb(wildcards, input) -> int:
        """Resource function of map_reads: 322 MB peak RSS measured on the 2 Mb default
        (benchmarks/align/sim.tsv of a `make run`), plus room for minimap2's short-read index,
        taken as 3 bytes per byte of the reference FASTA (minimap2's own figure for a human
        index is ~2.5 bytes per base; not measured here)."""
        return int(1000 + 3 * Path(input.reference).stat().st_size / 1e6)

    def bam(self, sample: str) -> str:
        """The BAM of a sample: the user's, the one map_reads writes, or (variants.recalibrate)
        the one readqc_variants_recalibrate writes (the reads with recalibrated qualities)."""
        if self.samples[sample]["bam"]:
            return self.samples[sample]["bam"]
        if self.recalibrate != "none":
            return f"results/align/recalibrated/{sample}.bam"
        return f"results/align/{sample}.bam"

    def recal_inputs(self, wildcards) -> dict:
        """Input function of readqc_variants_recalibrate (use with unpack): the sample's
        FASTQ, its BAM as mapped (BQSR fits its table there, outside the truth variants when
        there is a truth VCF) or the neural model."""
        s = wildcards.sample
        inputs = {"reference": self.reference, "fastq": self.samples[s]["fastq"]}
        if self.recalibrate == "neural":
            inputs["model"] = NEURAL_MODEL
        else:
            inputs.update(bam=f"results/align/{s}.bam", bai=f"results/align/{s}.bam.bai")
            if self.truth:
                inputs["known_sites"] = self.truth
        return inputs

    def sample_inputs(self, sample: str) -> dict[str, str]:
        """Inputs of a job reading a sample's BAM (its index only when the workflow makes it:
        a user's BAM without one fails in the job with a one-line error)."""
        inputs = {"bam": self.bam(sample), "reference": self.reference}
        if not self.samples[sample]["bam"]:
            inputs["bai"] = self.bam(sample) + ".bai"
        return inputs

    def bam_inputs(self, wildcards) -> dict[str, str]:
        """Input function (use with unpack): the wildcard sample's BAM, index, reference."""
        return self.sample_inputs(wildcards.sample)

    def bench_inputs(self, wildcards) -> dict[str, str]:
        """Input function of pileup_bench: the first sample's BAM."""
        return self.sample_inputs(self.names[0])

    @property
    def callers(self) -> list[str]:
        return ["biometal", *self.peers]

    @staticmethod
    def vcf(caller: str, sample: str) -> str:
        """Where ``caller`` writes the calls of ``sample``."""
        if caller == "biometal":
            return f"{VAR}/{sample}.vcf.gz"
        return f"{VAR}/peers/{caller}/{sample}.vcf.gz"

    @property
    def eval_sets(self) -> list[tuple[str, str, str, str]]:
        """(sample, caller, VCF, benchmark file) of every call set evaluate_variants scores."""
        return [
            (s, c, self.vcf(c, s), f"benchmarks/variants/{c}/{s}.tsv")
            for s in self.names
            for c in self.callers
        ]

    @property
    def pileup_outputs(self) -> list[str]:
        out = [f"{PILEUP}/{s}.tsv.gz" for s in self.names]
        if self.bench:
            out += [f"{PILEUP}/throughput.tsv", "results/figures/variants_pileup_throughput.png"]
        return out

    @property
    def outputs(self) -> list[str]:
        out = [
            *(self.vcf(c, s) for c in self.callers for s in self.names),
            *(self.vcf("biometal", s) + ".tbi" for s in self.names),
            *self.pileup_outputs,
        ]
        if self.truth:
            out += [f"{VAR}/eval.tsv", "results/figures/variants_precision_recall.png"]
        return out


def variants_plan(config: dict, sim: SimData, peers: PeerFinder) -> VariantsPlan:
    """The variant-calling case study's inputs for a validated config."""
    cfg = config["variants"]
    bench = cfg["bench"]["repeats"] > 0 and bool(peers.enabled(["samtools"], "pileup benchmark"))
    common = dict(
        peers=peers.enabled(cfg["peers"], "variant-calling"),
        bench=bench,
        recalibrate=cfg["recalibrate"],
    )
    own = [key for key in ("reference", "samples") if cfg[key]]
    if not own:
        if cfg["truth"]:
            raise ConfigError("config variants.truth is for your own samples (variants.samples)")
        sim_sample = {"fastq": [sim.reads["R1"], sim.reads["R2"]], "bam": ""}
        return VariantsPlan(sim.reference, {sim.dna_sample: sim_sample}, sim.vcf, **common)
    if len(own) < 2:
        missing = "samples" if own[0] == "reference" else "reference"
        raise ConfigError(
            f"config variants.{own[0]} is set but variants.{missing} is not: your own data "
            "needs variants.reference and variants.samples together"
        )
    for key in ("reference", "truth"):
        if cfg[key] and not Path(cfg[key]).is_file():
            raise ConfigError(f"config variants.{key}: file '{cfg[key]}' not found")
    rows = read_variant_sheet(cfg["samples"])
    samples = {
        r["sample"]: {"fastq": [p for p in (r["fq1"], r["fq2"]) if p], "bam": r["bam"]}
        for r in rows
    }
    aligned = [name for name, s in samples.items() if s["bam"]]
    if cfg["recalibrate"] != "none" and aligned:
        raise ConfigError(
            f"config variants.recalibrate recalibrates FASTQ reads, but sample '{aligned[0]}' "
            "is a BAM: list its FASTQ files, or set variants.recalibrate: none"
        )
    return VariantsPlan(cfg["reference"], samples, cfg["truth"] or None, **common)
