"""Joint genotyping: N samples' gVCFs -> one multi-sample VCF with cohort genotype priors.

:func:`joint_genotype` reads the gVCFs :func:`biometal.variants.gvcf.write_gvcf` writes
(:func:`biometal.io.vcf.read_vcf_all`) and genotypes every candidate allele (a SNP site
record of any sample, or an indel record of any sample; one biallelic record per distinct
``(contig, pos, REF, ALT)``) in every sample:

- candidates need ``min_alt_reads`` reads showing the ALT over all samples together (a
  single read in the cohort is taken for an error);
- each sample's genotype likelihoods of 0/0, 0/1, 1/1 come from its own gVCF: its site
  record for that allele (PL[0/0, 0/1, 1/1], AD, DP); its site record for another ALT at the
  same position (the candidate is then part of its ``<*>``: PL[0/0, 0/2, 2/2], AD = REF
  reads, 0); for an indel, its indel record for another allele at the same position
  first (every read that record counts lacks the candidate, which it would have counted:
  0/0 evidence of those reads, error ``indel_error``); the reference block covering the
  position (block PL, DP; AD missing); else no data (``./.``, PL 0,0,0, DP 0). gVCFs of
  :func:`~biometal.variants.gvcf.write_gvcf` hold an indel record wherever a read shows
  the indel, called or not, so a sample is genotyped from its own reads at every cohort
  indel it shows;
- the cohort ALT frequency ``f`` is the maximum-likelihood estimate under Hardy-Weinberg
  genotype priors ``(1-f)^2, 2f(1-f), f^2``, found by EM (``em_iterations`` steps from the
  frequency of the samples' likeliest genotypes);
- each sample's GT is its most probable genotype under those priors, GQ = -10 log10(1 -
  P(GT)) capped at 99; PL are its likelihoods (not the priors);
- QUAL = -10 log10 P(no sample carries the ALT | data), with prior probability of a
  polymorphic site ``theta * sum_{i<2N} 1/i`` (Watterson; ``indel_theta`` for indels) and the
  likelihood of a polymorphic site at the EM frequency.

Records: every candidate where at least one sample's GT carries the ALT; FILTER ``LowQual``
when QUAL < ``min_qual``. INFO: AF (the EM frequency), AC / AN (called genotypes), DP (sum
of the samples' depths), TYPE, NS (samples with data). Bgzipped VCF 4.3 + ``.tbi``, atomic.

:func:`sample_alleles` reads the ALT alleles one sample carries in a multi-sample VCF
(normalised as :mod:`biometal.variants.evaluate` does), for per-sample scoring.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path

import numpy as np

from biometal.errors import BiometalError
from biometal.io.bam import reference_contigs
from biometal.io.vcf import INT_MISSING, read_vcf_all
from biometal.variants.call import CallParams
from biometal.variants.vcf import VcfWriter

log = logging.getLogger(__name__)

_SYMBOLIC = ("<*>", "<NON_REF>")
Key = tuple[str, int, str, str]  # contig, 0-based pos, REF, ALT


def _gt_index(j: int, k: int) -> int:
    """VCF index of the unordered diploid genotype j/k."""
    j, k = min(j, k), max(j, k)
    return k * (k + 1) // 2 + j


@dataclass
class SampleEvidence:
    """One sample's gVCF, indexed for lookups (positions 0-based)."""

    name: str
    path: str
    sites: dict[Key, int] = field(default_factory=dict)  # -> record row
    at_pos: dict[tuple[str, int], int] = field(default_factory=dict)  # -> a record row
    indel_at: dict[tuple[str, int], int] = field(default_factory=dict)  # -> an indel row
    alleles: list[list[str]] = field(default_factory=list)  # per site row: ALT alleles
    pl: list[np.ndarray] = field(default_factory=list)
    ad: list[np.ndarray] = field(default_factory=list)
    dp: list[int] = field(default_factory=list)
    blocks: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = field(
        default_factory=dict
    )  # contig -> (starts, ends (exclusive), pl int[k, 3], dp int[k])
    # the record rows as arrays (PL and AD padded with negatives; ad_ok: AD usable)
    pl_rows: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.int64))
    ad_rows: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.int64))
    ad_ok: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    dp_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    # per item of ``sites`` (in its order): the record row and the ALT's allele index
    site_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    site_allele: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def lookup(
        self, key: Key, indel_error: float = 0.001
    ) -> tuple[np.ndarray, tuple[int, int] | None, int] | None:
        """(PL of 0/0, 0/1, 1/1 for ``key``'s ALT, AD or None, DP), or None: no data."""
        contig, pos, ref, alt = key
        row = self.sites.get(key)
        if row is not None:
            alts = self.alleles[row]
            i = alts.index(alt) + 1
            pl = self.pl[row]
            ad = self.ad[row]
            return (
                pl[[0, _gt_index(0, i), _gt_index(i, i)]],
                (int(ad[0]), int(ad[i])) if len(ad) > i else None,
                self.dp[row],
            )
        row = self.indel_at.get((contig, pos)) if len(ref) != len(alt) else None
        if row is not None and len(self.ad[row]):
            # another indel here: every read it counts (REF, its ALT, others) lacks this
            # one, which it would have counted had this sample shown it
            n = int(self.ad[row].sum())
            e = indel_error
            gl = n * np.log10([1.0 - e, 0.5, e])
            pl = np.rint(-10.0 * (gl - gl.max())).astype(np.int64)
            return pl, (n, 0), self.dp[row]
        row = self.at_pos.get((contig, pos))
        if row is not None:
            alts = self.alleles[row]
            star = next((i + 1 for i, a in enumerate(alts) if a in _SYMBOLIC), None)
            if star is None:
                return None
            pl = self.pl[row]
            ad = self.ad[row]
            return (
                pl[[0, _gt_index(0, star), _gt_index(star, star)]],
                (int(ad[0]), 0) if len(ad) else None,
                self.dp[row],
            )
        blk = self.blocks.get(contig)
        if blk is None:
            return None
        starts, ends, bpl, bdp = blk
        b = int(np.searchsorted(starts, pos, side="right")) - 1
        if b < 0 or ends[b] <= pos:
            return None
        return bpl[b], None, int(bdp[b])

    def depth(self, contig: str, pos: int) -> int:
        """Read depth at a 0-based position (site record or block DP; 0 without data)."""
        row = self.at_pos.get((contig, pos))
        if row is not None:
            return self.dp[row]
        blk = self.blocks.get(contig)
        if blk is None:
            return 0
        starts, ends, _, bdp = blk
        b = int(np.searchsorted(starts, pos, side="right")) - 1
        return int(bdp[b]) if b >= 0 and ends[b] > pos else 0


