"""Diploid truth variants and the two haplotypes they make.

Variants (per contig, independent of each other):

* SNPs at ``snp_rate`` per bp (transition:transversion about 2:1);
* indels at ``indel_rate`` per bp, half insertions, half deletions, length ``1..max_indel``
  with P(l) proportional to 1/l; half the insertions duplicate the following reference
  bases (tandem duplications), the rest are random bases;
* genotype ``0|1`` or ``1|0`` (together ``het_fraction``) or ``1|1``, phased.

Every variant is normalised against the reference: indels are anchored on the preceding
base and left-aligned (``bcftools norm`` leaves them unchanged), REF always matches the
reference. Variants never overlap: each starts at least ``min_spacing`` bp after the
previous one's REF ends. The VCF (4.3) is sorted, bgzipped and tabix-indexed
(``vcf_out`` + ``.tbi``) and has one sample (``sample_name``); ``INFO/TYPE`` is SNP, INS or
DEL and ``INFO/VLEN`` is ``len(ALT) - len(REF)``.

Haplotypes are written to ONE FASTA, ``hap_fasta_out``, with records ``{contig}_hap1`` and
``{contig}_hap2`` for each contig in reference order (haplotype ``h`` carries the ALT allele
of every variant whose GT has ``1`` at index ``h - 1``), plus its ``.fai``.

Haplotype -> reference coordinates: :func:`load_haplotypes` rebuilds, from the reference and
the VCF, a :class:`HaplotypeMap` per haplotype (what ``simulate_reads`` uses).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pysam

from biometal.errors import BiometalError, ConfigError
from biometal.io.atomic import atomic_path
from biometal.simulate._seq import BASES, CODE, make_rng, random_bases, read_fasta, write_fasta

_TRANSITION = np.frombuffer(b"GTAC", dtype=np.uint8)  # code A,C,G,T -> G,T,A,C


@dataclass(frozen=True)
class Variant:
    """One biallelic variant; ``pos`` is 0-based (VCF POS - 1), GT is ``(hap1, hap2)``."""

    contig: str
    pos: int
    ref: str
    alt: str
    gt: tuple[int, int]

    @property
    def kind(self) -> str:
        if len(self.ref) == len(self.alt):
            return "SNP"
        return "INS" if len(self.alt) > len(self.ref) else "DEL"


@dataclass
class HaplotypeMap:
    """Piecewise map from haplotype to reference coordinates (0-based).

    Block ``i`` starts at haplotype position ``hap_start[i]``. In a match block haplotype
    position ``x`` is reference position ``ref_start[i] + x - hap_start[i]``; in an inserted
    block every base maps to ``ref_start[i]``, the reference position right after the
    insertion's anchor base.
    """

    hap_start: np.ndarray
    ref_start: np.ndarray
    is_ins: np.ndarray
    hap_length: int
    ref_length: int

    @classmethod
    def from_variants(cls, ref_length: int, variants: list[Variant], hap: int) -> HaplotypeMap:
        hs, rs, ins = [0], [0], [False]
        off = 0  # haplotype minus reference position, after the variants so far
        for v in variants:
            if v.gt[hap - 1] != 1 or v.kind == "SNP":
                continue
            anchor_h = v.pos + off
            if v.kind == "DEL":
                hs.append(anchor_h + 1)
                rs.append(v.pos + len(v.ref))
                ins.append(False)
                off -= len(v.ref) - 1
            else:
                k = len(v.alt) - 1
                hs += [anchor_h + 1, anchor_h + 1 + k]
                rs += [v.pos + 1, v.pos + 1]
                ins += [True, False]
                off += k
        return cls(
            np.asarray(hs, dtype=np.int64),
            np.asarray(rs, dtype=np.int64),
            np.asarray(ins, dtype=bool),
            ref_length + off,
            ref_length,
        )

    def _lookup(self, x: np.ndarray):
        x = np.asarray(x, dtype=np.int64)
        i = np.searchsorted(self.hap_start, x, side="right") - 1
        return x, i

    def ref_start_of(self, x: np.ndarray) -> np.ndarray:
        """Reference start (0-based) of a segment whose first haplotype base is ``x``."""
        x, i = self._lookup(x)
        return np.where(
            self.is_ins[i], self.ref_start[i], self.ref_start[i] + x - self.hap_start[i]
        )

    def ref_end_of(self, x_end: np.ndarray) -> np.ndarray:
        """Reference end (exclusive) of a segment whose haplotype end (exclusive) is ``x_end``."""
        x, i = self._lookup(np.asarray(x_end, dtype=np.int64) - 1)
        return np.where(
            self.is_ins[i], self.ref_start[i], self.ref_start[i] + x - self.hap_start[i] + 1
        )

    def hap_of_ref(self, r: np.ndarray) -> np.ndarray:
        """Haplotype position of reference position ``r`` (-1 where ``r`` is deleted)."""
        r = np.asarray(r, dtype=np.int64)
        match = ~self.is_ins
        ends = np.append(self.hap_start[1:], self.hap_length)[match]
        hs, rs = self.hap_start[match], self.ref_start[match]
        i = np.searchsorted(rs, r, side="right") - 1
        x = hs[i] + r - rs[i]
        return np.where(x < ends[i], x, -1)


def apply_variants(ref: np.ndarray, variants: list[Variant], hap: int) -> np.ndarray:
    """Haplotype ``hap`` (1 or 2) of one contig: ``ref`` with that haplotype's ALT alleles."""
    pieces = []
    prev = 0
    for v in variants:
        if v.gt[hap - 1] != 1:
            continue
        pieces.append(ref[prev : v.pos])
        pieces.append(np.frombuffer(v.alt.encode(), dtype=np.uint8))
        prev = v.pos + len(v.ref)
    pieces.append(ref[prev:])
    return np.concatenate(pieces)


