"""Genomic regions: BED / bedGraph / GFF3 / GTF readers and bedtools-style interval operations.

``read_bed`` gives a columnar :class:`~biometal.regions.bed.Intervals` (``iter_bed`` /
``iter_bedgraph`` / ``iter_gtf_chunks`` / ``iter_gff3_chunks`` stream chunks of it); the
operations in :mod:`biometal.regions.intervals` (intersect, merge, subtract, complement,
closest, coverage) run as numba kernels on its numpy arrays and match bedtools 2.30 output.
:func:`~biometal.regions.coverage.region_coverage` gives per-region depth and base counts of a
BED over an indexed BAM (equal to mosdepth ``--by`` and ``samtools bedcov``).
"""

from biometal.regions.bed import (
    Intervals,
    iter_bed,
    iter_bedgraph,
    read_bed,
    read_bedgraph,
    read_genome,
    write_bed,
)
from biometal.regions.coverage import depth_arrays, region_coverage
from biometal.regions.gff import iter_gff3_chunks, iter_gtf_chunks, read_gff3, read_gtf

__all__ = [
    "Intervals",
    "iter_bed",
    "iter_bedgraph",
    "read_bed",
    "read_bedgraph",
    "read_genome",
    "write_bed",
    "iter_gff3_chunks",
    "iter_gtf_chunks",
    "read_gff3",
    "read_gtf",
    "region_coverage",
    "depth_arrays",
]