class _RowSlices:
    """Row ``r`` of a padded int array cut to its width (``arr[r, :widths[r]]``), made on
    access: the per-row lists of :class:`SampleEvidence` without a slice per record."""

    def __init__(self, arr: np.ndarray, widths: np.ndarray) -> None:
        self.arr, self.widths = arr, widths.tolist()

    def __len__(self) -> int:
        return len(self.widths)

    def __getitem__(self, row: int) -> np.ndarray:
        return self.arr[row, : self.widths[row]]


def _index_simple(ev, alts_of, chrom, pos, ref, n_gt, k_of, dp_list, rows) -> bool:
    """Index the record rows of ``ev`` without a Python step per row when every row has
    one ALT allele, alone or before a symbolic one (``A`` / ``A,<*>``: every record of
    :func:`~biometal.variants.gvcf.write_gvcf`); the same dictionaries as the general
    loop of :func:`read_evidence` (later rows win in ``sites``, the first in ``at_pos`` /
    ``indel_at``). False (nothing set) for any other row."""
    first = [a[0] for a in alts_of]
    for alts, a in zip(alts_of, first, strict=True):
        if (
            len(alts) > 2
            or (len(alts) == 2 and alts[1] not in _SYMBOLIC)
            or a in _SYMBOLIC
            or a in ("*", ".")
        ):
            return False
    n = len(first)
    ev.alleles = alts_of
    ev.pl = _RowSlices(ev.pl_rows, n_gt)
    ev.ad = _RowSlices(ev.ad_rows, np.where(ev.ad_ok, np.asarray(k_of, np.int64), 0))
    ev.dp = [dp_list[i] for i in rows.tolist()]
    at = list(zip(chrom, pos, strict=True))
    back = range(n - 1, -1, -1)
    ev.at_pos = dict(zip(reversed(at), back, strict=True))  # the first row of a position wins
    keys = zip(chrom, pos, ref, first, strict=True)
    ev.sites = dict(zip(keys, range(n), strict=True))  # the last row of a key wins
    indel = [
        i for i, (r, a) in enumerate(zip(ref, first, strict=True))
        if len(a) != len(r) and not a.startswith("<")
    ]  # fmt: skip
    ev.indel_at = dict(zip([at[i] for i in reversed(indel)], reversed(indel), strict=True))
    ev.site_rows = np.fromiter(ev.sites.values(), np.int64, len(ev.sites))
    ev.site_allele = np.ones(len(ev.sites), np.int64)
    return True


