"""Simulated metagenome: several genomes, skewed abundances, adapter read-through.

Genomes (``genome1`` .. ``genomeN``, each ``contigs_per_genome`` contigs named
``{genome}_c{j}``) have lengths drawn uniformly from ``genome_length_range`` and a
genome-wide GC drawn from ``gc_range`` (varying +-0.03 in 5 kb segments). Each genome
carries 1-4 identical copies of its own variant of a shared 1.5 kb rRNA-like operon (3-10%
diverged from a common consensus), so some reads are ambiguous between genomes.

Abundances: relative cell abundances ``a_i ~ LogNormal(0, abundance_sigma)`` normalised to
sum 1; a read pair comes from genome ``i`` with probability ``∝ a_i * length_i``.

Inserts: with probability ``short_insert_fraction`` the insert is uniform in
``[short_insert_min, read_length - 1]``, so both reads run into their adapter (R1 into
``adapter_r1``, R2 into ``adapter_r2``, then poly-G); otherwise ``round(N(insert_mean,
insert_sd))`` clipped to at least ``read_length``. Errors and qualities as in
:mod:`biometal.simulate._sequencer`. Read names ``{contig}_{pair_index}``.

Truth (``truth_out``, gzip TSV, one row per pair in FASTQ order): ``read_name genome contig
strand frag_start frag_end insert_size r1_start r1_end r2_start r2_end r1_adapter_start
r2_adapter_start r1_sub_errors r1_indel_errors r2_sub_errors r2_indel_errors``. Coordinates are
0-based half-open on the contig; ``strand`` is R1's; ``r*_start/end`` is the span a read
covers within the insert; ``r*_adapter_start`` is the 0-based read position where the
adapter begins (-1 when the read does not reach it), after indel errors.

``abundance_out`` (optional TSV): ``genome length gc abundance read_fraction pairs``.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from biometal.errors import ConfigError
from biometal.io.atomic import atomic_path
from biometal.simulate._fastq_out import DEFAULT_COMPRESSLEVEL
from biometal.simulate._seq import mutate, random_bases, seed_sequence, write_fasta
from biometal.simulate._sequencer import TRUSEQ_R1, TRUSEQ_R2, ErrorModel, simulate_pairs
from biometal.simulate.reads import check_read_params, write_table_gz

TRUTH_COLUMNS = [
    "read_name",
    "genome",
    "contig",
    "strand",
    "frag_start",
    "frag_end",
    "insert_size",
    "r1_start",
    "r1_end",
    "r2_start",
    "r2_end",
    "r1_adapter_start",
    "r2_adapter_start",
    "r1_sub_errors",
    "r1_indel_errors",
    "r2_sub_errors",
    "r2_indel_errors",
]


def simulate_metagenome(
    fasta_out: str | os.PathLike,
    r1_out: str | os.PathLike,
    r2_out: str | os.PathLike,
    truth_out: str | os.PathLike,
    abundance_out: str | os.PathLike | None = None,
    *,
    n_genomes: int = 5,
    genome_length_range: tuple[int, int] = (150_000, 600_000),
    contigs_per_genome: int = 1,
    gc_range: tuple[float, float] = (0.30, 0.70),
    abundance_sigma: float = 1.0,
    n_pairs: int = 100_000,
    read_length: int = 150,
    insert_mean: float = 300.0,
    insert_sd: float = 60.0,
    short_insert_fraction: float = 0.1,
    short_insert_min: int = 20,
    adapter_r1: str = TRUSEQ_R1,
    adapter_r2: str = TRUSEQ_R2,
    errors: ErrorModel | None = None,
    compresslevel: int = DEFAULT_COMPRESSLEVEL,
    seed: int,
) -> dict:
    """Write the genomes FASTA (+ ``.fai``), R1/R2 FASTQ.gz and the per-pair truth table.

    Lengths in bp; ``abundance_sigma`` is the log-normal sigma of cell abundances; ``errors``:
    the sequencing error model (None: :class:`ErrorModel`'s defaults). Returns a summary
    with per-genome abundance and read counts.
    """
    check_read_params(read_length, insert_mean, insert_sd)
    if n_genomes < 1:
        raise ConfigError(f"n_genomes: expected >= 1, got {n_genomes!r}")
    lo_len, hi_len = genome_length_range
    if not 5000 <= lo_len <= hi_len:
        raise ConfigError(
            f"genome_length_range: expected 5000 <= lo <= hi, got {genome_length_range!r}"
        )
    if not 1 <= contigs_per_genome <= lo_len // 2000:
        raise ConfigError(
            f"contigs_per_genome: expected 1..{lo_len // 2000}, got {contigs_per_genome!r}"
        )
    lo_gc, hi_gc = gc_range
    if not 0.05 <= lo_gc <= hi_gc <= 0.95:
        raise ConfigError(f"gc_range: expected 0.05 <= lo <= hi <= 0.95, got {gc_range!r}")
    if abundance_sigma < 0:
        raise ConfigError(f"abundance_sigma: expected >= 0, got {abundance_sigma!r}")
    if n_pairs < 1:
        raise ConfigError(f"n_pairs: expected >= 1, got {n_pairs!r}")
    if not 0.0 <= short_insert_fraction <= 1.0:
        raise ConfigError(f"short_insert_fraction: expected [0, 1], got {short_insert_fraction!r}")
    if not 1 <= short_insert_min < read_length:
        raise ConfigError(f"short_insert_min: expected 1..read_length-1, got {short_insert_min!r}")
    for key, ad in (("adapter_r1", adapter_r1), ("adapter_r2", adapter_r2)):
        if not ad or set(ad) - set("ACGT"):
            raise ConfigError(f"{key}: expected a non-empty ACGT sequence, got {ad!r}")
    model = ErrorModel() if errors is None else errors

    genome_ss, frag_ss, seq_ss = seed_sequence(seed, "metagenome").spawn(3)
    rng = np.random.default_rng(genome_ss)
    operon = random_bases(rng, 1500, 0.53)
    genomes = [f"genome{i + 1}" for i in range(n_genomes)]
    glen = rng.integers(lo_len, hi_len + 1, size=n_genomes)
    ggc = rng.uniform(lo_gc, hi_gc, size=n_genomes)
    records: list[tuple[str, np.ndarray]] = []
    contig_genome: list[int] = []
    for i in range(n_genomes):
        n = int(glen[i])
        seg_gc = np.repeat(
            np.clip(ggc[i] + rng.uniform(-0.03, 0.03, size=n // 5000 + 1), 0.05, 0.95), 5000
        )[:n]
        seq = random_bases(rng, n, seg_gc)
        variant = mutate(rng, operon, rng.uniform(0.03, 0.10))
        for _ in range(int(rng.integers(1, 5))):
            s = int(rng.integers(0, n - variant.size))
            seq[s : s + variant.size] = variant
        cuts = np.sort(
            rng.choice(np.arange(1000, n - 1000), size=contigs_per_genome - 1, replace=False)
        )
        for j, part in enumerate(np.split(seq, cuts)):
            records.append((f"{genomes[i]}_c{j + 1}", part))
            contig_genome.append(i)
    contig_genome_arr = np.asarray(contig_genome)
    clen = np.asarray([s.size for _, s in records], dtype=np.int64)
    source = np.concatenate([s for _, s in records])
    offsets = np.concatenate([[0], np.cumsum(clen)])

    abundance = rng.lognormal(0.0, abundance_sigma, size=n_genomes)
    abundance /= abundance.sum()
    frng = np.random.default_rng(frag_ss)
    w = abundance[contig_genome_arr] * clen  # cells x length: reads per contig
    contig = frng.choice(clen.size, size=n_pairs, p=w / w.sum())
    short = frng.random(n_pairs) < short_insert_fraction
    ins_long = np.rint(frng.normal(insert_mean, insert_sd, size=n_pairs)).astype(np.int64)
    ins_short = frng.integers(short_insert_min, read_length, size=n_pairs)
    insert = np.where(short, ins_short, np.maximum(ins_long, read_length))
    insert = np.minimum(insert, clen[contig])
    start = (frng.random(n_pairs) * (clen[contig] - insert + 1)).astype(np.int64)
    minus = frng.random(n_pairs) < 0.5
    cnames = np.asarray([n for n, _ in records], dtype=object)[contig]
    names = [f"{c}_{i}".encode() for i, c in enumerate(cnames)]

    res = simulate_pairs(
        source,
        offsets[contig] + start,
        insert,
        minus,
        names,
        read_length,
        model,
        seq_ss,
        r1_out,
        r2_out,
        adapter_r1=adapter_r1,
        adapter_r2=adapter_r2,
        compresslevel=compresslevel,
    )
    write_fasta(fasta_out, records, fai_path=f"{os.fspath(fasta_out)}.fai")
    end = start + insert
    c1, c2 = res["r1_consumed"], res["r2_consumed"]
    table = pd.DataFrame(
        {
            "read_name": [n.decode() for n in names],
            "genome": np.asarray(genomes, dtype=object)[contig_genome_arr[contig]],
            "contig": cnames,
            "strand": np.where(minus, "-", "+"),
            "frag_start": start,
            "frag_end": end,
            "insert_size": insert,
            "r1_start": np.where(minus, end - c1, start),
            "r1_end": np.where(minus, end, start + c1),
            "r2_start": np.where(minus, start, end - c2),
            "r2_end": np.where(minus, start + c2, end),
            "r1_adapter_start": res["r1_adapter"],
            "r2_adapter_start": res["r2_adapter"],
            "r1_sub_errors": res["r1_n_sub"],
            "r1_indel_errors": res["r1_n_indel"],
            "r2_sub_errors": res["r2_n_sub"],
            "r2_indel_errors": res["r2_n_indel"],
        },
        columns=TRUTH_COLUMNS,
    )
    write_table_gz(truth_out, table, compresslevel)

    pairs = np.bincount(contig_genome_arr[contig], minlength=n_genomes)
    read_frac = abundance * glen / (abundance * glen).sum()
    if abundance_out is not None:
        ab = pd.DataFrame(
            {
                "genome": genomes,
                "length": glen,
                "gc": np.round(ggc, 4),
                "abundance": abundance,
                "read_fraction": read_frac,
                "pairs": pairs,
            }
        )
        with atomic_path(abundance_out) as tmp:
            ab.to_csv(tmp, sep="\t", index=False, lineterminator="\n", float_format="%.6f")
    return {
        "genomes": {
            g: {
                "length": int(glen[i]),
                "abundance": round(float(abundance[i]), 6),
                "pairs": int(pairs[i]),
            }
            for i, g in enumerate(genomes)
        },
        "pairs": int(n_pairs),
        "adapter_pairs": int((res["r1_adapter"] >= 0).sum()),
    }
