"""Pileup parameters from the workflow config (``variants.pileup``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from biometal.pileup.engine import PileupParams


def pileup_params(
    cfg: Mapping[str, Any], *, threads: int = 1, backend: str | None = None
) -> PileupParams:
    """:class:`PileupParams` from the ``variants.pileup`` config section."""
    return PileupParams(
        min_mapq=int(cfg["min_mapq"]),
        min_baseq=int(cfg["min_baseq"]),
        exclude_flags=tuple(cfg["exclude_flags"]),
        count_orphans=bool(cfg["count_orphans"]),
        region_size=int(cfg["region_size"]),
        backend=backend,
        threads=int(threads),
    )