def read_evidence(path: str | os.PathLike) -> SampleEvidence:
    """Index one single-sample gVCF (ours, or ``bcftools call --gvcf`` / GATK ``-ERC GVCF``
    style: site records with a ``<*>`` / ``<NON_REF>`` ALT, blocks with ``END``)."""
    path = str(path)
    if not Path(path).is_file():
        raise BiometalError(f"{path}: gVCF file not found")
    ch = read_vcf_all(path, info=("END",), format=("PL", "DP", "AD"))
    if len(ch.samples) != 1:
        raise BiometalError(f"{path}: expected a single-sample gVCF, found {len(ch.samples)}")
    ev = SampleEvidence(ch.samples[0], path)
    pl_all = ch.fmt["PL"][:, 0, :].astype(np.int64)
    ad_all = ch.fmt["AD"][:, 0, :].astype(np.int64)
    dp_all = np.where(ch.fmt["DP"][:, 0] == INT_MISSING, 0, ch.fmt["DP"][:, 0]).astype(np.int64)
    pos0 = ch.pos.astype(np.int64) - 1
    alt = ch.alt.astype(str)
    n_alt = np.char.count(alt, ",") + 1
    n_gt = (n_alt + 1) * (n_alt + 2) // 2
    width = pl_all.shape[1]
    ok = n_gt <= width
    ok[ok] = (pl_all[ok] >= 0).cumsum(axis=1)[np.arange(ok.sum()), n_gt[ok] - 1] == n_gt[ok]
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        raise BiometalError(
            f"{path}: {ch.chrom[i]}:{pos0[i] + 1}: expected {n_gt[i]} PL values for ALT {alt[i]}"
        )
    is_block = np.isin(alt, _SYMBOLIC)
    chrom = ch.chrom.astype(str)
    dp_list = dp_all.tolist()
    if is_block.any():
        end = ch.info["END"].astype(np.int64)
        end = np.where(end > 0, end, pos0 + 1)
        for contig in dict.fromkeys(chrom[is_block].tolist()):
            sel = np.flatnonzero(is_block & (chrom == contig))
            sel = sel[np.argsort(pos0[sel], kind="stable")]
            ev.blocks[contig] = (pos0[sel], end[sel], pl_all[sel, :3], dp_all[sel])
    rows = np.flatnonzero(~is_block)
    alts_of = [a.split(",") for a in alt[rows].tolist()]
    k_of = (n_alt[rows] + 1).tolist()
    width = ad_all.shape[1]
    # AD usable when it has one value per allele, none missing
    ad_ok = ((ad_all >= 0).cumsum(axis=1)[rows, np.minimum(n_alt[rows], width - 1)]
             == n_alt[rows] + 1) & (n_alt[rows] + 1 <= width)  # fmt: skip
    ev.pl_rows, ev.ad_rows, ev.ad_ok = pl_all[rows], ad_all[rows], ad_ok
    ev.dp_rows = dp_all[rows]
    ref_of = ch.ref[rows].astype(str).tolist()
    if _index_simple(
        ev, alts_of, chrom[rows].tolist(), pos0[rows].tolist(), ref_of, n_gt[rows], k_of,
        dp_list, rows,
    ):  # fmt: skip
        return ev
    for i, contig, p, ref, alts, k, ok_ad, n_pl in zip(
        rows.tolist(), chrom[rows].tolist(), pos0[rows].tolist(), ref_of,
        alts_of, k_of, ad_ok.tolist(), n_gt[rows].tolist(), strict=True,
    ):  # fmt: skip
        row = len(ev.alleles)
        ev.alleles.append(alts)
        ev.pl.append(pl_all[i, :n_pl])
        ev.ad.append(ad_all[i, :k] if ok_ad else ad_all[i, :0])
        ev.dp.append(dp_list[i])
        ev.at_pos.setdefault((contig, p), row)
        indel = False
        for a in alts:
            if a in _SYMBOLIC or a in ("*", "."):
                continue
            ev.sites[(contig, p, ref, a)] = row
            if len(a) != len(ref) and not a.startswith("<"):
                indel = True
        if indel:
            ev.indel_at.setdefault((contig, p), row)
    ev.site_rows = np.fromiter(ev.sites.values(), np.int64, len(ev.sites))
    ev.site_allele = np.array(
        [ev.alleles[r].index(k[3]) + 1 for k, r in ev.sites.items()], np.int64
    ).reshape(-1)
    return ev


