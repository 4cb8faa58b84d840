"""Paired-end Illumina-like reads from the two haplotypes, with a per-read truth table.

Fragments: ``n_pairs = round(coverage * reference_length / (2 * read_length))``. Each
fragment picks a position uniformly over both haplotypes of all contigs (so haplotype 1
and 2 get the same coverage), a length ``round(N(insert_mean, insert_sd))`` clipped to
``[read_length, longest haplotype]``, and a strand (+/- with probability 1/2). R1 reads the
fragment's 5' end, R2 the 3' end of the other strand (FR): for a ``+`` fragment R1 is
forward from ``frag_hap_start`` and R2 reverse-complemented from ``frag_hap_end``; for a ``-``
fragment the other way round. Errors and qualities follow
:mod:`biometal.simulate._sequencer` (substitutions at ``10**(-Q/10)``, rising from
``sub_rate_start`` to ``sub_rate_end`` along the read; indel errors; ``N`` with quality 2).

Read names are ``{contig}_{pair_index}`` (0-based, in file order), identical in R1 and R2.

Truth table (``truth_out``, gzip TSV with a header, one row per pair, in FASTQ order):

===================  ========================================================================
``read_name``        name of both mates
``contig``           reference contig
``haplotype``        1 or 2 (record ``{contig}_hap{haplotype}`` of the haplotype FASTA)
``strand``           strand of R1: ``+`` (R1 forward on the haplotype) or ``-``
``frag_hap_start``   fragment start, 0-based on the haplotype
``frag_hap_end``     fragment end, exclusive (``- start`` = insert size)
``r1_hap_start``     haplotype span covered by R1, 0-based half-open; R1's sequence (after
``r1_hap_end``       reverse complement when ``strand`` is ``-``) is this span with the
                     recorded errors; the span is ``read_length - insertions + deletions``
``r2_hap_start``     same for R2 (R2 is on the strand opposite to ``strand``)
``r2_hap_end``
``r1_ref_start``     R1's span mapped to the reference through the truth VCF, 0-based
``r1_ref_end``       half-open (bases inserted in the haplotype map to the reference
``r2_ref_start``     position right after the insertion's anchor)
``r2_ref_end``
``r1_sub_errors``    substitution errors in R1 (``N`` not counted)
``r1_indel_errors``  insertion + deletion errors in R1 (1 bp each)
``r1_n``             ``N`` bases in R1
``r2_sub_errors``    same for R2
``r2_indel_errors``
``r2_n``
===================  ========================================================================
"""

from __future__ import annotations

import io
import os

import numpy as np
import pandas as pd

from biometal.errors import BiometalError, ConfigError
from biometal.simulate._fastq_out import DEFAULT_COMPRESSLEVEL, write_text_gz
from biometal.simulate._seq import seed_sequence
from biometal.simulate._sequencer import ErrorModel, simulate_pairs
from biometal.simulate.variants import load_haplotypes

TRUTH_COLUMNS = [
    "read_name",
    "contig",
    "haplotype",
    "strand",
    "frag_hap_start",
    "frag_hap_end",
    "r1_hap_start",
    "r1_hap_end",
    "r2_hap_start",
    "r2_hap_end",
    "r1_ref_start",
    "r1_ref_end",
    "r2_ref_start",
    "r2_ref_end",
    "r1_sub_errors",
    "r1_indel_errors",
    "r1_n",
    "r2_sub_errors",
    "r2_indel_errors",
    "r2_n",
]


def check_read_params(read_length: int, insert_mean: float, insert_sd: float) -> None:
    if not 20 <= read_length <= 1000:
        raise ConfigError(f"read_length: expected 20..1000, got {read_length!r}")
    if insert_mean <= 0:
        raise ConfigError(f"insert_mean: expected > 0, got {insert_mean!r}")
    if insert_sd < 0:
        raise ConfigError(f"insert_sd: expected >= 0, got {insert_sd!r}")


