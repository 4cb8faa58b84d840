"""DNABERT case study inputs: the simulated metagenome (R1 to train, R2 held out) or the
user's own reads (``dnabert.inputs`` + ``dnabert.heldout``: paths or http(s) URLs)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from biometal.errors import ConfigError
from biometal.io.paths import is_url
from biometal.workflow.data import SimData

DNABERT = "results/dnabert"
FIGURES = ("loss", "throughput", "memory", "comparison")


@dataclass(frozen=True)
class DnabertPlan:
    train: list[str]  # paths or URLs
    heldout: list[str]
    modes: list[str]

    @staticmethod
    def local(paths: list[str]) -> list[str]:
        """Rule inputs: the local files among ``paths`` (a job streams URLs itself)."""
        return [p for p in paths if not is_url(p)]

    @property
    def mode_pattern(self) -> str:
        return "|".join(self.modes)

    @property
    def outputs(self) -> list[str]:
        return [
            f"{DNABERT}/evaluation.tsv",
            f"{DNABERT}/quality_thresholds.tsv",
            f"{DNABERT}/vocab.txt",
            *(f"results/figures/dnabert_{name}.png" for name in FIGURES),
        ]


def dnabert_plan(config: dict, sim: SimData) -> DnabertPlan:
    """The DNABERT case study's inputs for a validated config."""
    cfg = config["dnabert"]
    if cfg["stride"] > cfg["k"]:
        raise ConfigError(
            f"config dnabert.stride ({cfg['stride']}) must be <= dnabert.k ({cfg['k']})"
        )
    modes = ["standard", *cfg["quality_modes"]]
    if not cfg["inputs"]:
        return DnabertPlan([sim.meta["R1"]], list(cfg["heldout"]) or [sim.meta["R2"]], modes)
    if not cfg["heldout"]:
        raise ConfigError(
            "config dnabert.inputs is set but dnabert.heldout is not: give held-out reads "
            "(paths or URLs) to evaluate on"
        )
    for key in ("inputs", "heldout"):
        for p in cfg[key]:
            if p == "-":
                raise ConfigError(
                    f"config dnabert.{key}: '-' (stdin) cannot be read by several jobs"
                )
            if not is_url(p) and not Path(p).is_file():
                raise ConfigError(f"config dnabert.{key}: file '{p}' not found")
    return DnabertPlan(list(cfg["inputs"]), list(cfg["heldout"]), modes)
