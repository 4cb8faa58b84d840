"""Simulated reference genome with GC variation, tandem and interspersed repeats.

Layout of each contig (``chr1`` .. ``chrN``):

* background: consecutive segments (exponential lengths, mean ``gc_segment_mean`` bp) whose
  GC fraction is drawn uniformly from ``gc_range``, so GC varies along and between contigs;
* interspersed repeats: ``n_repeat_families`` families, each a random consensus of
  ``repeat_length_range`` bp (log-uniform) with its own age (divergence level drawn from
  ``repeat_divergence``); copies (full length, or 5'-truncated like LINEs) of a random
  strand, mutated by substitutions plus 1-3 bp indels at that divergence, overwrite the
  background until ``repeat_fraction`` of the genome is covered. Every family gets at least
  two copies where space allows, so a k-mer from a consensus occurs many times;
* tandem repeats: microsatellites (unit 1-6 bp, 12-80 bp long) and minisatellites (unit
  10-60 bp, 5-40 copies, at most 2 kb), with 1-3% point mutations between units, covering
  ``tandem_repeat_fraction`` of the genome, never overlapping the interspersed copies.

No ``N`` is placed in the reference. Outputs: FASTA with 60-column lines, a samtools-layout
``.fai``, and optionally the repeat library (family consensus FASTA) and a BED6 annotation of
every repeat copy (``name`` = family id, ``(UNIT)n`` for microsatellites or
``minisat_<unit length>``; ``score`` = copy divergence in per mille; ``strand``).
"""

from __future__ import annotations

import os

import numpy as np

from biometal.errors import ConfigError
from biometal.io.atomic import atomic_path
from biometal.simulate._seq import make_rng, mutate, random_bases, revcomp, write_fasta


def _check(cond: bool, key: str, what: str) -> None:
    if not cond:
        raise ConfigError(f"{key}: {what}")


def _contig_lengths(rng: np.random.Generator, n: int, total: int) -> list[int]:
    w = rng.uniform(0.5, 1.5, size=n)
    lengths = np.floor(w / w.sum() * total).astype(np.int64)
    lengths[0] += total - lengths.sum()
    return [int(x) for x in lengths]


def _background(rng: np.random.Generator, length: int, gc_range, seg_mean: float) -> np.ndarray:
    gc = np.empty(length)
    pos = 0
    while pos < length:
        seg = int(rng.exponential(seg_mean)) + 200
        gc[pos : pos + seg] = rng.uniform(*gc_range)
        pos += seg
    return random_bases(rng, length, gc)


class _Occupancy:
    """Free/occupied bases per contig; places non-overlapping elements."""

    def __init__(self, lengths: list[int]):
        self.masks = [np.zeros(n, dtype=bool) for n in lengths]
        self.lengths = np.asarray(lengths, dtype=np.float64)

    def place(self, rng: np.random.Generator, size: int, tries: int = 50):
        p = self.lengths / self.lengths.sum()
        for _ in range(tries):
            c = int(rng.choice(len(self.masks), p=p))
            mask = self.masks[c]
            if size > mask.size:
                continue
            s = int(rng.integers(0, mask.size - size + 1))
            if not mask[s : s + size].any():
                mask[s : s + size] = True
                return c, s
        return None


