"""Candidate sites of the variant filter: the caller's records, labelled by the truth, with
their strata; and the down-sampled BAM the 10x rows are scored on.

- :func:`read_calls`: the biallelic records of a VCF (the biometal caller's, any FILTER) as
  a table, each allele normalised exactly as :mod:`biometal.variants.evaluate` does (left-
  aligned, trimmed), with the caller's QUAL, FILTER, INFO/AF and INFO/DP.
- :func:`label_calls`: ``label`` = the normalised allele is in the truth (the case study's
  genotype-agnostic matching: :func:`biometal.variants.evaluate.load_alleles`).
- Strata (:func:`strata`), per allele: ``repeat`` (the site lies in an annotated repeat: the
  simulated reference's repeat BED; without one, a homopolymer of >= 6 bp within 5 bp),
  ``low_af`` (ALT fraction seen in the candidate calls < 0.3; a truth allele the candidates
  never saw has fraction 0), ``near_indel`` (an indel of the truth or of the candidates,
  other than itself, within 10 bp: where misaligned indel reads make false SNPs).
- :func:`downsample_bam`: ``samtools view -s`` through pysam (seeded), indexed.
- :func:`call_candidates`: the biometal caller twice on one BAM: with the candidate
  thresholds (low: false candidates to learn from) and with the case study's own.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from biometal.errors import BiometalError
from biometal.io.atomic import atomic_path
from biometal.io.vcf import read_vcf_all
from biometal.variants.evaluate import Allele, _alleles, load_alleles
from biometal.variants.normalize import variant_type

log = logging.getLogger(__name__)

#: strata of the scores (besides "all", "SNP", "INDEL")
STRATA = ("repeat", "low_af", "near_indel")
LOW_AF = 0.3
NEAR_INDEL_BP = 10
HOMOPOLYMER_BP = 6


class _Contigs:
    """Upper-case contig sequences, one cached at a time."""

    def __init__(self, reference: str | os.PathLike) -> None:
        import pysam

        self.fa = pysam.FastaFile(str(reference))
        self.name = ""
        self.seq = ""

    def __call__(self, contig: str) -> str:
        if contig != self.name:
            self.name, self.seq = contig, self.fa.fetch(contig).upper()
        return self.seq


def read_calls(vcf: str | os.PathLike, reference: str | os.PathLike) -> pd.DataFrame:
    """One row per normalised allele of a VCF (every FILTER): ``chrom``, ``pos`` (0-based),
    ``ref``, ``alt``, ``type`` (SNP / INDEL), ``qual``, ``passed`` (FILTER PASS or .),
    ``af``, ``dp`` (INFO/AF, INFO/DP; NaN / 0 when absent), ``key`` (the allele tuple)."""
    chunk = read_vcf_all(vcf, info=("AF", "DP"), gt=False)
    seq = _Contigs(reference)
    rows = []
    af = chunk.info.get("AF")
    dp = chunk.info.get("DP")
    if af is not None and af.ndim == 2:  # Number=A: the first ALT's (biallelic records)
        af = af[:, 0]
    for i in range(len(chunk)):
        contig = str(chunk.chrom[i])
        s = seq(contig)
        for alt in str(chunk.alt[i]).split(","):
            if not alt or alt.startswith("<") or alt in ("*", "."):
                continue
            for key in _alleles(contig, int(chunk.pos[i]) - 1, str(chunk.ref[i]), alt, s):
                rows.append(
                    (
                        key[0],
                        key[1],
                        key[2],
                        key[3],
                        "SNP" if variant_type(key[2], key[3]) == "SNP" else "INDEL",
                        float(chunk.qual[i]),
                        str(chunk.filter[i]) in ("PASS", "."),
                        float(af[i]) if af is not None else np.nan,
                        int(dp[i]) if dp is not None and dp[i] >= 0 else 0,
                        key,
                    )
                )
    cols = ["chrom", "pos", "ref", "alt", "type", "qual", "passed", "af", "dp", "key"]
    df = pd.DataFrame(rows, columns=cols)
    # one row per allele (a multi-record allele keeps its best QUAL)
    df = df.sort_values("qual", ascending=False, kind="stable").drop_duplicates("key")
    return df.sort_values(["chrom", "pos"], kind="stable").reset_index(drop=True)


def load_truth(truth: str | os.PathLike, reference: str | os.PathLike) -> set[Allele]:
    """Every normalised truth allele (SNPs and indels together)."""
    by_type = load_alleles(truth, reference)
    return by_type["SNP"] | by_type["INDEL"]


def label_calls(calls: pd.DataFrame, truth: set[Allele]) -> np.ndarray:
    """bool (n,): the call's normalised allele is a truth allele."""
    return np.fromiter((k in truth for k in calls["key"]), bool, len(calls))


