"""QUAST-style evaluation of contigs against a reference (contigs aligned with mappy).

Per assembly (contigs of at least ``min_contig`` bp, QUAST's default 500):

- ``contigs``, ``total_bp``, ``largest``, ``n50``, ``ng50`` (lengths against the
  reference's length);
- alignments: mappy (minimap2) ``asm5`` preset, primary and supplementary hits of each
  contig, in contig order. Two consecutive hits of a contig are a *misassembly* (QUAST's
  extensive misassemblies) when they lie on different reference sequences
  (translocation), on different strands (inversion), or when the gap on the reference and
  the gap on the contig differ by more than ``relocation_bp`` (1 kb; relocation), as is an
  insertion or deletion longer than that inside one alignment;
- ``nga50``: NG50 of the aligned blocks after breaking contigs at misassemblies (a block:
  the aligned contig bases between two breaks);
- ``genome_fraction``: reference bases covered by an alignment / reference length (%);
- ``mismatches_per_100kb`` and ``indels_per_100kb``: mismatches (NM minus indel bases) and
  indel events over the aligned contig bases, per 100 kb;
- ``unaligned_bp``: contig bases in no alignment.

:func:`repeat_ceiling` gives the best NGA50 the repeats allow: the NG50 of the unitigs of
the reference's own compacted de Bruijn graph at the assembler's k (error-free, every
k-mer: a k-mer assembler without read pairs cannot join across a branch), and the NG50 of
the reference cut at every copy in its repeat table (BED, as
:func:`biometal.simulate.reference.simulate_reference` writes it).
"""

from __future__ import annotations

import os

import numpy as np

from biometal.assembly.graph import Graph, n50
from biometal.assembly.kmers import count_sequences
from biometal.errors import InputFormatError


def read_sequences(path: str | os.PathLike) -> list[tuple[str, str]]:
    """(name, upper-case sequence) of every record of a FASTA/FASTQ file (plain or gzip)."""
    import mappy

    if not os.path.exists(path):
        raise InputFormatError(os.fspath(path), None, "file not found")
    return [(name, seq.upper()) for name, seq, _ in mappy.fastx_read(os.fspath(path))]


def _union(intervals: list[tuple[str, int, int]]) -> int:
    total = 0
    by_ctg: dict[str, list[tuple[int, int]]] = {}
    for c, a, b in intervals:
        by_ctg.setdefault(c, []).append((a, b))
    for ivs in by_ctg.values():
        ivs.sort()
        cur_a, cur_b = ivs[0]
        for a, b in ivs[1:]:
            if a > cur_b:
                total += cur_b - cur_a
                cur_a, cur_b = a, b
            else:
                cur_b = max(cur_b, b)
        total += cur_b - cur_a
    return total


