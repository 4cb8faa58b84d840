"""The calling and gVCF parameters (:class:`CallParams`, :class:`GvcfParams`): their
defaults are the one place for each default, which ``biometal call`` and ``biometal joint``
offer as their options' defaults. This module imports nothing heavy, so the command line
can read them while it builds its parser."""

from __future__ import annotations

from dataclasses import dataclass

from biometal.errors import BiometalError


@dataclass(frozen=True)
class CallParams:
    """Calling thresholds and priors (see :mod:`biometal.variants.call`)."""

    min_depth: int = 4
    min_alt_reads: int = 2
    min_af: float = 0.12
    min_qual: float = 20.0
    #: joint genotyping's LowQual threshold (its QUAL: P(no sample carries the ALT) under
    #: cohort priors; README "Case study: population calling" measures the choice)
    joint_min_qual: float = 10.0
    theta: float = 0.001
    indel_theta: float = 0.001
    indel_error: float = 0.001
    overdispersion: float = 0.02
    max_error_pvalue: float = 0.01
    snps: bool = True
    indels: bool = True

    def __post_init__(self) -> None:
        if not 0.0 < self.theta < 0.5 or not 0.0 < self.indel_theta < 0.5:
            raise BiometalError("calling: theta and indel_theta must be in (0, 0.5)")
        if not 0.0 < self.overdispersion < 1.0:
            raise BiometalError("calling: overdispersion must be in (0, 1)")
        if not 0.0 < self.indel_error < 0.5:
            raise BiometalError("calling: indel_error must be in (0, 0.5)")


@dataclass(frozen=True)
class GvcfParams:
    """gVCF options. ``gq_bands``: lower GQ bounds of the reference-block bands (0 is
    implicit; GQ is capped at 99). ``evidence_min_alt``: a position gets a site record when
    at least this many reads show one non-reference base."""

    gq_bands: tuple[int, ...] = (1, 5, 10, 20, 30, 40, 50, 60, 99)
    evidence_min_alt: int = 1

    def __post_init__(self) -> None:
        b = list(self.gq_bands)
        if any(x < 1 for x in b) or b != sorted(set(b)):
            raise BiometalError(f"gvcf: gq_bands must be increasing integers >= 1, got {b}")
        if self.evidence_min_alt < 1:
            raise BiometalError(f"gvcf: evidence_min_alt must be >= 1, got {self.evidence_min_alt}")