def em_frequency(gl: np.ndarray, has: np.ndarray, iterations: int = 30) -> np.ndarray:
    """ML ALT frequency per site under HWE: ``gl`` log10 likelihoods float[m, N, 3],
    ``has`` bool[m, N] (samples with data). Returns float64[m]. Compiled
    (:func:`biometal.variants._kernels.em_frequency`), equal bit for bit to
    :func:`em_frequency_numpy` (tests/unit/test_joint.py)."""
    from biometal.variants._kernels import MAX_PAIRWISE
    from biometal.variants._kernels import em_frequency as em

    if gl.shape[1] > MAX_PAIRWISE:
        return em_frequency_numpy(gl, has, iterations)
    lik = np.power(10.0, gl - gl.max(axis=2, keepdims=True))
    n_has = np.maximum(has.sum(axis=1), 1)
    best = (gl.argmax(axis=2) * has).sum(axis=1)
    f = np.clip(best / (2.0 * n_has), 0.01, 0.99)
    return em(
        np.ascontiguousarray(lik, dtype=np.float64), np.ascontiguousarray(has, dtype=np.bool_),
        f, n_has.astype(np.int64), int(iterations),
    )  # fmt: skip


def em_frequency_numpy(gl: np.ndarray, has: np.ndarray, iterations: int = 30) -> np.ndarray:
    """:func:`em_frequency` in numpy (the reference the compiled loop is tested against)."""
    lik = np.power(10.0, gl - gl.max(axis=2, keepdims=True))
    dosage = np.array([0.0, 1.0, 2.0])
    n_has = np.maximum(has.sum(axis=1), 1)
    best = (gl.argmax(axis=2) * has).sum(axis=1)
    f = np.clip(best / (2.0 * n_has), 0.01, 0.99)
    for _ in range(iterations):
        prior = np.stack([(1 - f) ** 2, 2 * f * (1 - f), f**2], axis=1)[:, None, :]
        post = lik * prior
        post /= post.sum(axis=2, keepdims=True)
        ed = (post * dosage).sum(axis=2)
        f = np.clip((ed * has).sum(axis=1) / (2.0 * n_has), 1e-6, 1 - 1e-6)
    return f


@dataclass
class JointSite:
    key: Key
    gl: np.ndarray  # float[N, 3] log10
    pl: np.ndarray  # int[N, 3]
    ad: list
    dp: np.ndarray  # int[N]
    has: np.ndarray  # bool[N]