def evaluate_contigs(
    contigs: str | os.PathLike,
    reference: str | os.PathLike,
    *,
    min_contig: int = 500,
    relocation_bp: int = 1000,
    aligner=None,
) -> dict:
    """QUAST-style metrics of a contigs FASTA against a reference FASTA (see the module
    doc). ``aligner``: a prebuilt ``mappy.Aligner`` of ``reference`` (reused across
    assemblies). Returns a dict of plain numbers."""
    import mappy

    ref = read_sequences(reference)
    genome = sum(len(s) for _, s in ref)
    if genome == 0:
        raise InputFormatError(os.fspath(reference), None, "no reference sequence")
    if aligner is None:
        aligner = mappy.Aligner(os.fspath(reference), preset="asm5")
        if not aligner:
            raise InputFormatError(os.fspath(reference), None, "mappy could not index it")
    ctgs = [(n, s) for n, s in read_sequences(contigs) if len(s) >= min_contig]
    lengths = [len(s) for _, s in ctgs]
    blocks: list[int] = []
    covered: list[tuple[str, int, int]] = []
    misassemblies = mismatches = indels = aligned = 0
    for _, seq in ctgs:
        hits = sorted((h for h in aligner.map(seq) if h.is_primary), key=lambda h: h.q_st)
        block = 0
        prev = None
        for h in hits:
            if prev is not None:
                q_gap = h.q_st - prev.q_en
                r_gap = (h.r_st - prev.r_en) if h.strand > 0 else (prev.r_st - h.r_en)
                if (
                    h.ctg != prev.ctg
                    or h.strand != prev.strand
                    or abs(r_gap - q_gap) > relocation_bp
                ):
                    misassemblies += 1
                    blocks.append(block)
                    block = 0
            # an indel longer than relocation_bp inside one hit: a relocation
            r = r0 = h.r_st
            for n, op in h.cigar:
                if op in (1, 2) and n > relocation_bp:
                    misassemblies += 1
                    blocks.append(block)
                    block = 0
                    covered.append((h.ctg, r0, r))
                    r = r0 = r + (n if op == 2 else 0)
                    continue
                if op in (0, 1, 7, 8):  # M I = X: contig bases
                    block += n
                if op in (0, 2, 3, 7, 8):  # M D N = X: reference bases
                    r += n
            covered.append((h.ctg, r0, r))
            qlen = h.q_en - h.q_st
            aligned += qlen
            ins_del = sum(n for n, op in h.cigar if op in (1, 2))
            indels += sum(1 for n, op in h.cigar if op in (1, 2) and n <= relocation_bp)
            mismatches += h.NM - ins_del
            prev = h
        if block:
            blocks.append(block)
    per100k = 1e5 / aligned if aligned else 0.0
    return {
        "contigs": len(ctgs),
        "total_bp": int(sum(lengths)),
        "largest": int(max(lengths, default=0)),
        "n50": n50(lengths),
        "ng50": n50(lengths, genome),
        "nga50": n50(blocks, genome),
        "genome_fraction": round(100.0 * _union(covered) / genome, 3) if covered else 0.0,
        "misassemblies": int(misassemblies),
        "mismatches_per_100kb": round(mismatches * per100k, 2),
        "indels_per_100kb": round(indels * per100k, 2),
        "unaligned_bp": int(sum(lengths) - aligned),
        "reference_bp": int(genome),
    }


def read_repeat_bed(path: str | os.PathLike) -> list[tuple[str, int, int]]:
    """(contig, start, end) of every repeat copy in a BED file (0-based, half-open)."""
    out = []
    with open(path) as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip() or line.startswith(("#", "track", "browser")):
                continue
            f = line.split("\t")
            try:
                out.append((f[0], int(f[1]), int(f[2])))
            except (IndexError, ValueError):
                raise InputFormatError(
                    os.fspath(path), lineno, "expected chrom, start, end"
                ) from None
    return out


def repeat_ceiling(
    reference: str | os.PathLike,
    k: int,
    repeats_bed: str | os.PathLike | None = None,
    *,
    min_contig: int = 500,
) -> dict:
    """The best NGA50 the repeats allow (see the module doc): ``kmer_ceiling`` (NG50 of the
    reference's unitigs at k, those >= ``min_contig``), ``kmer_unitigs`` (their number) and,
    with a repeat table, ``repeat_ceiling`` (NG50 of the pieces between repeat copies)."""
    ref = read_sequences(reference)
    genome = sum(len(s) for _, s in ref)
    g = Graph.from_table(count_sequences([s for _, s in ref], k))
    unitigs = [len(s) for s in g.seq.values() if len(s) >= min_contig]
    out = {"kmer_ceiling": n50(unitigs, genome), "kmer_unitigs": len(g)}
    if repeats_bed is not None:
        cuts: dict[str, list[tuple[int, int]]] = {}
        for c, a, b in read_repeat_bed(repeats_bed):
            if b - a >= k:
                cuts.setdefault(c, []).append((a, b))
        pieces = []
        for name, seq in ref:
            pos = 0
            for a, b in sorted(cuts.get(name, [])):
                pieces.append(a - pos)
                pos = max(pos, b)
            pieces.append(len(seq) - pos)
        pieces = [int(x) for x in np.asarray(pieces) if x >= min_contig]
        out["repeat_ceiling"] = n50(pieces, genome)
    return out