def _repeat_lookup(repeats_bed: str | os.PathLike | None):
    """contig -> (merged starts, merged ends) of the repeat BED (None: no BED)."""
    if not repeats_bed:
        return None
    from biometal.regions.bed import read_bed

    iv = read_bed(repeats_bed)
    names = iv.chrom_str()
    out = {}
    for contig in np.unique(names):
        m = names == contig
        s, e = iv.start[m], iv.end[m]
        order = np.argsort(s, kind="stable")
        s, e = s[order], np.maximum.accumulate(e[order])
        # merged: a new interval starts where start > running max end of the previous ones
        new = np.ones(len(s), bool)
        new[1:] = s[1:] > e[:-1]
        idx = np.flatnonzero(new)
        ends = np.append(e[idx[1:] - 1], e[-1]) if len(idx) else e
        out[str(contig)] = (s[idx], ends)
    return out


def _in_repeat(lookup, contig: str, pos: int, end: int) -> bool:
    if contig not in lookup:
        return False
    s, e = lookup[contig]
    i = int(np.searchsorted(s, end, side="left")) - 1  # last repeat starting before end
    return i >= 0 and int(e[i]) > pos


def _homopolymer(seq: str, pos: int, end: int) -> bool:
    lo, hi = max(0, pos - 5), min(len(seq), end + 5)
    run, prev = 0, ""
    for b in seq[lo:hi]:
        run = run + 1 if b == prev else 1
        prev = b
        if run >= HOMOPOLYMER_BP:
            return True
    return False


def strata(
    keys: Iterable[Allele],
    reference: str | os.PathLike,
    truth: set[Allele],
    candidate_af: dict[Allele, float],
    repeats_bed: str | os.PathLike | None = None,
) -> pd.DataFrame:
    """bool columns ``repeat``, ``low_af``, ``near_indel`` (module doc) for each allele;
    the indels of ``near_indel`` are the truth's and the candidates' (``candidate_af``)."""
    keys = list(keys)
    lookup = _repeat_lookup(repeats_bed)
    seq = _Contigs(reference)
    indels: dict[str, list] = {}
    indel_keys = {k for k in (*truth, *candidate_af) if len(k[2]) != len(k[3])}
    for key in indel_keys:
        indels.setdefault(key[0], []).append(key[1])
    ind = {c: np.sort(np.asarray(v, np.int64)) for c, v in indels.items()}
    rep = np.zeros(len(keys), bool)
    low = np.zeros(len(keys), bool)
    near = np.zeros(len(keys), bool)
    for i, key in enumerate(keys):
        c, p, r, a = key
        end = p + max(len(r), 1)
        if lookup is not None:
            rep[i] = _in_repeat(lookup, c, p, end)
        else:
            rep[i] = _homopolymer(seq(c), p, end)
        low[i] = candidate_af.get(key, 0.0) < LOW_AF
        q = ind.get(c)
        if q is not None and len(q):
            lo = np.searchsorted(q, p - NEAR_INDEL_BP, side="left")
            hi = np.searchsorted(q, end + NEAR_INDEL_BP, side="right")
            n = int(hi - lo) - int(key in indel_keys)
            near[i] = n > 0
    return pd.DataFrame({"repeat": rep, "low_af": low, "near_indel": near})


def downsample_bam(
    bam: str | os.PathLike, out: str | os.PathLike, fraction: float, seed: int = 42
) -> None:
    """Keep a ``fraction`` of the read pairs (``samtools view -s SEED.FRAC``, pysam's bundled
    samtools: mates stay together), write ``out`` and its ``.bai`` atomically."""
    import pysam

    if not 0.0 < fraction <= 1.0:
        raise BiometalError(f"downsampling fraction must be in (0, 1], got {fraction}")
    with atomic_path(out) as tmp, atomic_path(f"{out}.bai") as tmp_bai:
        args = ["-b", "-o", str(tmp), str(bam)]
        if fraction < 1.0:
            args[1:1] = ["-s", f"{int(seed)}.{f'{fraction:.6f}'.split('.')[1]}"]
        pysam.view(*args, catch_stdout=False)
        pysam.index(str(tmp), "-o", str(tmp_bai))


def call_candidates(
    bam: str | os.PathLike,
    reference: str | os.PathLike,
    candidates_out: str | os.PathLike,
    caller_out: str | os.PathLike,
    *,
    sample: str,
    pileup: Mapping[str, Any],
    calling: Mapping[str, Any],
    candidates: Mapping[str, Any],
    backend: str | None = None,
    threads: int = 1,
) -> None:
    """Call ``bam`` with the thresholds ``calling`` (the config's ``variants.calling``) into
    ``caller_out`` and with ``calling`` overridden by ``candidates`` into ``candidates_out``
    (bgzipped, tabix-indexed VCFs; ``pileup``: the config's ``variants.pileup``)."""
    from biometal.pileup.params import pileup_params
    from biometal.variants.call import CallParams, call_variants

    pp = pileup_params(pileup, threads=threads, backend=backend)
    call_variants(
        bam, reference, caller_out, sample=sample, pileup=pp, calling=CallParams(**calling)
    )
    low = CallParams(**{**calling, **candidates})
    call_variants(bam, reference, candidates_out, sample=sample, pileup=pp, calling=low)
