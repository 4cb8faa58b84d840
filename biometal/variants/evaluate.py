"""Score call sets against a truth VCF: precision, recall and F1 for SNPs and indels.

Both the calls and the truth go through the same normalisation before they are compared:
multi-allelic records are split into one record per ALT; each ALT is left-aligned and
trimmed against the reference (:func:`~biometal.variants.normalize.normalize`, equal to
``bcftools norm -f ref -m -any``); an ALT of equal length > 1 bp (MNP, "complex") is split
into its differing single bases (SNPs). Symbolic ALTs (``<...>``, ``*``) and records whose
sample genotype has no ALT allele (``0/0``, ``./.``) are ignored.

Matching is by allele, genotype-agnostic: a call is a true positive when the truth holds
the same ``(contig, position, REF, ALT)`` after normalisation; a het called hom (or the
reverse) still counts as found. Type: SNP (1 bp each) or INDEL (lengths differ).
``TP`` counts calls matching the truth, ``FP`` calls without a match, ``FN`` truth alleles
without a matching call; precision = TP/(TP+FP), recall = TP/(TP+FN), F1 their harmonic
mean (0 when undefined).

Which records count: ``pass_only`` keeps FILTER PASS (or ``.``) records; ``min_qual``
drops records below that QUAL.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

from biometal.errors import InputFormatError
from biometal.io.bam import reference_contigs
from biometal.variants.normalize import normalize, variant_type
from biometal.variants.vcf_input import vcf_records

Allele = tuple[str, int, str, str]  # contig, 0-based pos, ref, alt (normalised)
TYPES = ("SNP", "INDEL")


def load_alleles(
    vcf: str | os.PathLike,
    reference: str | os.PathLike,
    *,
    pass_only: bool = True,
    min_qual: float | None = None,
) -> dict[str, set[Allele]]:
    """Normalised ALT alleles of a VCF, by type (``{"SNP": {...}, "INDEL": {...}}``).

    Raises :class:`~biometal.errors.InputFormatError` naming the file (and line) for a
    malformed VCF, a record on a contig the reference lacks or past its end, and a REF
    allele that disagrees with the reference (:mod:`biometal.variants.vcf_input`); a
    reference that cannot be used (missing, duplicate contig names) is named too.
    """
    import pysam

    contigs = reference_contigs(reference)  # exists, indexed, unique names
    fa = pysam.FastaFile(str(reference))
    out: dict[str, set[Allele]] = {t: set() for t in TYPES}
    cache: dict[str, str] = {}

    def seq(contig: str) -> str:
        if contig not in cache:
            cache.clear()
            cache[contig] = fa.fetch(contig).upper()
        return cache[contig]

    try:
        for line, rec in vcf_records(vcf, contigs, reference):
            if pass_only and rec.FILTER not in (None, "PASS"):
                continue
            if min_qual is not None and (rec.QUAL is None or rec.QUAL < min_qual):
                continue
            alts = rec.ALT
            carried = _carried_alts(rec, len(alts))
            contig = rec.CHROM
            s = seq(contig)
            _check_ref(vcf, line, contig, rec.start, rec.REF, s, reference)
            for i, alt in enumerate(alts, start=1):
                if i not in carried or not alt or alt.startswith("<") or alt in ("*", "."):
                    continue
                for allele in _alleles(contig, rec.start, rec.REF, alt, s):
                    kind = "SNP" if variant_type(allele[2], allele[3]) == "SNP" else "INDEL"
                    out[kind].add(allele)
    finally:
        fa.close()
    return out


_ACGT = frozenset("ACGT")


def _check_ref(
    vcf: str | os.PathLike,
    line: int,
    contig: str,
    start: int,
    ref: str,
    seq: str,
    reference: str | os.PathLike,
) -> None:
    """REF must equal the reference there (bases other than A/C/G/T on either side pass)."""
    ref = ref.upper()
    if start + len(ref) > len(seq):
        raise InputFormatError(
            str(vcf),
            line,
            f"REF {ref} at {contig}:{start + 1} runs past the end of the contig "
            f"({len(seq)} bp in {reference})",
        )
    have = seq[start : start + len(ref)]
    if have != ref and any(
        a != b and a in _ACGT and b in _ACGT for a, b in zip(ref, have, strict=True)
    ):
        raise InputFormatError(
            str(vcf),
            line,
            f"REF {ref[:20]} at {contig}:{start + 1} disagrees with the reference "
            f"{reference} ({have[:20]}); was the VCF made against another assembly?",
        )


def _carried_alts(rec, n_alts: int) -> set[int]:
    """ALT indices (1-based) present in the first sample's genotype (all if no samples)."""
    try:
        gts = rec.genotypes
    except Exception:  # no FORMAT/GT
        gts = None
    if not gts:
        return set(range(1, n_alts + 1))
    return {a for a in gts[0][:-1] if isinstance(a, int) and a > 0}


def _alleles(contig: str, pos: int, ref: str, alt: str, seq: str) -> Iterable[Allele]:
    p, r, a = normalize(pos, ref, alt, lambda x: seq[x])
    kind = variant_type(r, a)
    if kind == "MNP":
        for i, (x, y) in enumerate(zip(r, a, strict=True)):
            if x != y:
                yield (contig, p + i, x, y)
    else:
        yield (contig, p, r, a)


@dataclass
class Score:
    """TP/FP/FN of one caller and type, with precision, recall and F1."""

    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def score(calls: dict[str, set[Allele]], truth: dict[str, set[Allele]]) -> dict[str, Score]:
    """Per type: TP = calls in truth, FP = calls not in truth, FN = truth not in calls."""
    return {
        t: Score(
            tp=len(calls[t] & truth[t]),
            fp=len(calls[t] - truth[t]),
            fn=len(truth[t] - calls[t]),
        )
        for t in TYPES
    }
