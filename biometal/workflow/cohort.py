"""Cohort target (``case_study_cohort``): paths of the simulated cohort (reference region,
multi-sample truth, reads per sample), per-sample BAMs and gVCFs, the joint VCF, the
bcftools multi-sample peer, the evaluation tables and the figures."""

from __future__ import annotations

from dataclasses import dataclass

from biometal.workflow.data import SimData
from biometal.workflow.peers import PeerFinder

CO = "results/cohort"
FIGURES = ("recall", "throughput")


@dataclass(frozen=True)
class CohortPlan:
    """Inputs and outputs of case_study_cohort. ``samples``: the simulated sample names;
    ``peers``: the multi-sample peers that run (bcftools when installed); ``reference``:
    the simulated reference the cohort's region is cut from."""

    samples: list[str]
    peers: list[str]
    reference: str

    region = f"{CO}/data/ref.fa"
    truth = f"{CO}/data/truth.vcf.gz"
    joint = f"{CO}/joint.vcf.gz"
    evaluation = f"{CO}/evaluation.tsv"
    recall = f"{CO}/recall_by_af_depth.tsv"
    throughput = f"{CO}/site_stats_throughput.tsv"

    @staticmethod
    def reads(sample: str) -> list[str]:
        return [f"{CO}/data/{sample}_R{m}.fastq.gz" for m in (1, 2)]

    def sim_outputs(self) -> dict[str, object]:
        """Named outputs of the simulation rule."""
        return {
            "region": self.region,
            "fai": f"{self.region}.fai",
            "truth": self.truth,
            "tbi": f"{self.truth}.tbi",
            "reads": [f for s in self.samples for f in self.reads(s)],
        }

    @staticmethod
    def bam(sample: str) -> str:
        return f"{CO}/bam/{sample}.bam"

    @staticmethod
    def gvcf(sample: str) -> str:
        return f"{CO}/gvcf/{sample}.g.vcf.gz"

    @staticmethod
    def cpu(job: str) -> str:
        """JSON of a job's CPU time (written by the job itself)."""
        return f"{CO}/cpu/{job}.json"

    @staticmethod
    def peer_vcf(peer: str) -> str:
        return f"{CO}/peers/{peer}.vcf.gz"

    @property
    def figures(self) -> dict[str, str]:
        return {f: f"results/figures/cohort_{f}.png" for f in FIGURES}

    @property
    def outputs(self) -> list[str]:
        return [
            self.truth,
            *(self.gvcf(s) for s in self.samples),
            *(f"{self.gvcf(s)}.tbi" for s in self.samples),
            self.joint,
            f"{self.joint}.tbi",
            *(self.peer_vcf(p) for p in self.peers),
            self.evaluation,
            self.recall,
            self.throughput,
            *self.figures.values(),
        ]


def cohort_plan(config: dict, sim: SimData, peers: PeerFinder) -> CohortPlan:
    """The case_study_cohort target's plan of a validated config."""
    cfg = config["cohort"]
    n = int(cfg["samples"])
    width = max(2, len(str(n)))
    return CohortPlan(
        samples=[f"C{i:0{width}d}" for i in range(1, n + 1)],
        peers=peers.enabled(cfg["peers"], "variant-calling"),  # one note with the variants' peers
        reference=sim.reference,
    )
