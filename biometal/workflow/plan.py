"""The whole workflow's plan: every stage's inputs, outputs and peers from one config."""

from __future__ import annotations

import shlex
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass

from biometal.io.samplesheet import SAMPLE_NAME
from biometal.workflow.assembly import AssemblyPlan, assembly_plan
from biometal.workflow.cohort import CohortPlan, cohort_plan
from biometal.workflow.data import SimData, sim_data
from biometal.workflow.dnabert import DnabertPlan, dnabert_plan
from biometal.workflow.dnabert_classify import DnabertClassifyPlan, dnabert_classify_plan
from biometal.workflow.peers import PeerFinder
from biometal.workflow.qc import QcPlan, qc_plan
from biometal.workflow.readqc import ReadqcPlan, readqc_plan
from biometal.workflow.regions import RegionsPlan, regions_plan
from biometal.workflow.rnaseq import RnaseqPlan, rnaseq_plan
from biometal.workflow.seeds import SeedsPlan, seeds_plan
from biometal.workflow.variants import VariantsPlan, variants_plan

BENCH_ALIGNMENT_OUTPUTS = (
    "results/bench/alignment.tsv",
    "results/bench/alignment_summary.tsv",
    "results/figures/bench_alignment_gcups.png",
)


@dataclass(frozen=True)
class Plan:
    """What every stage reads and writes; ``notes`` are printed once by the Snakefile."""

    sim: SimData
    qc: QcPlan
    rnaseq: RnaseqPlan
    variants: VariantsPlan
    seeds: SeedsPlan
    dnabert: DnabertPlan
    dnabert_classify: DnabertClassifyPlan
    readqc: ReadqcPlan
    regions: RegionsPlan
    assembly: AssemblyPlan
    cohort: CohortPlan
    gpus: int
    notes: tuple[str, ...]
    #: the Python that runs the library in a ``shell:`` rule (``python -m biometal ...``):
    #: the conda env's under --sdm conda, else the one running Snakemake (as for script:)
    python: str = "python"

    bench_alignment = list(BENCH_ALIGNMENT_OUTPUTS)
    # a {sample} wildcard matches what a sample sheet accepts as a name (no '/')
    sample_pattern = SAMPLE_NAME.pattern.removeprefix("^").removesuffix("$")

    @property
    def all(self) -> list[str]:
        """The ``all`` target: every case study, the simulated data and read QC."""
        return [
            *self.sim.outputs,
            *self.qc.outputs,
            *self.rnaseq.outputs,
            *self.variants.outputs,
            *self.dnabert.outputs,
            *self.dnabert_classify.outputs,
            *self.seeds.outputs,
            *self.readqc.outputs,
            *self.regions.outputs,
            *self.assembly.outputs,
            *self.cohort.outputs,
        ]


def plan_workflow(
    config: dict, *, conda: bool = False, which: Callable[[str], str | None] = shutil.which
) -> Plan:
    """The plan of a validated config. ``conda``: jobs get their tools from envs/ (every
    requested peer runs); otherwise a peer runs only where ``which`` finds it.

    Raises :class:`~biometal.errors.BiometalError` (one line) for a config or sample sheet
    the workflow cannot run.
    """
    sim = sim_data(config)
    peers = PeerFinder(conda=conda, which=which)
    rnaseq = rnaseq_plan(config, sim, peers)  # before variants: the order of peers' notes
    variants = variants_plan(config, sim, peers)
    return Plan(
        sim=sim,
        qc=qc_plan(config, sim),
        rnaseq=rnaseq,
        variants=variants,
        seeds=seeds_plan(config, sim),
        dnabert=dnabert_plan(config, sim),
        dnabert_classify=dnabert_classify_plan(config, sim),
        readqc=readqc_plan(config, sim, peers),
        regions=regions_plan(config, sim, variants),
        assembly=assembly_plan(config, sim, peers),
        cohort=cohort_plan(config, sim, peers),
        gpus=config["compute"]["gpus"],
        notes=tuple(peers.notes),
        python="python" if conda else shlex.quote(sys.executable),
    )
