"""Per-position pileup counts from BAM files, streamed region by region (bounded memory).

- :func:`iter_pileup` (``engine``): BAM -> :class:`PileupBlock` (uint32 count table + indel
  events) through the ``pileup`` kernel (Metal or numba), with samtools' read/base filters
- :func:`write_pileup_tsv` (``tsv``): the bgzipped, documented TSV
- :func:`samtools_command`: the ``samtools mpileup`` command whose counts equal ours
"""

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