def _indel_lengths(rng: np.random.Generator, n: int, max_indel: int) -> np.ndarray:
    ls = np.arange(1, max_indel + 1)
    p = 1.0 / ls
    return rng.choice(ls, size=n, p=p / p.sum())


def _draw_contig(
    rng: np.random.Generator,
    name: str,
    ref: np.ndarray,
    snp_rate: float,
    indel_rate: float,
    max_indel: int,
    het_fraction: float,
    min_spacing: int,
) -> list[Variant]:
    n = ref.size
    lo, hi = 1, n - max_indel - 1
    if hi <= lo:
        return []
    n_snp = int(rng.poisson(snp_rate * n))
    n_ind = int(rng.poisson(indel_rate * n))
    pos = rng.integers(lo, hi, size=n_snp + n_ind)
    is_snp = np.arange(n_snp + n_ind) < n_snp
    lengths = _indel_lengths(rng, n_snp + n_ind, max_indel)
    is_ins = rng.random(n_snp + n_ind) < 0.5
    dup = rng.random(n_snp + n_ind) < 0.5
    transition = rng.random(n_snp + n_ind) < 2.0 / 3.0
    tv_pick = rng.integers(0, 2, size=n_snp + n_ind)
    het = rng.random(n_snp + n_ind) < het_fraction
    which = rng.integers(0, 2, size=n_snp + n_ind)
    ins_bases = random_bases(rng, (n_snp + n_ind) * max_indel)
    order = np.argsort(pos, kind="stable")
    out: list[Variant] = []
    prev_end = -(10**9)
    code = CODE[ref]
    for j in order:
        p = int(pos[j])
        if is_snp[j]:
            c = int(code[p])
            if c > 3:
                continue
            if transition[j]:
                alt = int(_TRANSITION[c])
            else:
                alt = int(
                    BASES[
                        [x for x in range(4) if x != c and BASES[x] != _TRANSITION[c]][tv_pick[j]]
                    ]
                )
            anchor, refa, alta = p, bytes([ref[p]]), bytes([alt])
        elif is_ins[j]:
            k = int(lengths[j])
            if dup[j]:
                ins = ref[p + 1 : p + 1 + k].tobytes()
            else:
                ins = ins_bases[j * max_indel : j * max_indel + k].tobytes()
            a = p
            while a >= 0 and ins[-1] == ref[a]:  # left-align
                ins = bytes([ref[a]]) + ins[:-1]
                a -= 1
            if a < 0:
                continue
            anchor, refa, alta = a, bytes([ref[a]]), bytes([ref[a]]) + ins
        else:
            k = int(lengths[j])
            s = p + 1  # first deleted base
            while s >= 1 and ref[s - 1] == ref[s + k - 1]:  # left-align
                s -= 1
            if s == 0:
                continue
            anchor, refa, alta = s - 1, ref[s - 1 : s + k].tobytes(), bytes([ref[s - 1]])
        if anchor < prev_end + min_spacing:
            continue
        if any(CODE[b] > 3 for b in refa + alta):
            continue
        gt = ((0, 1) if which[j] == 0 else (1, 0)) if het[j] else (1, 1)
        out.append(Variant(name, anchor, refa.decode(), alta.decode(), gt))
        prev_end = anchor + len(refa)
    return out