def _header(samples: Sequence[str], contigs: dict[str, int], reference, meta) -> list[str]:
    lines = [
        "##fileformat=VCFv4.3",
        "##source=biometal.variants.joint",
        f"##reference=file://{Path(reference).resolve()}",
    ]
    lines += [f"##contig=<ID={c},length={n}>" for c, n in contigs.items()]
    lines += [
        '##INFO=<ID=AF,Number=A,Type=Float,Description="ALT frequency in the cohort (EM, '
        'Hardy-Weinberg)">',
        '##INFO=<ID=AC,Number=A,Type=Integer,Description="ALT alleles in the called genotypes">',
        '##INFO=<ID=AN,Number=1,Type=Integer,Description="Alleles in the called genotypes">',
        '##INFO=<ID=DP,Number=1,Type=Integer,Description="Sum of the samples\' depths">',
        '##INFO=<ID=NS,Number=1,Type=Integer,Description="Samples with data">',
        '##INFO=<ID=TYPE,Number=1,Type=String,Description="Variant type: SNP, INS or DEL">',
        '##FILTER=<ID=PASS,Description="All filters passed">',
        '##FILTER=<ID=LowQual,Description="QUAL below min_qual">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        '##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="Genotype quality under the '
        'cohort prior, capped at 99">',
        '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Read depth">',
        '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Reads showing REF and ALT">',
        '##FORMAT=<ID=PL,Number=G,Type=Integer,Description="Phred-scaled genotype '
        'likelihoods of 0/0, 0/1, 1/1">',
    ]
    lines += [f"##{m}" for m in meta]
    lines.append(
        "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT"])
        + "\t"
        + "\t".join(samples)
    )
    return lines


class _Line:
    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def line(self) -> str:
        return self.text


