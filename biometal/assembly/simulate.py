"""A small haploid genome with repeats and its Illumina-like read pairs, for assembly.

The genome is :func:`biometal.simulate.reference.simulate_reference` (interspersed repeat
families and tandem repeats, the repeat table as BED6); the reads are
:func:`biometal.simulate._sequencer.simulate_pairs` fragments of it (no variants: one
haplotype), the error model's defaults (adapters, qualities, substitutions and indels).
"""

from __future__ import annotations

import os

import numpy as np

from biometal.errors import ConfigError
from biometal.simulate import stage_seed
from biometal.simulate._seq import read_fasta, seed_sequence
from biometal.simulate._sequencer import ErrorModel, simulate_pairs
from biometal.simulate.reads import check_read_params, place_fragments
from biometal.simulate.reference import simulate_reference


def simulate_assembly_data(
    reference_out: str | os.PathLike,
    repeats_bed_out: str | os.PathLike,
    r1_out: str | os.PathLike,
    r2_out: str | os.PathLike,
    *,
    length: int = 200_000,
    n_contigs: int = 1,
    coverage: float = 40.0,
    read_length: int = 150,
    insert_mean: float = 350.0,
    insert_sd: float = 50.0,
    repeat_fraction: float = 0.08,
    n_repeat_families: int = 4,
    repeat_length_range: tuple[int, int] = (300, 3000),
    repeat_divergence: tuple[float, float] = (0.0, 0.05),
    tandem_repeat_fraction: float = 0.01,
    seed: int,
) -> dict:
    """Write the genome FASTA (+ .fai), its repeat BED6 and R1/R2 FASTQ.gz.

    Lengths in bp; ``coverage`` is the mean depth (both mates count). Returns a summary
    (the reference's, plus ``pairs`` and ``coverage``).
    """
    check_read_params(read_length, insert_mean, insert_sd)
    if coverage <= 0:
        raise ConfigError(f"coverage: expected > 0, got {coverage!r}")
    summary = simulate_reference(
        reference_out,
        n_contigs=n_contigs,
        total_length=length,
        n_repeat_families=n_repeat_families,
        repeat_length_range=repeat_length_range,
        repeat_fraction=repeat_fraction,
        repeat_divergence=repeat_divergence,
        tandem_repeat_fraction=tandem_repeat_fraction,
        repeats_bed_out=repeats_bed_out,
        seed=stage_seed(seed, "assembly_reference"),
    )
    seqs = list(read_fasta(reference_out).items())
    seg_len = np.asarray([s.size for _, s in seqs], dtype=np.int64)
    source = np.concatenate([s for _, s in seqs])
    offsets = np.concatenate([[0], np.cumsum(seg_len)])
    n_pairs = max(1, int(round(coverage * int(seg_len.sum()) / (2 * read_length))))
    frag_ss, seq_ss = seed_sequence(stage_seed(seed, "assembly_reads"), "reads").spawn(2)
    rng = np.random.default_rng(frag_ss)
    flen = np.rint(rng.normal(insert_mean, insert_sd, size=n_pairs)).astype(np.int64)
    flen = np.clip(flen, read_length, int(seg_len.max()))
    seg, fstart = place_fragments(rng, seg_len, flen)
    minus = rng.random(n_pairs) < 0.5
    names = [f"{seqs[s][0]}_{i}".encode() for i, s in enumerate(seg.tolist())]
    simulate_pairs(
        source, offsets[seg] + fstart, flen, minus, names, read_length, ErrorModel(), seq_ss,
        r1_out, r2_out,
    )  # fmt: skip
    return {
        **summary,
        "pairs": n_pairs,
        "coverage": round(2 * n_pairs * read_length / source.size, 2),
    }
