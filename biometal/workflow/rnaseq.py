"""RNA-seq case study inputs: the simulated transcriptome and samples, or the user's own
(``rnaseq.transcriptome`` + ``rnaseq.gtf`` + ``rnaseq.samples``, all three together)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from biometal.errors import ConfigError
from biometal.rnaseq.samples import read_rnaseq_sheet
from biometal.workflow.data import SimData
from biometal.workflow.peers import PeerFinder

RNA = "results/rnaseq"
OWN_KEYS = ("transcriptome", "gtf", "samples")


@dataclass(frozen=True)
class QuantBatch:
    """Samples that one biometal quantification job does in turn (rule rnaseq_quant_NAME)."""

    name: str
    samples: list[str]

    def outputs(self, ext: str) -> list[str]:
        return [f"{RNA}/quant/{s}.{ext}" for s in self.samples]


@dataclass(frozen=True)
class RnaseqPlan:
    transcriptome: str
    gtf: str
    sheet: str
    fastq: dict[str, list[str]]
    conditions: dict[str, str]
    truth: dict[str, str]
    peers: list[str]
    scaling_reads: int
    scaling_factors: list[int]
    samples_per_job: int = 1

    # ------------------------------------------------------------------ samples and runs
    @property
    def samples(self) -> list[str]:
        return list(self.fastq)

    @property
    def methods(self) -> list[str]:
        return ["biometal", *self.peers]

    @property
    def runs(self) -> list[tuple[str, str]]:
        """(method, sample) of every quantification."""
        return [(m, s) for m in self.methods for s in self.samples]

    def sample_fastq(self, wildcards) -> list[str]:
        """Input function: a sample's mate files."""
        return self.fastq[wildcards.sample]

    def single_end(self, sample: str) -> bool:
        return len(self.fastq[sample]) == 1

    @property
    def quant_batches(self) -> list[QuantBatch]:
        """biometal's quantification jobs: ``samples_per_job`` samples each, in sheet order.

        One process quantifies a batch, so the start-up a process pays before its first read
        (about 0.7 s of CPU: Python, numpy, numba) is paid once per batch, not per sample.
        """
        names, size = self.samples, self.samples_per_job
        return [
            QuantBatch(str(i // size + 1), names[i : i + size]) for i in range(0, len(names), size)
        ]

    def quant_benchmark(self, method: str, sample: str) -> str:
        """The benchmark file of the job that quantified ``sample`` with ``method``."""
        if method == "biometal":
            batch = next(b for b in self.quant_batches if sample in b.samples)
            return f"benchmarks/rnaseq/quant/biometal/batch{batch.name}.tsv"
        return f"benchmarks/rnaseq/quant/{method}/{sample}.tsv"

    index = {
        "biometal": f"{RNA}/index/index.npz",
        "kallisto": f"{RNA}/index/kallisto.idx",
        "salmon": f"{RNA}/index/salmon",
    }

    @staticmethod
    def quant_path(method: str, sample: str) -> str:
        """Where ``method`` writes the quant table of ``sample``."""
        return {
            "biometal": f"{RNA}/quant/{sample}.tsv",
            "kallisto": f"{RNA}/peers/kallisto/{sample}/abundance.tsv",
            "salmon": f"{RNA}/peers/salmon/{sample}/quant.sf",
        }[method]

    @property
    def quants(self) -> list[str]:
        return [self.quant_path(m, s) for m, s in self.runs]

    @property
    def quant_benchmarks(self) -> list[str]:
        """Benchmark file of every run, in :attr:`runs` order (a batch's file repeats)."""
        return [self.quant_benchmark(m, s) for m, s in self.runs]

    # ------------------------------------------------------------------ memory scaling
    @property
    def scaling_sample(self) -> str:
        return self.samples[0]

    @property
    def scaling_mates(self) -> list[str]:
        return ["R1", "R2"][: len(self.fastq[self.scaling_sample])]

    @property
    def scaling_methods(self) -> list[str]:
        return ["biometal", *(p for p in self.peers if p == "kallisto")]

    def scaling_base(self, wildcards) -> str:
        """Input function: the 1x input of one mate (the first sample itself, or its head)."""
        i = self.scaling_mates.index(wildcards.mate)
        if self.scaling_reads:
            return f"{RNA}/scaling/base_{wildcards.mate}.fastq.gz"
        return self.fastq[self.scaling_sample][i]

    @staticmethod
    def scaling_path(method: str, factor: int) -> str:
        return {
            "biometal": f"{RNA}/scaling/biometal_x{factor}.tsv",
            "kallisto": f"{RNA}/scaling/kallisto_x{factor}/abundance.tsv",
        }[method]

    @property
    def scaling_runs(self) -> list[tuple[str, int]]:
        return [(m, f) for m in self.scaling_methods for f in self.scaling_factors]

    # ------------------------------------------------------------------ DE and outputs
    @property
    def de(self) -> bool:
        """Differential expression runs when the first two conditions have 2+ samples each."""
        values = list(self.conditions.values())
        levels = list(dict.fromkeys(values))[:2]
        return all(values.count(c) >= 2 for c in levels)

    @property
    def outputs(self) -> list[str]:
        out = [
            *(self.quant_path("biometal", s) for s in self.samples),
            *(f"{RNA}/{name}" for name in ("gene_counts.tsv", "gene_cpm.tsv", "gene_tpm.tsv")),
            *(f"{RNA}/{name}.tsv" for name in ("pca", "cost", "index_cost", "memory")),
            f"{RNA}/throughput.tsv",
            *(
                f"results/figures/rnaseq_{name}.png"
                for name in ("pca", "correlation", "cost", "memory")
            ),
        ]
        if self.truth:
            out += [f"{RNA}/accuracy.tsv", "results/figures/rnaseq_accuracy.png"]
        if self.de:
            out.append(f"{RNA}/de.tsv")
            if self.truth:
                out.append(f"{RNA}/de_accuracy.tsv")
        return out


def rnaseq_plan(config: dict, sim: SimData, peers: PeerFinder) -> RnaseqPlan:
    """The RNA-seq case study's inputs for a validated config."""
    cfg = config["rnaseq"]
    own = [key for key in OWN_KEYS if cfg[key]]
    common = dict(
        peers=peers.enabled(cfg["peers"], "rnaseq"),
        scaling_reads=cfg["memory_scaling"]["reads"],
        scaling_factors=list(cfg["memory_scaling"]["factors"]),
    )
    spj = cfg["samples_per_job"]
    if not own:
        fastq = sim.rnaseq_fastqs
        # the simulator puts the first ceil(n/2) samples in condition A, the rest in B
        n_a = (len(fastq) + 1) // 2
        return RnaseqPlan(
            transcriptome=sim.transcripts,
            gtf=sim.gtf,
            sheet=sim.rnaseq_sheet,
            fastq=fastq,
            conditions={s: "A" if i < n_a else "B" for i, s in enumerate(fastq)},
            truth={"tpm": sim.rnaseq_truth["tpm"], "de": sim.rnaseq_truth["de"]},
            samples_per_job=spj or len(fastq),  # auto: the small simulated samples in one job
            **common,
        )
    if len(own) < len(OWN_KEYS):
        missing = [k for k in OWN_KEYS if k not in own]
        raise ConfigError(
            f"config rnaseq.{own[0]} is set but rnaseq.{missing[0]} is not: your own data "
            "needs rnaseq.transcriptome, rnaseq.gtf and rnaseq.samples together"
        )
    for key in ("transcriptome", "gtf"):
        if not Path(cfg[key]).is_file():
            raise ConfigError(f"config rnaseq.{key}: file '{cfg[key]}' not found")
    rows = read_rnaseq_sheet(cfg["samples"])
    return RnaseqPlan(
        transcriptome=cfg["transcriptome"],
        gtf=cfg["gtf"],
        sheet=cfg["samples"],
        fastq={r["sample"]: [p for p in (r["fq1"], r["fq2"]) if p] for r in rows},
        conditions={r["sample"]: r["condition"] for r in rows},
        truth={},
        samples_per_job=spj or 1,  # auto: a job each, so a bad file fails only its sample
        **common,
    )
