"""Variant normalisation: trim shared bases, left-align indels (Tan et al. 2015, "vt normalize").

A variant is normalised when it is *left-aligned* (it cannot be shifted left and still
describe the same haplotype) and *parsimonious* (no base can be dropped from the ends of
both alleles while both stay non-empty). The algorithm: drop a shared last base, extend
both alleles by the preceding reference base when one becomes empty, repeat; then drop
shared first bases while both alleles are longer than 1 bp. The result equals
``bcftools norm -f ref`` for biallelic records (tests/unit/test_variants_eval.py).
Coordinates are 0-based here; ``fetch(pos)`` returns the reference base at ``pos``.
"""

from __future__ import annotations

from collections.abc import Callable


def normalize(pos: int, ref: str, alt: str, fetch: Callable[[int], str]) -> tuple[int, str, str]:
    """Left-align and trim one biallelic variant; returns (pos, ref, alt) (0-based pos).

    Alleles are compared case-insensitively and returned upper case. A variant whose
    alleles are equal is returned unchanged.
    """
    ref, alt = ref.upper(), alt.upper()
    if ref == alt:
        return pos, ref, alt
    while True:
        changed = False
        if ref and alt and ref[-1] == alt[-1]:
            ref, alt = ref[:-1], alt[:-1]
            changed = True
        if (not ref or not alt) and pos > 0:
            pos -= 1
            base = fetch(pos).upper()
            ref, alt = base + ref, base + alt
            changed = True
        if not changed:
            break
    while len(ref) >= 2 and len(alt) >= 2 and ref[0] == alt[0]:
        ref, alt = ref[1:], alt[1:]
        pos += 1
    return pos, ref, alt


def variant_type(ref: str, alt: str) -> str:
    """SNP (1 bp each), INDEL (lengths differ) or MNP (same length, > 1 bp)."""
    if len(ref) == len(alt):
        return "SNP" if len(ref) == 1 else "MNP"
    return "INDEL"
