"""Read QC inputs: the user's sample sheet (``qc.samples``) or every simulated sample."""

from __future__ import annotations

import re
from dataclasses import dataclass

from biometal.errors import ConfigError
from biometal.io.samplesheet import read_sample_sheet
from biometal.workflow.data import SimData

QC = "results/qc"
# fixed outputs in results/qc/ that a sample's results/qc/{sample}.tsv must not shadow
RESERVED = ("summary",)


@dataclass(frozen=True)
class QcPlan:
    samples: dict[str, list[str]]

    @property
    def names(self) -> list[str]:
        return sorted(self.samples)

    def fastq(self, wildcards) -> list[str]:
        """Input function of read_stats: the sample's FASTQ files."""
        return self.samples[wildcards.sample]

    @property
    def pattern(self) -> str:
        """Wildcard constraint matching exactly the sample names."""
        return names_pattern(self.names)

    @property
    def summary(self) -> str:
        return f"{QC}/summary.tsv"

    @property
    def figure(self) -> str:
        return "results/figures/qc_read_stats.png"

    @property
    def outputs(self) -> list[str]:
        return [self.summary, self.figure]


def names_pattern(names) -> str:
    """A regular expression matching exactly one of ``names`` (a wildcard constraint)."""
    return "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)) or "(?!)"


def check_sample_names(names: list[str], where: str, reserved=RESERVED) -> None:
    """A sample name that would write over another output is a one-line error."""
    taken = set(names)
    for name in names:
        if name in reserved:
            raise ConfigError(
                f"{where}: sample name '{name}' is reserved (results/qc/{name}.tsv is a "
                "summary file); rename the sample"
            )
        if name.endswith(".hist") and name[: -len(".hist")] in taken:
            raise ConfigError(
                f"{where}: sample names '{name}' and '{name[:-5]}' collide "
                f"(results/qc/{name}.tsv is the histogram of '{name[:-5]}'); rename one"
            )


def qc_plan(config: dict, sim: SimData) -> QcPlan:
    """QC inputs for a validated config."""
    sheet = config["qc"]["samples"]
    if sheet:
        rows = read_sample_sheet(
            sheet, required=("sample", "fq1"), optional=("fq2",), file_columns=("fq1", "fq2")
        )
        samples = {r["sample"]: [p for p in (r["fq1"], r["fq2"]) if p] for r in rows}
        check_sample_names(list(samples), f"qc.samples sheet {sheet}")
        return QcPlan(samples)
    samples = {
        sim.dna_sample: [sim.reads["R1"], sim.reads["R2"]],
        sim.meta_sample: [sim.meta["R1"], sim.meta["R2"]],
        **sim.rnaseq_fastqs,
    }
    check_sample_names(list(samples), "config simulate.reads.sample")
    return QcPlan(samples)
