"""Seed filter inputs: the simulated reference and DNA sample (default), or runs of an ENA
study streamed with the reference from its URL (``seedfilter.source: ena``)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from biometal.workflow.data import SimData

ENA = "results/data/ena"
SEEDS = "results/seeds"
SF = "results/seedfilter"
FIGURES = ("roc", "pr", "latency", "stage")


@dataclass(frozen=True)
class SeedsPlan:
    source: str  # simulated | ena
    reference: str
    sample: str
    truth: list[str]
    sim_fastq: dict[str, list[str]]
    ena_project: str
    ena_retry: dict

    index = f"{SEEDS}/reference.fmi.npz"
    ena_reference = f"{ENA}/reference.fa.gz"

    @property
    def ena_filereport(self) -> str:
        return f"{ENA}/{self.ena_project}.filereport.tsv"

    @property
    def ena_runs_table(self) -> str:
        return f"{ENA}/{self.ena_project}.runs.tsv"

    @staticmethod
    def ena_fastq(runs_table: str) -> dict[str, list[str]]:
        """Mate files of the runs the ena_filereport checkpoint chose (after it ran)."""
        with open(runs_table, encoding="utf-8", newline="") as fh:
            runs = [row["run"] for row in csv.DictReader(fh, delimiter="\t")]
        return {
            "r1": [f"{ENA}/{r}_R1.fastq.gz" for r in runs],
            "r2": [f"{ENA}/{r}_R2.fastq.gz" for r in runs],
        }

    def sim_inputs(self, wildcards) -> dict[str, list[str]]:
        """Input function (with unpack) for the simulated source: the DNA sample's mates."""
        return self.sim_fastq

    def index_mem_mb(self, wildcards, input) -> int:
        """Resource function of fm_index, in MB: build peak RSS measured 366 MB for 16 Mb and
        922 MB for 64 Mb of sequence (bench/fm_index.py: ~12 MB per Mb + ~180 MB), declared
        with headroom as 500 + 15 MB per Mb; beyond ~1 Gb the suffix array needs int64 (8
        bytes per position, 2 positions per base): 500 + 23 MB per Mb (a whole human genome
        does not fit 24 GB: bring a BWA index instead, ``FMIndex.from_bwa``). A gzipped
        FASTA holds ~4 bases a byte."""
        size_mb = Path(input[0]).stat().st_size / 1e6
        mb_of_bases = size_mb * (4 if self.reference.endswith(".gz") else 1)
        per_mb = 15 if mb_of_bases < 1000 else 23
        return int(500 + per_mb * mb_of_bases)

    @property
    def fastmap(self) -> str:
        return f"{SEEDS}/{self.sample}.fastmap.txt.gz"

    @property
    def outputs(self) -> list[str]:
        return [
            self.fastmap,
            *(
                f"{SF}/{name}"
                for name in (
                    "class_balance.tsv",
                    "metrics.tsv",
                    "export.json",
                    "cost.tsv",
                    "latency.tsv",
                    "cost_summary.json",
                )
            ),
            *(f"results/figures/seedfilter_{f}.png" for f in FIGURES),
        ]


def seeds_plan(config: dict, sim: SimData) -> SeedsPlan:
    """The seed filter's inputs for a validated config."""
    cfg = config["seedfilter"]
    ena = cfg["ena"]
    common = dict(
        sim_fastq={"r1": [sim.reads["R1"]], "r2": [sim.reads["R2"]]},
        ena_project=ena["project"],
        ena_retry={k: ena[k] for k in ("retries", "backoff", "timeout")},
    )
    if cfg["source"] == "ena":
        return SeedsPlan("ena", f"{ENA}/reference.fa.gz", ena["project"], truth=[], **common)
    return SeedsPlan("simulated", sim.reference, sim.dna_sample, [sim.reads["truth"]], **common)
