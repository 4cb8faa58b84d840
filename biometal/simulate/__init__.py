"""Seeded simulation of truth data: reference, variants, reads, RNA-seq, metagenome.

Every function takes explicit sizes, a ``seed`` (``config.seed``) and output paths, writes
its files atomically (never a partial output) and returns a small summary dict for the log.
The same arguments give byte-identical files; another seed gives other data.

=============================  ==============================================================
:func:`simulate_reference`     reference FASTA + ``.fai`` (GC variation, repeats)
:func:`simulate_variants`      truth VCF.gz + ``.tbi`` and the two haplotypes (one FASTA)
:func:`simulate_reads`         paired FASTQ.gz from the haplotypes + per-pair truth table
:func:`simulate_transcriptome` GTF + transcript FASTA (+ genome FASTA, tx2gene)
:func:`simulate_rnaseq`        RNA-seq samples (two conditions, known DE) + truth tables
:func:`simulate_metagenome`    genomes FASTA + paired FASTQ.gz with adapters + truth table
=============================  ==============================================================

The sequencing error model shared by all read simulators is documented in
:mod:`biometal.simulate._sequencer` (:class:`ErrorModel`).
"""

import zlib

import numpy as np

from biometal.simulate._sequencer import TRUSEQ_R1, TRUSEQ_R2, ErrorModel
from biometal.simulate.metagenome import simulate_metagenome
from biometal.simulate.reads import simulate_reads
from biometal.simulate.reference import simulate_reference
from biometal.simulate.transcriptome import (
    read_gtf,
    rnaseq_sample_names,
    simulate_rnaseq,
    simulate_transcriptome,
)
from biometal.simulate.variants import (
    HaplotypeMap,
    apply_variants,
    load_haplotypes,
    read_truth_vcf,
    simulate_variants,
)


def stage_seed(seed: int, stage: str) -> int:
    """Seed for one simulation stage, derived from the master ``seed`` and the stage name.

    Stages seeded with the master seed directly would draw the same random streams (the
    metagenome's genomes would start like the reference's contigs); deriving a seed per stage
    keeps them independent while staying a pure function of ``config.seed``.
    """
    state = np.random.SeedSequence([seed, zlib.crc32(stage.encode())]).generate_state(1)
    return int(state[0])


__all__ = [
    "stage_seed",
    "TRUSEQ_R1",
    "TRUSEQ_R2",
    "ErrorModel",
    "HaplotypeMap",
    "apply_variants",
    "load_haplotypes",
    "read_gtf",
    "read_truth_vcf",
    "rnaseq_sample_names",
    "simulate_metagenome",
    "simulate_reads",
    "simulate_reference",
    "simulate_rnaseq",
    "simulate_transcriptome",
    "simulate_variants",
]
