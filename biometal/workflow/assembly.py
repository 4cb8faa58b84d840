"""Assembly target (``assembly``): paths of the simulated genome with repeats and its reads,
the per-genome read sets of the simulated metagenome, every tool's contigs and run
statistics, the evaluation table and the figures."""

from __future__ import annotations

from dataclasses import dataclass

from biometal.workflow.data import SimData
from biometal.workflow.peers import PeerFinder

AS = "results/assembly"
FIGURES = ("nga50_time", "graph_steps")


@dataclass(frozen=True)
class AssemblyPlan:
    """``tools``: data set -> the assemblers run on it (biometal first, then the peers found);
    ``genomes``: the metagenome's genome names (``meta_<name>`` data sets)."""

    tools: dict[str, tuple[str, ...]]
    genomes: tuple[str, ...]
    meta: dict[str, str]

    @property
    def datasets(self) -> list[str]:
        return list(self.tools)

    @staticmethod
    def data(dataset: str, name: str) -> str:
        """A file of a data set: R1.fq.gz, R2.fq.gz, reference.fa (genome: repeats.bed)."""
        return f"{AS}/data/{dataset}/{name}"

    def reads(self, dataset: str) -> list[str]:
        return [self.data(dataset, "R1.fq.gz"), self.data(dataset, "R2.fq.gz")]

    @property
    def genome_files(self) -> dict[str, str]:
        names = ("reference.fa", "repeats.bed", "R1.fq.gz", "R2.fq.gz")
        return {n.split(".")[0]: self.data("genome", n) for n in names}

    @property
    def meta_files(self) -> list[str]:
        return [
            self.data(f"meta_{g}", n)
            for g in self.genomes
            for n in ("reference.fa", "R1.fq.gz", "R2.fq.gz")
        ]

    @staticmethod
    def contigs(dataset: str, tool: str) -> str:
        return f"{AS}/{dataset}/{tool}.contigs.fa"

    @staticmethod
    def run_stats(dataset: str, tool: str) -> str:
        """CPU seconds, wall seconds, peak RSS of one run (JSON)."""
        return f"{AS}/{dataset}/{tool}.run.json"

    @staticmethod
    def graph(dataset: str) -> dict[str, str]:
        """biometal's assembly graph (GFA 1) and statistics (JSON)."""
        return {"gfa": f"{AS}/{dataset}/biometal.gfa", "stats": f"{AS}/{dataset}/biometal.json"}

    @property
    def runs(self) -> list[str]:
        return [
            f
            for ds, tools in self.tools.items()
            for t in tools
            for f in (self.contigs(ds, t), self.run_stats(ds, t))
        ]

    @classmethod
    def report_inputs(cls, tools: dict[str, tuple[str, ...] | list[str]]) -> dict[str, dict]:
        """What :func:`biometal.assembly.experiment.assembly_report` reads, per data set."""
        return {
            ds: {
                "reference": cls.data(ds, "reference.fa"),
                "repeats": cls.data(ds, "repeats.bed") if ds == "genome" else None,
                "runs": {t: (cls.contigs(ds, t), cls.run_stats(ds, t)) for t in ts},
                "stats": cls.graph(ds)["stats"],
            }
            for ds, ts in tools.items()
        }

    table = f"{AS}/evaluation.tsv"
    steps = f"{AS}/graph_steps.tsv"

    @property
    def figures(self) -> dict[str, str]:
        return {f: f"results/figures/assembly_{f}.png" for f in FIGURES}

    @property
    def outputs(self) -> list[str]:
        return [
            *self.runs,
            *(f for ds in self.tools for f in self.graph(ds).values()),
            self.table,
            self.steps,
            *self.figures.values(),
        ]


def assembly_plan(config: dict, sim: SimData, peers: PeerFinder) -> AssemblyPlan:
    """The assembly target's plan of a validated config."""
    cfg = config["assembly"]
    genome_peers = tuple(peers.enabled(cfg["peers"], "assembly"))
    tools = {"genome": ("biometal", *genome_peers)}
    genomes: tuple[str, ...] = ()
    if cfg["metagenome"]:
        meta_peers = tuple(peers.enabled(cfg["metagenome_peers"], "assembly"))
        n = config["simulate"]["metagenome"]["n_genomes"]
        genomes = tuple(f"genome{i + 1}" for i in range(n))
        for g in genomes:
            tools[f"meta_{g}"] = ("biometal", *meta_peers)
    return AssemblyPlan(tools=tools, genomes=genomes, meta=dict(sim.meta))