def place_fragments(
    rng: np.random.Generator, seg_lengths: np.ndarray, frag_len: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Uniform fragment starts over concatenated segments, never crossing a segment end.

    Returns ``(segment index, start within segment)`` per fragment (rejection sampling).
    """
    offsets = np.concatenate([[0], np.cumsum(seg_lengths)])
    total = int(offsets[-1])
    n = frag_len.size
    seg = np.zeros(n, dtype=np.int64)
    start = np.zeros(n, dtype=np.int64)
    todo = np.arange(n)
    for _ in range(1000):
        if todo.size == 0:
            break
        g = rng.integers(0, total, size=todo.size)
        s = np.searchsorted(offsets, g, side="right") - 1
        local = g - offsets[s]
        ok = local + frag_len[todo] <= seg_lengths[s]
        seg[todo[ok]] = s[ok]
        start[todo[ok]] = local[ok]
        todo = todo[~ok]
    if todo.size:
        raise BiometalError("fragments longer than every sequence: lower insert_mean/read_length")
    return seg, start


def simulate_reads(
    reference_fasta: str | os.PathLike,
    hap_fasta: str | os.PathLike,
    vcf: str | os.PathLike,
    r1_out: str | os.PathLike,
    r2_out: str | os.PathLike,
    truth_out: str | os.PathLike,
    *,
    coverage: float = 30.0,
    read_length: int = 150,
    insert_mean: float = 350.0,
    insert_sd: float = 50.0,
    errors: ErrorModel | None = None,
    compresslevel: int = DEFAULT_COMPRESSLEVEL,
    error_truth_out: tuple | None = None,
    seed: int,
) -> dict:
    """Simulate read pairs from the haplotypes; write R1/R2 FASTQ.gz and the truth table.

    ``coverage`` is the mean depth over the reference (both mates count); lengths in bp;
    ``errors``: the sequencing error model (None: :class:`ErrorModel`'s defaults).
    ``error_truth_out``: optional ``(r1, r2)`` paths of per-base error-truth sidecars
    (:func:`biometal.simulate._sequencer.error_truth_block`; the FASTQ files do not change).
    Returns a summary (pairs, realised error rates).
    """
    check_read_params(read_length, insert_mean, insert_sd)
    if coverage <= 0:
        raise ConfigError(f"coverage: expected > 0, got {coverage!r}")
    model = ErrorModel() if errors is None else errors
    haps = load_haplotypes(reference_fasta, hap_fasta, vcf)
    ref_total = sum(m.ref_length for _, h, _, m in haps if h == 1)
    seg_len = np.asarray([s.size for _, _, s, _ in haps], dtype=np.int64)
    source = np.concatenate([s for _, _, s, _ in haps])
    offsets = np.concatenate([[0], np.cumsum(seg_len)])

    n_pairs = max(1, int(round(coverage * ref_total / (2 * read_length))))
    frag_ss, seq_ss = seed_sequence(seed, "reads").spawn(2)
    rng = np.random.default_rng(frag_ss)
    flen = np.rint(rng.normal(insert_mean, insert_sd, size=n_pairs)).astype(np.int64)
    flen = np.clip(flen, read_length, int(seg_len.max()))
    seg, fstart = place_fragments(rng, seg_len, flen)
    minus = rng.random(n_pairs) < 0.5

    contigs = np.asarray([c for c, _, _, _ in haps], dtype=object)[seg]
    names = [f"{c}_{i}".encode() for i, c in enumerate(contigs)]
    res = simulate_pairs(
        source,
        offsets[seg] + fstart,
        flen,
        minus,
        names,
        read_length,
        model,
        seq_ss,
        r1_out,
        r2_out,
        compresslevel=compresslevel,
        truth_out=error_truth_out,
    )

    fend = fstart + flen
    c1, c2 = res["r1_consumed"], res["r2_consumed"]
    r1s = np.where(minus, fend - c1, fstart)
    r1e = np.where(minus, fend, fstart + c1)
    r2s = np.where(minus, fstart, fend - c2)
    r2e = np.where(minus, fstart + c2, fend)
    ref = {k: np.zeros(n_pairs, dtype=np.int64) for k in ("r1s", "r1e", "r2s", "r2e")}
    for i, (_, _, _, hmap) in enumerate(haps):
        sel = np.flatnonzero(seg == i)
        if sel.size == 0:
            continue
        ref["r1s"][sel] = hmap.ref_start_of(r1s[sel])
        ref["r1e"][sel] = hmap.ref_end_of(r1e[sel])
        ref["r2s"][sel] = hmap.ref_start_of(r2s[sel])
        ref["r2e"][sel] = hmap.ref_end_of(r2e[sel])

    table = pd.DataFrame(
        {
            "read_name": [n.decode() for n in names],
            "contig": contigs,
            "haplotype": np.asarray([h for _, h, _, _ in haps])[seg],
            "strand": np.where(minus, "-", "+"),
            "frag_hap_start": fstart,
            "frag_hap_end": fend,
            "r1_hap_start": r1s,
            "r1_hap_end": r1e,
            "r2_hap_start": r2s,
            "r2_hap_end": r2e,
            "r1_ref_start": ref["r1s"],
            "r1_ref_end": ref["r1e"],
            "r2_ref_start": ref["r2s"],
            "r2_ref_end": ref["r2e"],
            "r1_sub_errors": res["r1_n_sub"],
            "r1_indel_errors": res["r1_n_indel"],
            "r1_n": res["r1_n_n"],
            "r2_sub_errors": res["r2_n_sub"],
            "r2_indel_errors": res["r2_n_indel"],
            "r2_n": res["r2_n_n"],
        },
        columns=TRUTH_COLUMNS,
    )
    write_table_gz(truth_out, table, compresslevel)

    bases = 2 * n_pairs * read_length
    return {
        "pairs": n_pairs,
        "read_length": read_length,
        "coverage": round(bases / ref_total, 3),
        "mean_insert": round(float(flen.mean()), 2),
        "sub_error_rate": round(float((res["r1_n_sub"].sum() + res["r2_n_sub"].sum()) / bases), 6),
        "indel_error_rate": round(
            float((res["r1_n_indel"].sum() + res["r2_n_indel"].sum()) / bases), 7
        ),
        "n_rate": round(float((res["r1_n_n"].sum() + res["r2_n_n"].sum()) / bases), 7),
    }


def write_table_gz(
    path: str | os.PathLike, table: pd.DataFrame, compresslevel: int = DEFAULT_COMPRESSLEVEL
) -> None:
    """Write a DataFrame as a deterministic gzip TSV (header, no index)."""
    buf = io.StringIO()
    table.to_csv(buf, sep="\t", index=False, lineterminator="\n")
    write_text_gz(path, buf.getvalue(), compresslevel)
