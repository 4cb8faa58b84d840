"""Variant calling from reads: mapping, per-site statistics, calls, VCF, truth comparison.

- :func:`map_reads` (``mapping``): FASTQ -> sorted, indexed BAM with mappy (minimap2 ``sr``)
- :func:`call_variants` (``call``): BAM -> bgzipped, tabix-indexed VCF 4.3 (SNPs + indels)
- ``sitestats``: binomial / beta-binomial tests, diploid genotype likelihoods, GQ, QUAL
- ``normalize``: left-alignment and trimming of alleles
- ``evaluate`` / ``report``: precision, recall, F1 against a truth VCF; eval.tsv
- ``figures``: the case study's figures

Submodules import their heavy dependencies (mappy, pysam, cyvcf2) when used.
"""

from __future__ import annotations

__all__ = ["call_variants", "map_reads"]


def __getattr__(name: str):
    if name == "call_variants":
        from biometal.variants.call import call_variants

        return call_variants
    if name == "map_reads":
        from biometal.variants.mapping import map_reads

        return map_reads
    raise AttributeError(name)