def simulate_reference(
    fasta_out: str | os.PathLike,
    fai_out: str | os.PathLike | None = None,
    *,
    n_contigs: int = 4,
    total_length: int = 2_000_000,
    gc_range: tuple[float, float] = (0.35, 0.60),
    gc_segment_mean: int = 20_000,
    n_repeat_families: int = 6,
    repeat_length_range: tuple[int, int] = (300, 6000),
    repeat_fraction: float = 0.10,
    repeat_divergence: tuple[float, float] = (0.02, 0.20),
    tandem_repeat_fraction: float = 0.03,
    repeat_library_out: str | os.PathLike | None = None,
    repeats_bed_out: str | os.PathLike | None = None,
    seed: int,
) -> dict:
    """Write a simulated reference FASTA (+ ``.fai``, default ``fasta_out + ".fai"``).

    Lengths in bp, fractions of the total length. Returns a summary: contig names and
    lengths, GC, number of repeat copies per family and of tandem repeat loci.
    """
    _check(n_contigs >= 1, "n_contigs", f"expected >= 1, got {n_contigs!r}")
    _check(
        total_length >= 1000 * n_contigs,
        "total_length",
        f"expected >= 1000 bp per contig, got {total_length!r} for {n_contigs} contigs",
    )
    lo_gc, hi_gc = gc_range
    _check(0.0 < lo_gc <= hi_gc < 1.0, "gc_range", f"expected 0 < lo <= hi < 1, got {gc_range!r}")
    lo_len, hi_len = repeat_length_range
    _check(
        10 <= lo_len <= hi_len,
        "repeat_length_range",
        f"expected 10 <= lo <= hi, got {repeat_length_range!r}",
    )
    lo_div, hi_div = repeat_divergence
    _check(
        0.0 <= lo_div <= hi_div < 0.75,
        "repeat_divergence",
        f"expected 0 <= lo <= hi < 0.75, got {repeat_divergence!r}",
    )
    _check(
        0.0 <= repeat_fraction < 0.9,
        "repeat_fraction",
        f"expected [0, 0.9), got {repeat_fraction!r}",
    )
    _check(
        0.0 <= tandem_repeat_fraction < 0.5,
        "tandem_repeat_fraction",
        f"expected [0, 0.5), got {tandem_repeat_fraction!r}",
    )
    _check(n_repeat_families >= 0, "n_repeat_families", f"expected >= 0, got {n_repeat_families!r}")
    _check(gc_segment_mean >= 1, "gc_segment_mean", f"expected >= 1, got {gc_segment_mean!r}")

    rng = make_rng(seed, "reference")
    names = [f"chr{i + 1}" for i in range(n_contigs)]
    lengths = _contig_lengths(rng, n_contigs, total_length)
    contigs = [_background(rng, n, gc_range, gc_segment_mean) for n in lengths]
    occ = _Occupancy(lengths)
    bed: list[
        tuple[int, int, int, str, int, str]
    ] = []  # contig idx, start, end, name, score, strand

    # interspersed repeat families
    fam_len = np.exp(rng.uniform(np.log(lo_len), np.log(hi_len), size=n_repeat_families))
    fam_len = np.maximum(np.rint(fam_len).astype(np.int64), lo_len)
    fam_div = rng.uniform(lo_div, hi_div, size=n_repeat_families)
    fam_names = [f"RF{i + 1}" for i in range(n_repeat_families)]
    consensus = [random_bases(rng, int(n), rng.uniform(0.38, 0.55)) for n in fam_len]
    fam_weight = rng.dirichlet(np.ones(n_repeat_families)) if n_repeat_families else None
    copies = np.zeros(n_repeat_families, dtype=np.int64)
    budget = repeat_fraction * total_length
    used = 0
    failures = 0
    i = 0
    while n_repeat_families and used < budget and failures < 20:
        f = (
            i % n_repeat_families
            if i < 2 * n_repeat_families
            else int(rng.choice(n_repeat_families, p=fam_weight))
        )
        i += 1
        cons = consensus[f]
        if rng.random() < 0.5 or cons.size < 200:
            piece = cons
        else:  # 5'-truncated copy
            piece = cons[int(rng.integers(0, cons.size - 100)) :]
        div = float(np.clip(fam_div[f] * rng.uniform(0.6, 1.4), lo_div, hi_div))
        piece = mutate(rng, piece, sub_rate=div * 0.9, indel_rate=div * 0.1 / 2, max_indel=3)
        strand = "+"
        if rng.random() < 0.5:
            piece, strand = revcomp(piece), "-"
        where = occ.place(rng, piece.size)
        if where is None:
            failures += 1
            continue
        c, s = where
        contigs[c][s : s + piece.size] = piece
        bed.append((c, s, s + piece.size, fam_names[f], int(round(div * 1000)), strand))
        copies[f] += 1
        used += piece.size

    # tandem repeats
    budget = tandem_repeat_fraction * total_length
    used = 0
    failures = 0
    n_micro = n_mini = 0
    while used < budget and failures < 50:
        if rng.random() < 0.7:
            unit_len = int(rng.integers(1, 7))
            total = int(rng.integers(12, 81))
            kind = "micro"
        else:
            unit_len = int(rng.integers(10, 61))
            total = min(2000, unit_len * int(rng.integers(5, 41)))
            kind = "mini"
        unit = random_bases(rng, unit_len, 0.5)
        arr = np.resize(unit, total)
        div = float(rng.uniform(0.01, 0.03))
        arr = mutate(rng, arr, sub_rate=div)
        where = occ.place(rng, arr.size)
        if where is None:
            failures += 1
            continue
        c, s = where
        contigs[c][s : s + arr.size] = arr
        name = f"({unit.tobytes().decode()})n" if kind == "micro" else f"minisat_{unit_len}"
        bed.append((c, s, s + arr.size, name, int(round(div * 1000)), "+"))
        used += arr.size
        n_micro += kind == "micro"
        n_mini += kind == "mini"

    if fai_out is None:
        fai_out = f"{os.fspath(fasta_out)}.fai"
    write_fasta(fasta_out, zip(names, contigs, strict=True), fai_path=fai_out)
    if repeat_library_out is not None:
        write_fasta(
            repeat_library_out,
            zip(fam_names, consensus, strict=True),
            fai_path=f"{os.fspath(repeat_library_out)}.fai",
        )
    if repeats_bed_out is not None:
        bed.sort(key=lambda r: (r[0], r[1]))
        text = "".join(f"{names[c]}\t{s}\t{e}\t{n}\t{sc}\t{st}\n" for c, s, e, n, sc, st in bed)
        with atomic_path(repeats_bed_out) as tmp:
            tmp.write_text(text)

    gc_all = np.concatenate(contigs)
    return {
        "contigs": dict(zip(names, lengths, strict=True)),
        "total_length": int(sum(lengths)),
        "gc": float(np.isin(gc_all, np.frombuffer(b"GC", dtype=np.uint8)).mean()),
        "repeat_families": {
            n: {"length": int(ln), "divergence": round(float(d), 4), "copies": int(k)}
            for n, ln, d, k in zip(fam_names, fam_len, fam_div, copies, strict=True)
        },
        "interspersed_bp": int(sum(e - s for _, s, e, n, _, _ in bed if n.startswith("RF"))),
        "microsatellites": int(n_micro),
        "minisatellites": int(n_mini),
        "tandem_bp": int(sum(e - s for _, s, e, n, _, _ in bed if not n.startswith("RF"))),
    }