def _vcf_text(
    variants: list[Variant], contigs: dict[str, int], sample: str, reference_name: str, seed: int
) -> str:
    head = [
        "##fileformat=VCFv4.3",
        f"##source=biometal.simulate.variants(seed={seed})",
        f"##reference={reference_name}",
    ]
    head += [f"##contig=<ID={c},length={n}>" for c, n in contigs.items()]
    head += [
        '##INFO=<ID=TYPE,Number=1,Type=String,Description="Variant type: SNP, INS or DEL">',
        '##INFO=<ID=VLEN,Number=1,Type=Integer,Description="Length of ALT minus length of REF">',
        '##FILTER=<ID=PASS,Description="All filters passed">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Phased genotype">',
        "\t".join(
            ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", sample]
        ),
    ]
    rows = [
        f"{v.contig}\t{v.pos + 1}\t.\t{v.ref}\t{v.alt}\t.\tPASS\t"
        f"TYPE={v.kind};VLEN={len(v.alt) - len(v.ref)}\tGT\t{v.gt[0]}|{v.gt[1]}"
        for v in variants
    ]
    return "\n".join(head + rows) + "\n"


def write_vcf_gz(vcf_out: str | os.PathLike, text: str) -> None:
    """bgzip ``text`` to ``vcf_out`` and tabix-index it (``.tbi``), both atomically."""
    vcf_out = Path(vcf_out)
    tbi_out = Path(f"{vcf_out}.tbi")
    with atomic_path(tbi_out) as tbi_tmp, atomic_path(vcf_out) as gz_tmp:
        with tempfile.TemporaryDirectory(dir=gz_tmp.parent, prefix=".vcf_") as d:
            plain = Path(d) / "plain.vcf"
            plain.write_text(text)
            pysam.tabix_compress(str(plain), str(gz_tmp), force=True)
            pysam.tabix_index(str(gz_tmp), preset="vcf", force=True)
            os.replace(f"{gz_tmp}.tbi", tbi_tmp)
    # gz renamed first (inner context), then the index: the index is never older


def simulate_variants(
    reference_fasta: str | os.PathLike,
    vcf_out: str | os.PathLike,
    hap_fasta_out: str | os.PathLike,
    *,
    snp_rate: float = 1e-3,
    indel_rate: float = 1e-4,
    max_indel: int = 10,
    het_fraction: float = 0.6,
    min_spacing: int = 10,
    sample_name: str = "SIM",
    seed: int,
) -> dict:
    """Draw diploid truth variants on ``reference_fasta``; write the VCF and haplotypes.

    Rates are per reference bp, ``max_indel`` and ``min_spacing`` in bp. Returns a summary
    with counts by type and zygosity.
    """
    for key, v in (("snp_rate", snp_rate), ("indel_rate", indel_rate)):
        if not 0.0 <= v <= 0.05:
            raise ConfigError(f"{key}: expected a rate in [0, 0.05], got {v!r}")
    if not 1 <= max_indel <= 1000:
        raise ConfigError(f"max_indel: expected 1..1000, got {max_indel!r}")
    if not 0.0 <= het_fraction <= 1.0:
        raise ConfigError(f"het_fraction: expected [0, 1], got {het_fraction!r}")
    if min_spacing < 1:
        raise ConfigError(f"min_spacing: expected >= 1, got {min_spacing!r}")
    if not sample_name or any(c.isspace() for c in sample_name):
        raise ConfigError(
            f"sample_name: expected a non-empty name without spaces, got {sample_name!r}"
        )

    refs = read_fasta(reference_fasta)
    rng = make_rng(seed, "variants")
    variants: list[Variant] = []
    haps: list[tuple[str, np.ndarray]] = []
    for name, seq in refs.items():
        vs = _draw_contig(
            rng, name, seq, snp_rate, indel_rate, max_indel, het_fraction, min_spacing
        )
        variants += vs
        for h in (1, 2):
            haps.append((f"{name}_hap{h}", apply_variants(seq, vs, h)))

    contigs = {name: int(seq.size) for name, seq in refs.items()}
    text = _vcf_text(variants, contigs, sample_name, Path(reference_fasta).name, seed)
    write_vcf_gz(vcf_out, text)
    write_fasta(hap_fasta_out, haps, fai_path=f"{os.fspath(hap_fasta_out)}.fai")

    kinds = [v.kind for v in variants]
    het = sum(v.gt[0] != v.gt[1] for v in variants)
    return {
        "variants": len(variants),
        "snps": kinds.count("SNP"),
        "insertions": kinds.count("INS"),
        "deletions": kinds.count("DEL"),
        "het": int(het),
        "hom_alt": len(variants) - int(het),
        "haplotype_lengths": {name: int(s.size) for name, s in haps},
    }