def _fill(samples, cand, order, indel_error, pl, ad, has_ad, dp, has) -> None:
    """Every sample's evidence at every candidate (:meth:`SampleEvidence.lookup`, the
    same precedence): the sample's record of the allele, then (indels) another indel
    record there, then a record at the position, then the reference block; the first and
    the last vectorised, the others through ``lookup``."""
    m = len(cand)
    if not m:
        return
    cidx = {k: i for i, k in enumerate(cand)}
    big = 1 << 40
    c_code = np.array([order[k[0]] * big + k[1] for k in cand], np.int64)
    c_pos = np.array([k[1] for k in cand], np.int64)
    is_indel = np.array([len(k[2]) != len(k[3]) for k in cand], bool)
    for j, s in enumerate(samples):
        ci = np.fromiter(map(cidx.get, s.sites, repeat(-1)), np.int64, len(s.sites))
        hit = ci >= 0
        done = np.zeros(m, bool)
        if hit.any():
            i, r, a = ci[hit], s.site_rows[hit], s.site_allele[hit]
            g1 = a * (a + 1) // 2  # VCF index of 0/a, then a/a
            pl[i, j] = np.stack([s.pl_rows[r, 0], s.pl_rows[r, g1], s.pl_rows[r, g1 + a]], 1)
            ok = s.ad_ok[r]
            ad[i[ok], j, 0] = s.ad_rows[r[ok], 0]
            ad[i[ok], j, 1] = s.ad_rows[r[ok], a[ok]]
            has_ad[i, j] = ok
            dp[i, j] = s.dp_rows[r]
            has[i, j] = True
            done[i] = True
        at = np.array([order.get(c, -1) * big + p for c, p in s.at_pos], np.int64)
        slow = ~done & (is_indel | np.isin(c_code, at))
        for i in np.flatnonzero(slow).tolist():
            got = s.lookup(cand[i], indel_error)
            if got is None:
                continue
            pl[i, j], a_, dp[i, j] = got
            if a_ is not None:
                ad[i, j] = a_
                has_ad[i, j] = True
            has[i, j] = True
        rest = ~done & ~slow
        for contig, (starts, ends, bpl, bdp) in s.blocks.items():
            if contig not in order:
                continue
            sel = np.flatnonzero(rest & (c_code // big == order[contig]))
            if not len(sel):
                continue
            b = np.searchsorted(starts, c_pos[sel], side="right") - 1
            ok = b >= 0
            ok[ok] = ends[b[ok]] > c_pos[sel[ok]]
            sel, b = sel[ok], b[ok]
            pl[sel, j] = bpl[b]
            dp[sel, j] = bdp[b]
            has[sel, j] = True


def joint_genotype(
    gvcfs: Sequence[str | os.PathLike],
    reference: str | os.PathLike,
    out_vcf: str | os.PathLike,
    *,
    calling: CallParams | None = None,
    em_iterations: int = 30,
) -> dict[str, float]:
    """Joint-genotype the samples of ``gvcfs`` into ``out_vcf`` (see the module docstring).

    Raises :class:`~biometal.errors.BiometalError` naming the file for a missing or
    malformed gVCF, a duplicate sample name, or a contig the reference lacks.
    Returns counts and the run time.
    """
    calling = calling or CallParams()
    t0 = time.perf_counter()
    c0 = time.process_time()
    if not gvcfs:
        raise BiometalError("joint genotyping: no gVCF given")
    contigs = reference_contigs(reference)
    samples = [read_evidence(p) for p in gvcfs]
    names = [s.name for s in samples]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise BiometalError(f"{samples[names.index(dup)].path}: sample {dup!r} appears twice")
    support: dict[Key, int] = {}
    for s in samples:
        if not {c for c, _ in s.at_pos} <= contigs.keys():
            k = next((k for k in s.sites if k[0] not in contigs), None)
            if k is not None:
                raise BiometalError(f"{s.path}: contig {k[0]!r} is not in {reference}")
        r, a = s.site_rows, s.site_allele
        # a record without AD (another tool's) counts as enough support
        n_alt = np.full(len(r), calling.min_alt_reads, np.int64)
        if s.ad_rows.shape[1]:
            got = s.ad_rows[r, np.minimum(a, s.ad_rows.shape[1] - 1)]
            n_alt = np.where(s.ad_ok[r], got, n_alt)
        n_alt = n_alt.tolist()
        get = support.get
        for k, n in zip(s.sites, n_alt, strict=True):
            support[k] = get(k, 0) + n
    keys = {k for k, n_alt in support.items() if n_alt >= calling.min_alt_reads}
    order = {c: i for i, c in enumerate(contigs)}
    cand = sorted(keys, key=lambda k: (order[k[0]], k[1], len(k[2]) != len(k[3]), k[2], k[3]))
    n_s, m = len(samples), len(cand)
    pl = np.zeros((m, n_s, 3), np.int64)
    dp = np.zeros((m, n_s), np.int64)
    has = np.zeros((m, n_s), bool)
    ad = np.zeros((m, n_s, 2), np.int64)
    has_ad = np.zeros((m, n_s), bool)
    _fill(samples, cand, order, calling.indel_error, pl, ad, has_ad, dp, has)
    pl -= pl.min(axis=2, keepdims=True)  # a subset of a record's PLs: best back to 0
    gl = -pl / 10.0
    f = em_frequency(gl, has, em_iterations) if m else np.zeros(0)
    is_snp = np.array([len(k[2]) == len(k[3]) for k in cand], bool)
    theta = np.where(is_snp, calling.theta, calling.indel_theta)
    a_n = sum(1.0 / i for i in range(1, 2 * n_s))
    pi = np.minimum(theta * a_n, 0.5)
    ln10 = math.log(10.0)
    if m:
        prior = np.stack([(1 - f) ** 2, 2 * f * (1 - f), f**2], axis=1)[:, None, :]
        lp = gl * ln10 + np.log(prior)  # natural log, [m, N, 3]
        mx = lp.max(axis=2, keepdims=True)
        lse = mx[..., 0] + np.log(np.exp(lp - mx).sum(axis=2))
        post = np.exp(lp - lse[..., None])
        gt = post.argmax(axis=2)
        p_best = np.take_along_axis(post, gt[..., None], axis=2)[..., 0]
        # 1 - P(best) without cancellation: the sum of the two others
        wrong = np.clip(post.sum(axis=2) - p_best, 0, None)
        with np.errstate(divide="ignore"):
            gq = np.minimum(99, np.rint(-10 * np.log10(np.maximum(wrong, 1e-300)))).astype(int)
        l0 = (gl[:, :, 0] * ln10 * has).sum(axis=1)
        l1 = (lse * has).sum(axis=1)
        a = np.log1p(-pi) + l0
        b = np.log(pi) + l1
        mxab = np.maximum(a, b)
        log_p0 = a - (mxab + np.log(np.exp(a - mxab) + np.exp(b - mxab)))
        qual = np.minimum(-10 * log_p0 / ln10, 3000.0)
    meta = [
        f"biometal_joint=theta:{calling.theta};indel_theta:{calling.indel_theta};min_qual:{calling.min_qual};em_iterations:{em_iterations}"
    ]
    n = {"candidates": m, "records": 0, "pass": 0, "snps": 0, "indels": 0}
    gt_text = ("0/0", "0/1", "1/1")
    with VcfWriter(out_vcf, _header(names, contigs, reference, meta)) as vcf:
        for i, k in enumerate(cand):
            carried = has[i] & (gt[i] > 0)
            if not carried.any():
                continue
            contig, pos, ref, alt = k
            cols = []
            ac = an = 0
            for j in range(n_s):
                if not has[i, j]:
                    cols.append("./.:.:0:.:.")
                    continue
                g = int(gt[i, j])
                ac += g
                an += 2
                cols.append(
                    f"{gt_text[g]}:{int(gq[i, j])}:{int(dp[i, j])}:"
                    f"{f'{ad[i, j, 0]},{ad[i, j, 1]}' if has_ad[i, j] else '.'}:"
                    f"{pl[i, j, 0]},{pl[i, j, 1]},{pl[i, j, 2]}"
                )
            kind = "SNP" if is_snp[i] else ("INS" if len(alt) > len(ref) else "DEL")
            flt = "PASS" if qual[i] >= calling.min_qual else "LowQual"
            info = (
                f"AF={f[i]:.4g};AC={ac};AN={an};DP={int(dp[i].sum())};NS={int(has[i].sum())};"
                f"TYPE={kind}"
            )
            vcf.write(
                _Line(
                    f"{contig}\t{pos + 1}\t.\t{ref}\t{alt}\t{qual[i]:.2f}\t{flt}\t{info}\t"
                    "GT:GQ:DP:AD:PL\t" + "\t".join(cols) + "\n"
                )
            )
            n["records"] += 1
            n["pass"] += flt == "PASS"
            n["snps" if is_snp[i] else "indels"] += 1
    out = {k: float(v) for k, v in n.items()}
    out["samples"] = float(n_s)
    out["seconds"] = time.perf_counter() - t0
    out["library_cpu_s"] = time.process_time() - c0
    log.info(
        "joint genotyping of %d samples: %d candidates, %d records (%d PASS) in %.2f s",
        n_s, m, n["records"], n["pass"], out["seconds"],
    )  # fmt: skip
    return out


def sample_alleles(
    vcf: str | os.PathLike,
    reference: str | os.PathLike,
    sample: str,
    *,
    pass_only: bool = True,
) -> dict[str, dict[tuple, str]]:
    """ALT alleles ``sample`` carries in a multi-sample VCF, normalised as
    :mod:`biometal.variants.evaluate` does: ``{"SNP": {allele: "het"|"hom"}, "INDEL": ...}``.

    A carried allele is an ALT index in the sample's GT; "hom" when both alleles are it.
    ``pass_only``: FILTER PASS or ``.`` only.
    """
    import pysam

    from biometal.variants.evaluate import TYPES, _alleles
    from biometal.variants.normalize import variant_type

    ch = read_vcf_all(vcf, samples=[sample])
    fa = pysam.FastaFile(str(reference))
    out: dict[str, dict[tuple, str]] = {t: {} for t in TYPES}
    cache: dict[str, str] = {}
    try:
        for i in range(len(ch)):
            if pass_only and ch.filter[i] not in ("PASS", "."):
                continue
            g = [int(x) for x in ch.gt[i, 0] if x >= 0]
            carried = {x for x in g if x > 0}
            if not carried:
                continue
            contig = str(ch.chrom[i])
            if contig not in cache:
                cache.clear()
                cache[contig] = fa.fetch(contig).upper()
            alts = str(ch.alt[i]).split(",")
            for a in carried:
                alt = alts[a - 1]
                if alt.startswith("<") or alt in ("*", "."):
                    continue
                zyg = "hom" if len(g) == 2 and g[0] == g[1] == a else "het"
                for allele in _alleles(
                    contig, int(ch.pos[i]) - 1, str(ch.ref[i]), alt, cache[contig]
                ):
                    kind = "SNP" if variant_type(allele[2], allele[3]) == "SNP" else "INDEL"
                    out[kind][allele] = zyg
    finally:
        fa.close()
    return out
