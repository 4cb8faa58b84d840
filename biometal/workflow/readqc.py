"""Read-QC target (``read_qc``): paths of the base-quality experiment (simulated reads with
realistic errors and their truth, BQSR table, neural model, recalibrated FASTQ, scores), of
adapter trimming (biometal and the peers cutadapt / fastp on the simulated metagenome) and
of the figures."""

from __future__ import annotations

from dataclasses import dataclass

from biometal.workflow.data import SimData
from biometal.workflow.peers import PeerFinder

RQ = "results/readqc"
#: where the neural model trained by the read_qc target is exported (also the model of
#: ``variants.recalibrate: neural``)
NEURAL_MODEL = f"{RQ}/model/readqc_quality.onnx"
BQSR_TABLE = f"{RQ}/bqsr_table.tsv"
#: files biometal.readqc.experiment.simulate_readqc writes (its SIM_FILES), under RQ/data
SIM_FILES = (
    "ref.fa",
    "ref.fa.fai",
    "truth.vcf.gz",
    "hap.fa",
    *(f"{s}_{x}" for s in ("train", "test") for x in ("R1.fq.gz", "R2.fq.gz", "truth.tsv.gz")),
    *(f"{s}_R{m}.errors.tsv.gz" for s in ("train", "test") for m in (1, 2)),
)
METHODS = ("bqsr", "neural")
TABLES = {
    "summary": "calibration",
    "curves": "calibration_curves",
    "by_cycle": "error_by_cycle",
    "by_context": "error_by_context",
    "masking": "masking",
}
#: Illumina TruSeq read-through adapters (biometal.readqc.adapters.TRUSEQ_R1/R2), given
#: to the peer trimmers
TRUSEQ = ("AGATCGGAAGAGCACACGTCTGAACTCCAGTCA", "AGATCGGAAGAGCGTCGTGTAGGGAAAGAGTGT")
FIGURES = ("calibration", "masking", "trimming", "variants")


@dataclass(frozen=True)
class ReadqcPlan:
    """Inputs and outputs of the read_qc target. ``trim_tools``: biometal and the trimming
    peers that run; ``meta``: the simulated metagenome's mates and truth (trimming data)."""

    trim_tools: list[str]
    meta: dict[str, str]

    methods = list(METHODS)
    adapters = TRUSEQ
    table = BQSR_TABLE
    model = NEURAL_MODEL

    @staticmethod
    def data(name: str) -> str:
        """A file of the simulated read-QC data (one of :data:`SIM_FILES`)."""
        if name not in SIM_FILES:
            raise KeyError(name)
        return f"{RQ}/data/{name}"

    @property
    def sim_files(self) -> dict[str, str]:
        return {n.replace(".", "_"): self.data(n) for n in SIM_FILES}

    @staticmethod
    def recalibrated(method: str) -> list[str]:
        """The held-out mates recalibrated by ``method`` (bqsr or neural)."""
        return [f"{RQ}/recalibrated/{method}_R{m}.fq.gz" for m in (1, 2)]

    @staticmethod
    def model_file(method: str) -> str:
        return {"bqsr": BQSR_TABLE, "neural": NEURAL_MODEL}[method]

    @staticmethod
    def recal_bam(method: str) -> str:
        """The training reads with ``method``'s qualities, mapped again (variant calls)."""
        return f"{RQ}/variants/train_{method}.bam"

    @staticmethod
    def trimmed(tool: str) -> list[str]:
        return [f"{RQ}/trimmed/{tool}_R{m}.fq.gz" for m in (1, 2)]

    @staticmethod
    def trim_benchmark(tool: str) -> str:
        return f"benchmarks/readqc/trim_{tool}.tsv"

    @property
    def tables(self) -> dict[str, str]:
        """The score tables of :func:`biometal.readqc.experiment.calibration_tables`."""
        return {t: f"{RQ}/{f}.tsv" for t, f in TABLES.items()}

    @property
    def figures(self) -> dict[str, str]:
        return {f: f"results/figures/readqc_{f}.png" for f in FIGURES}

    @property
    def outputs(self) -> list[str]:
        return [
            BQSR_TABLE,
            NEURAL_MODEL,
            *(f for m in self.methods for f in self.recalibrated(m)),
            *(f for t in self.trim_tools for f in self.trimmed(t)),
            *self.tables.values(),
            f"{RQ}/variants.tsv",
            f"{RQ}/trimming.tsv",
            *self.figures.values(),
        ]


def readqc_plan(config: dict, sim: SimData, peers: PeerFinder) -> ReadqcPlan:
    """The read_qc target's plan of a validated config."""
    cfg = config["read_qc"]
    tools = ["biometal", *peers.enabled(cfg["trimming"]["peers"], "read-QC trimming")]
    return ReadqcPlan(trim_tools=tools, meta=dict(sim.meta))