def read_truth_vcf(vcf: str | os.PathLike) -> dict[str, list[Variant]]:
    """Biallelic, phased variants of the first sample, by contig in file order."""
    vcf = Path(vcf)
    if not vcf.exists():
        raise BiometalError(f"{vcf}: VCF file not found")
    out: dict[str, list[Variant]] = {}
    try:
        fh = pysam.VariantFile(str(vcf))
    except (OSError, ValueError, NotImplementedError) as exc:  # pysam: not VCF, plain gzip...
        raise BiometalError(f"{vcf}: cannot read VCF ({' '.join(str(exc).split())})") from None
    with fh:
        for c in fh.header.contigs:
            out[c] = []
        for rec in _records(fh, vcf):
            if rec.alts is None or len(rec.alts) != 1:
                raise BiometalError(f"{vcf}: {rec.chrom}:{rec.pos}: expected one ALT allele")
            gt = rec.samples[0]["GT"]
            if gt is None or len(gt) != 2 or any(g not in (0, 1) for g in gt):
                raise BiometalError(f"{vcf}: {rec.chrom}:{rec.pos}: expected a diploid 0/1 GT")
            out.setdefault(rec.chrom, []).append(
                Variant(rec.chrom, rec.pos - 1, rec.ref, rec.alts[0], (int(gt[0]), int(gt[1])))
            )
    return out


def _records(fh, vcf: Path):
    """The records of an open pysam VCF; a record htslib cannot parse (or a file cut short)
    is one line naming the file and the record number."""
    n = 0
    it = iter(fh)
    while True:
        try:
            rec = next(it)
        except StopIteration:
            return
        except (OSError, ValueError) as exc:
            raise BiometalError(
                f"{vcf}: record {n + 1} cannot be read ({' '.join(str(exc).split())})"
            ) from None
        n += 1
        yield rec


def load_haplotypes(
    reference_fasta: str | os.PathLike,
    hap_fasta: str | os.PathLike,
    vcf: str | os.PathLike,
) -> list[tuple[str, int, np.ndarray, HaplotypeMap]]:
    """``(contig, hap, sequence, map)`` for every haplotype, in reference order.

    Checks that the haplotype FASTA agrees with reference + VCF (REF alleles match and
    haplotype lengths add up) and raises :class:`BiometalError` naming the file otherwise.
    """
    refs = read_fasta(reference_fasta)
    haps = read_fasta(hap_fasta)
    by_contig = read_truth_vcf(vcf)
    out = []
    for contig, ref in refs.items():
        vs = by_contig.get(contig, [])
        for v in vs:
            if ref[v.pos : v.pos + len(v.ref)].tobytes().decode() != v.ref:
                raise BiometalError(
                    f"{vcf}: {contig}:{v.pos + 1}: REF {v.ref} does not match {reference_fasta}"
                )
        for h in (1, 2):
            name = f"{contig}_hap{h}"
            if name not in haps:
                raise BiometalError(f"{hap_fasta}: missing haplotype record {name!r}")
            hmap = HaplotypeMap.from_variants(ref.size, vs, h)
            if hmap.hap_length != haps[name].size:
                raise BiometalError(
                    f"{hap_fasta}: {name} has {haps[name].size} bp, but {reference_fasta} + {vcf} "
                    f"give {hmap.hap_length} bp"
                )
            out.append((contig, h, haps[name], hmap))
    return out
