"""Per-position pileup counts from BAM files, streamed region by region (bounded memory).

- :func:`iter_pileup` (``engine``): BAM -> :class:`PileupBlock` (uint32 count table + indel
  events) through the ``pileup`` kernel (Metal or numba), with samtools' read/base filters
- :func:`write_pileup_tsv` (``tsv``): the bgzipped, documented TSV
- :func:`samtools_command`: the ``samtools mpileup`` command whose counts equal ours

The names below come from :mod:`biometal.pileup.engine`, imported on first use (PEP 562), so
that ``python -m biometal.pileup`` runs its ``__main__`` before numpy is imported (see there).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from biometal.pileup.engine import (
        COLUMNS,
        IndelEvents,
        PileupBlock,
        PileupParams,
        iter_pileup,
        pileup_arrays,
        read_filter,
        samtools_command,
    )

__all__ = [
    "COLUMNS",
    "IndelEvents",
    "PileupBlock",
    "PileupParams",
    "iter_pileup",
    "pileup_arrays",
    "read_filter",
    "samtools_command",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from biometal.pileup import engine

        return getattr(engine, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
