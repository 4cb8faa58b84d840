"""Joint genotyping: N samples' gVCFs -> one multi-sample VCF with cohort genotype priors.

:func:`joint_genotype` reads the gVCFs :func:`biometal.variants.gvcf.write_gvcf` writes
(:func:`biometal.io.vcf.read_vcf_all`) and genotypes every candidate allele (a SNP site
record of any sample, or an indel record of any sample; one biallelic record per distinct
``(contig, pos, REF, ALT)``) in every sample:

- candidates need ``min_alt_reads`` reads showing the ALT over all samples together (a
  single read in the cohort is taken for an error);
- a sample's SNP evidence next to an indel of its own (an indel record that
  ``min_alt_reads`` of its reads show and whose likeliest genotype carries it) is left out
  where misaligned reads explain it: everywhere inside a homozygous deletion, and where
  the ALT is the base a read ending or starting inside the indel, aligned without it,
  puts there (a deletion's reference base its length on or back, an insertion's inserted
  bases); the sample has no data at that SNP (``bcftools``' BAQ takes such bases'
  quality away; :func:`_misaligned`);
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

Records: every candidate where at least one sample's GT carries the ALT and the samples'
depths add up to ``min_depth`` (the cohort's reads, as one sample's are for ``call``);
FILTER ``LowQual`` when QUAL < ``joint_min_qual``. INFO: AF (the EM frequency), AC / AN (called
genotypes), DP (sum of the samples' depths), TYPE, NS (samples with data). Bgzipped VCF 4.3
+ ``.tbi``, atomic.

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
from pathlib import Path

import numpy as np

from biometal.errors import BiometalError
from biometal.io.bam import reference_contigs
from biometal.io.vcf import INT_MISSING, read_vcf_all
from biometal.variants.call import CallParams, _Reference
from biometal.variants.vcf import VcfWriter, distinct_floats, text_table

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
    # the lookups by key (see the properties below); built on first use when _lazy is set
    _sites: dict[Key, int] = field(default_factory=dict)
    _at_pos: dict[tuple[str, int], int] = field(default_factory=dict)
    _indel_at: dict[tuple[str, int], int] = field(default_factory=dict)
    _lazy: object = None  # a function returning (sites, at_pos, indel_at)
    alleles: Sequence[list[str]] = field(default_factory=list)  # per site row: ALT alleles
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
    # per record row: its contig (index into ``contig_names``), 0-based position, first
    # symbolic ALT (allele index, 0: none), whether an ALT is an indel, alleles (REF too)
    contig_names: list[str] = field(default_factory=list)
    row_cid: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    row_pos: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    row_star: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    row_indel: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    row_k: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    # per item of ``sites`` (in its order): its (REF, ALT) as an index into ``pairs``
    pairs: list[tuple[str, str]] = field(default_factory=list)
    item_pair: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def _lookups(self) -> None:
        if self._lazy is not None:
            self._sites, self._at_pos, self._indel_at = self._lazy()
            self._lazy = None

    @property
    def sites(self) -> dict[Key, int]:
        """(contig, pos, REF, ALT) -> the last record row with that ALT."""
        self._lookups()
        return self._sites

    @property
    def at_pos(self) -> dict[tuple[str, int], int]:
        """(contig, pos) -> the first record row there."""
        self._lookups()
        return self._at_pos

    @property
    def indel_at(self) -> dict[tuple[str, int], int]:
        """(contig, pos) -> the first record row there with an indel ALT."""
        self._lookups()
        return self._indel_at

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


class _PairAlleles(Sequence):
    """The ALT alleles of records that are each ``A,<*>`` (``[A, "<*>"]``, A the ALT of the
    row's (REF, ALT) pair), made on access: :attr:`SampleEvidence.alleles` without a list
    per record."""

    def __init__(self, pairs: list[tuple[str, str]], row_pair: np.ndarray) -> None:
        self.alts = [p[1] for p in pairs]
        self.row_pair = row_pair

    def __len__(self) -> int:
        return len(self.row_pair)

    def __getitem__(self, row):
        if isinstance(row, slice):
            return [[self.alts[p], "<*>"] for p in self.row_pair[row].tolist()]
        return [self.alts[int(self.row_pair[row])], "<*>"]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)


def _simple_alts(alts_of: list[list[str]]) -> bool:
    """Every row one ALT allele, alone or before a symbolic one (``A`` / ``A,<*>``)."""
    for alts in alts_of:
        a = alts[0]
        if (
            len(alts) > 2
            or (len(alts) == 2 and alts[1] not in _SYMBOLIC)
            or a in _SYMBOLIC
            or a in ("*", ".")
        ):
            return False
    return True


def _index_simple(ev, first, alleles, n_alts, chrom, pos, ref, n_gt, k_of) -> None:
    """Index the record rows of ``ev`` without a Python step per row when every row has
    one ALT allele (``first``), alone or before a symbolic one (``n_alts`` 1 or 2 per row;
    :func:`_simple_alts`; every record of :func:`~biometal.variants.gvcf.write_gvcf`):
    contigs and (REF, ALT) pairs numbered in first-seen order, then :func:`_index_rows`."""
    n = len(first)
    names = {c: i for i, c in enumerate(dict.fromkeys(chrom))}
    pairs = list(zip(ref, first, strict=True))
    pair_id = {p: i for i, p in enumerate(dict.fromkeys(pairs))}
    _index_rows(
        ev, list(names), np.fromiter(map(names.__getitem__, chrom), np.int64, n),
        np.array(pos, np.int64).reshape(n), list(pair_id),
        np.fromiter(map(pair_id.__getitem__, pairs), np.int64, n), alleles, n_alts, n_gt,
        k_of,
    )  # fmt: skip


def _index_rows(ev, contig_names, row_cid, row_pos, pairs, row_pair, alleles, n_alts, n_gt,
                k_of) -> None:  # fmt: skip
    """Index the record rows of ``ev`` (PL / AD / DP rows set) from numbers: each row's
    contig (index into ``contig_names``), 0-based position and (REF, ALT) (index into
    ``pairs``), one ALT allele per row, alone or before a symbolic one (``n_alts`` 1 or 2).
    The same lookups as the general loop of :func:`read_evidence` (later rows win in
    ``sites``, the first in ``at_pos`` / ``indel_at``), built when first used; the arrays
    the joint step uses now."""
    n = len(row_pos)
    ev.alleles = alleles
    ev.pl = _RowSlices(ev.pl_rows, np.asarray(n_gt, np.int64))
    ev.ad = _RowSlices(ev.ad_rows, np.where(ev.ad_ok, np.asarray(k_of, np.int64), 0))
    ev.dp = ev.dp_rows.tolist()
    # a pair is an indel when its lengths differ and its ALT is not symbolic
    pair_indel = np.array(
        [len(r) != len(a) and not a.startswith("<") for r, a in pairs] + [False], bool
    )
    row_indel = pair_indel[row_pair] if n else np.zeros(0, bool)

    def lookups() -> tuple[dict, dict, dict]:
        chrom = [contig_names[i] for i in row_cid.tolist()]
        at = list(zip(chrom, row_pos.tolist(), strict=True))
        back = range(n - 1, -1, -1)
        at_pos = dict(zip(reversed(at), back, strict=True))  # the first row of a position
        keys = ((c, p, *pairs[k]) for (c, p), k in zip(at, row_pair.tolist(), strict=True))
        sites = dict(zip(keys, range(n), strict=True))  # the last row of a key wins
        indel = np.flatnonzero(row_indel).tolist()
        indel_at = dict(zip([at[i] for i in reversed(indel)], reversed(indel), strict=True))
        return sites, at_pos, indel_at

    ev._lazy = lookups
    ev.contig_names = list(contig_names)
    ev.row_cid = np.asarray(row_cid, np.int64).reshape(n)
    ev.row_pos = np.asarray(row_pos, np.int64).reshape(n)
    ev.row_star = np.where(np.asarray(n_alts, np.int64) == 2, 2, 0).reshape(n)
    ev.row_indel = row_indel
    ev.row_k = np.asarray(k_of, np.int64).reshape(n)
    ev.pairs = list(pairs)
    # ``sites``' rows in its order: each (contig, pos, REF, ALT) where it first appears,
    # holding its last row
    order = np.lexsort((np.arange(n), row_pair, ev.row_pos, ev.row_cid))
    key = np.stack([ev.row_cid, ev.row_pos, row_pair], axis=1)[order]
    new = np.ones(n, bool)
    new[1:] = np.any(key[1:] != key[:-1], axis=1)
    if new.all():
        ev.site_rows = np.arange(n, dtype=np.int64)
    else:
        starts = np.flatnonzero(new)
        firsts = order[starts]
        lasts = order[np.append(starts[1:], n) - 1]
        ev.site_rows = lasts[np.argsort(firsts, kind="stable")].astype(np.int64)
    ev.site_allele = np.ones(len(ev.site_rows), np.int64)
    ev.item_pair = np.asarray(row_pair, np.int64)[ev.site_rows]


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
    if _simple_alts(alts_of):
        _index_simple(
            ev, [a[0] for a in alts_of], alts_of, [len(a) for a in alts_of],
            chrom[rows].tolist(), pos0[rows].tolist(), ref_of, n_gt[rows], k_of,
        )  # fmt: skip
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
    chrom_r = chrom[rows].tolist()
    names = {c: i for i, c in enumerate(dict.fromkeys(chrom_r))}
    ev.contig_names = list(names)
    ev.row_cid = np.array([names[c] for c in chrom_r], np.int64).reshape(-1)
    ev.row_pos = pos0[rows].astype(np.int64)
    ev.row_star = np.array(
        [next((i + 1 for i, a in enumerate(x) if a in _SYMBOLIC), 0) for x in ev.alleles],
        np.int64,
    ).reshape(-1)
    ev.row_indel = np.array(
        [
            any(len(a) != len(r) and not a.startswith("<") for a in x if a not in ("*", "."))
            for r, x in zip(ref_of, ev.alleles, strict=True)
        ],
        bool,
    ).reshape(-1)
    ev.row_k = np.asarray(k_of, np.int64).reshape(-1)
    pair_id: dict[tuple[str, str], int] = {}
    ev.item_pair = np.array(
        [pair_id.setdefault((k[2], k[3]), len(pair_id)) for k in ev.sites], np.int64
    ).reshape(-1)
    ev.pairs = list(pair_id)
    return ev


def evidence_from_records(
    name: str, path: str, parts: Sequence[tuple], blocks: dict[str, tuple]
) -> SampleEvidence:
    """The :class:`SampleEvidence` of a gVCF of :func:`~biometal.variants.gvcf.write_gvcf`
    from the numbers it wrote, equal to what :func:`read_evidence` reads from the file
    (tests/unit/test_joint.py). ``parts``: per contig, in file order, its records (each
    ``ALT,<*>``) as (contig, 0-based positions int[k], each record's (REF, ALT) as an index
    into ``pairs``, ``pairs`` (a list of (REF, ALT)), PL int[k, 6], AD int[k, 3], DP int[k]);
    ``blocks``: contig -> (starts, exclusive ends, PL int[b, 3], DP) of its reference
    blocks, sorted."""
    ev = SampleEvidence(name, path)
    ev.blocks = {
        c: (
            np.asarray(st, np.int64), np.asarray(en, np.int64),
            np.asarray(pl, np.int64).reshape(-1, 3), np.asarray(dp, np.int64),
        )
        for c, (st, en, pl, dp) in blocks.items()
    }  # fmt: skip
    # the pairs numbered in first-seen order over the file, as read_evidence numbers them
    pair_id: dict[tuple[str, str], int] = {}
    contigs, cids, row_pair = [], [], []
    for c, _pos, pair, pairs, *_ in parts:
        pair = np.asarray(pair, np.int64).reshape(-1)
        seen, first = np.unique(pair, return_index=True)
        local = np.zeros(len(pairs), np.int64)
        for k in seen[np.argsort(first)].tolist():
            local[k] = pair_id.setdefault(tuple(pairs[k]), len(pair_id))
        row_pair.append(local[pair])
        cids.append(np.full(len(pair), len(contigs), np.int64))
        contigs.append(c)

    def cat(i: int, width: int) -> np.ndarray:
        return np.concatenate(
            [np.asarray(x[i], np.int64).reshape(-1, width) for x in parts]
            or [np.zeros((0, width), np.int64)]
        )

    row_pos = cat(1, 1).reshape(-1)
    n = len(row_pos)
    ev.pl_rows, ev.ad_rows = cat(4, 6), cat(5, 3)
    ev.ad_ok = np.ones(n, bool)
    ev.dp_rows = cat(6, 1).reshape(n)
    bad = [a for _, a in pair_id if a in _SYMBOLIC or a in ("*", ".") or "," in a]
    if bad:
        raise BiometalError(f"{path}: a record is not one ALT allele before <*> ({bad[0]})")
    pairs = list(pair_id)
    row_pair = np.concatenate(row_pair) if parts else np.zeros(0, np.int64)
    _index_rows(
        ev, contigs, np.concatenate(cids) if parts else np.zeros(0, np.int64), row_pos,
        pairs, row_pair, _PairAlleles(pairs, row_pair), np.full(n, 2, np.int64),
        np.full(n, 6, np.int64), np.full(n, 3, np.int64),
    )  # fmt: skip
    return ev


def _live(pl: np.ndarray, has: np.ndarray) -> np.ndarray:
    """The candidates that can be records (int64 indices): those where some sample with
    data does not favour 0/0 strictly (``pl`` int[m, N, 3], ``has`` bool[m, N]). Where every
    such sample's PL[0/0] is below its PL[0/1] and PL[1/1], its expected ALT dosage under
    the posterior is below the prior's for any f < 1/2 (dosage and likelihood covary
    negatively), so EM, starting at f = 0.01, only lowers f, and at f < 1/3 no sample's
    posterior favours an ALT genotype. EM, priors and posteriors are computed for the live
    candidates alone (the same operations on their rows; tests/unit/test_joint.py checks
    the joint VCF equals the one from every candidate)."""
    return np.flatnonzero(
        (has & ((pl[:, :, 0] >= pl[:, :, 1]) | (pl[:, :, 0] >= pl[:, :, 2]))).any(axis=1)
    )


def em_frequency(gl: np.ndarray, has: np.ndarray, iterations: int = 30) -> np.ndarray:
    """ML ALT frequency per site under HWE: ``gl`` log10 likelihoods float[m, N, 3],
    ``has`` bool[m, N] (samples with data). Returns float64[m]. Compiled
    (:func:`biometal.variants._kernels.em_frequency`), equal bit for bit to
    :func:`em_frequency_numpy` (tests/unit/test_joint.py)."""
    from biometal.variants._kernels import MAX_PAIRWISE
    from biometal.variants._kernels import em_frequency as em

    if gl.shape[1] > MAX_PAIRWISE:
        return em_frequency_numpy(gl, has, iterations)
    lik = np.ascontiguousarray(np.power(10.0, gl - gl.max(axis=2, keepdims=True)), np.float64)
    n_has = np.maximum(has.sum(axis=1), 1)
    best = (gl.argmax(axis=2) * has).sum(axis=1)
    f = np.clip(best / (2.0 * n_has), 0.01, 0.99)
    return em(
        np.arange(lik.size, dtype=np.int64).reshape(lik.shape), lik.reshape(-1),
        np.arange(len(lik), dtype=np.int64), np.ascontiguousarray(has, dtype=np.bool_), f,
        n_has.astype(np.int64), int(iterations),
    )  # fmt: skip


def em_frequency_pl(
    pl: np.ndarray, has: np.ndarray, iterations: int = 30, rows: np.ndarray | None = None
) -> np.ndarray:
    """:func:`em_frequency` of the log10 likelihoods ``-pl / 10`` (``pl`` int64[m, N, 3]) at
    ``rows`` (default: all), each of whose PLs is first set to its least 0 per sample, in
    place (:func:`biometal.variants._kernels.shift_rows`; the joint step's records keep
    them so). Equal bit for bit (tests/unit/test_joint.py): the likelihoods ``10 ** (-pl /
    10)`` are looked up in a table of each PL value's, computed by the same numpy power,
    and the likeliest genotype is the least PL (the first on ties, as argmax)."""
    from biometal.variants._kernels import MAX_PAIRWISE, shift_rows
    from biometal.variants._kernels import em_frequency as em

    rows = np.arange(len(pl), dtype=np.int64) if rows is None else rows.astype(np.int64)
    has = np.ascontiguousarray(has, dtype=np.bool_)
    if pl.shape[1] > MAX_PAIRWISE or (len(pl) and (pl.min() < 0 or pl.max() > 1 << 20)):
        sub = pl[rows]
        sub -= sub.min(axis=2, keepdims=True)
        pl[rows] = sub
        return em_frequency(-sub / 10.0, has[rows], iterations)
    best, n_has, top = shift_rows(pl, rows, has)
    table = np.power(10.0, -np.arange(top + 1, dtype=np.int64) / 10.0)
    f = np.clip(best / (2.0 * n_has), 0.01, 0.99)
    return em(pl, table, rows, has, f, n_has, int(iterations))


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
        '##FILTER=<ID=LowQual,Description="QUAL below joint_min_qual">',
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


@dataclass
class _Coded:
    """Alleles as integers: ``code = (offset[contig] + pos) * n_pairs + rank``, where the
    contigs lie end to end in the reference's order (each as long as its length or its
    furthest record) and ``rank`` orders the (REF, ALT) pairs by (is indel, REF, ALT):
    codes sort as the candidates do. Per sample: the items of ``sites`` and the record
    rows as codes / position codes (-1: a contig the reference lacks)."""

    pairs: list[tuple[str, str]]  # by rank
    n_pairs: int
    index: dict[str, int]  # contig -> its index in the reference
    offsets: np.ndarray  # int64[contigs], reference order
    items: list[np.ndarray]  # per sample: code of each item of ``sites``
    rows: list[np.ndarray]  # per sample: position code of each record row


def _code(samples: Sequence[SampleEvidence], contigs: dict[str, int]) -> _Coded:
    pairs = sorted(
        dict.fromkeys(p for s in samples for p in s.pairs),
        key=lambda p: (len(p[0]) != len(p[1]), p[0], p[1]),
    )
    rank = {p: i for i, p in enumerate(pairs)}
    n_pairs = max(1, len(pairs))
    extent = dict(contigs)
    for s in samples:
        if len(s.row_pos):
            far = np.full(len(s.contig_names), -1, np.int64)
            np.maximum.at(far, s.row_cid, s.row_pos)
            for c, x in zip(s.contig_names, far.tolist(), strict=True):
                if c in extent:
                    extent[c] = max(extent[c], x + 1)
    offsets = np.zeros(len(extent), np.int64)
    np.cumsum(list(extent.values())[:-1], out=offsets[1:])
    if (sum(extent.values()) + 1) * n_pairs >= 1 << 62:
        raise BiometalError("joint genotyping: too many distinct alleles to index")
    off_of = dict(zip(extent, offsets.tolist(), strict=True))
    items, rows = [], []
    for s in samples:
        off = np.array([off_of.get(c, -1) for c in s.contig_names] + [-1], np.int64)
        r_off = off[s.row_cid]
        rows.append(np.where(r_off >= 0, r_off + s.row_pos, -1))
        i_row = s.site_rows
        i_off = r_off[i_row]
        p_rank = np.array([rank[p] for p in s.pairs] + [0], np.int64)
        items.append(
            np.where(i_off >= 0, (i_off + s.row_pos[i_row]) * n_pairs + p_rank[s.item_pair], -1)
        )
    index = {c: i for i, c in enumerate(extent)}
    return _Coded(pairs, n_pairs, index, offsets, items, rows)


def _find(keys: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Index of each of ``query`` in the sorted ``keys``, -1 where absent."""
    if not len(keys):
        return np.full(len(query), -1, np.int64)
    k = np.searchsorted(keys, query)
    k[k >= len(keys)] = 0
    return np.where(keys[k] == query, k, -1)


def _indel_spans(
    s: SampleEvidence, item_pc: np.ndarray, min_alt_reads: int
) -> tuple[np.ndarray, list[str]]:
    """The reach of every indel record of a sample's gVCF that at least ``min_alt_reads`` of
    its reads show and whose likeliest genotype (its PLs, no prior) carries the indel:
    int64[k, 6] rows of (first, end (exclusive), anchor, length, homozygous, inserted
    sequence index or -1) in position codes (:class:`_Coded`), and the inserted sequences.
    A deletion reaches over its deleted bases, an insertion over ``length`` bases either
    side of its anchor's end. ``item_pc``: the position code of each item of ``s.sites``
    (-1: none)."""
    r, a = s.site_rows, s.site_allele
    none = (np.zeros((0, 6), np.int64), [])
    if not len(r):
        return none
    shape = [(len(x), len(y), x.startswith(y) or y.startswith(x)) for x, y in s.pairs]
    ref_len = np.array([x[0] for x in shape], np.int64)[s.item_pair]
    alt_len = np.array([x[1] for x in shape], np.int64)[s.item_pair]
    anchored = np.array([x[2] for x in shape], bool)[s.item_pair]
    g1 = a * (a + 1) // 2
    ok = anchored & (alt_len != ref_len) & (g1 + a < s.pl_rows.shape[1]) & (item_pc >= 0)
    # support: AD of the indel (records without AD are left alone)
    ok &= a < s.ad_rows.shape[1]
    ok[ok] = s.ad_ok[r[ok]] & (s.ad_rows[r[ok], a[ok]] >= min_alt_reads)
    if not ok.any():
        return none
    items = np.flatnonzero(ok)
    r, a, g1 = r[items], a[items], g1[items]
    p00, p01, p11 = s.pl_rows[r, 0], s.pl_rows[r, g1], s.pl_rows[r, g1 + a]
    hom = (p11 < p00) & (p11 < p01)
    carried = (hom | ((p01 < p00) & (p01 <= p11))) & (np.minimum(p00, np.minimum(p01, p11)) >= 0)
    rows, inserted = [], []
    for i, h in zip(items[carried].tolist(), hom[carried].tolist(), strict=True):
        ref, alt = s.pairs[s.item_pair[i]]
        anchor = int(item_pc[i]) + min(len(ref), len(alt)) - 1
        length = abs(len(ref) - len(alt))
        if len(ref) > len(alt):  # deleted bases
            rows.append((anchor + 1, anchor + 1 + length, anchor, length, int(h), -1))
        else:
            rows.append((anchor + 1 - length, anchor + 1 + length, anchor, length, 0,
                         len(inserted)))  # fmt: skip
            inserted.append(alt[len(ref) :])
    spans = np.array(rows, np.int64).reshape(-1, 6)
    return spans[np.argsort(spans[:, 0], kind="stable")], inserted


def _misaligned(
    pc: np.ndarray, alt: np.ndarray, alt_of: list[str], spans: tuple, base_at
) -> np.ndarray:
    """Which SNP alleles (position codes ``pc``, ALT bases ``alt_of[alt]``) a sample's
    reads may show only where they are misaligned around an indel of its own
    (:func:`_indel_spans`): anywhere inside a deletion it carries on both haplotypes; else
    where the ALT is the base a read ending or starting inside the indel, aligned without
    it, puts there (deletion of length L: the reference base L on or L back; insertion:
    its inserted bases, read on from its anchor either way). ``base_at``: position code ->
    reference base."""
    rows, inserted = spans
    out = np.zeros(len(pc), bool)
    if not len(rows) or not len(pc):
        return out
    order = np.argsort(pc, kind="stable")
    sorted_pc = pc[order]
    lo = np.searchsorted(sorted_pc, rows[:, 0], side="left")
    hi = np.searchsorted(sorted_pc, rows[:, 1], side="left")
    for k in np.flatnonzero(hi > lo).tolist():
        _, _, anchor, length, hom, ins = rows[k].tolist()
        for i in order[lo[k] : hi[k]].tolist():
            if out[i]:
                continue
            q, x = int(pc[i]), alt_of[alt[i]]
            if ins < 0:
                out[i] = bool(hom) or x in (base_at(q + length), base_at(q - length))
            else:
                j = length - 1 - (anchor - q) if q <= anchor else q - anchor - 1
                out[i] = x == inserted[ins][j]
    return out


class _BaseAt:
    """Reference base (upper case, :class:`~biometal.variants.call._Reference`) at a
    position code (:class:`_Coded`); "" beyond a contig's end or on a contig the reference
    lacks. Opens the FASTA on first use."""

    def __init__(self, reference: str | os.PathLike, coded: _Coded) -> None:
        self.path, self.coded, self.ref = str(reference), coded, None
        self.names = list(coded.index)

    def __call__(self, pc: int) -> str:
        if self.ref is None:
            self.ref = _Reference(self.path)
        c = int(np.searchsorted(self.coded.offsets, pc, side="right")) - 1
        name, pos = self.names[c], pc - int(self.coded.offsets[c])
        fa = self.ref.fa
        if name not in fa.references or pos >= fa.get_reference_length(name):
            return ""
        return self.ref.base(name, pos)


def _fill(samples, coded, cand, cand_pc, cand_contig, is_indel, indel_error,
          pl, ad, has_ad, dp, has) -> None:  # fmt: skip
    """Every sample's evidence at every candidate, in arrays, with the precedence of
    :meth:`SampleEvidence.lookup` (tests/unit/test_joint.py): the sample's record of the
    allele, then (indels) the first other indel record at the position, then the first
    record at the position (its ``<*>``; without one, no data), then the reference block
    covering the position. One compiled merge walk per sample
    (:func:`biometal.variants._kernels.fill_sample`)."""
    from biometal.variants._kernels import fill_sample

    m = len(cand)
    if not m:
        return
    lg = np.log10([1.0 - indel_error, 0.5, indel_error])
    i64 = np.int64
    cand_pc = np.ascontiguousarray(cand_pc, i64)
    cand_contig = np.ascontiguousarray(cand_contig, i64)
    is_indel = np.ascontiguousarray(is_indel, np.bool_)
    for j, s in enumerate(samples):
        ci = _find(cand, coded.items[j])
        hit = np.full(m, -1, i64)
        found = np.flatnonzero(ci >= 0)
        hit[ci[found]] = found
        # the PL index each lookup reads (0/a, a/a; the <*>'s) must be in the rows
        width = s.pl_rows.shape[1]
        a = s.site_allele[found]
        star = s.row_star
        need = max(
            int((a * (a + 1) // 2 + a).max(initial=0)),
            int((star * (star + 1) // 2 + star).max(initial=0)),
        )
        if need >= width:
            raise BiometalError(f"{s.path}: a record has fewer PL values than its alleles need")
        row_pc = np.ascontiguousarray(coded.rows[j], i64)
        order = (
            np.arange(len(row_pc), dtype=i64)
            if np.all(row_pc[1:] >= row_pc[:-1])
            else np.argsort(row_pc, kind="stable")
        )
        blocks = sorted((coded.index[c], blk) for c, blk in s.blocks.items() if c in coded.index)
        b_start = [coded.offsets[c] + blk[0] for c, blk in blocks]
        b_end = [coded.offsets[c] + blk[1] for c, blk in blocks]
        b_contig = [np.full(len(blk[0]), c, i64) for c, blk in blocks]
        b_pl = [np.asarray(blk[2], i64).reshape(-1, 3) for _, blk in blocks]
        b_dp = [blk[3] for _, blk in blocks]

        def cat(parts, shape=(0,)):
            return np.ascontiguousarray(np.concatenate(parts) if parts else np.zeros(shape), i64)

        fill_sample(
            j, cand_pc, cand_contig, is_indel, hit,
            np.ascontiguousarray(s.site_rows, i64), np.ascontiguousarray(s.site_allele, i64),
            np.ascontiguousarray(s.pl_rows, i64), np.ascontiguousarray(s.ad_rows, i64),
            np.ascontiguousarray(s.ad_ok, np.bool_), np.ascontiguousarray(s.dp_rows, i64),
            row_pc, np.ascontiguousarray(order, i64), np.ascontiguousarray(s.row_indel, np.bool_),
            np.ascontiguousarray(s.row_k, i64), np.ascontiguousarray(star, i64),
            cat(b_start), cat(b_end), cat(b_contig), cat(b_pl, (0, 3)), cat(b_dp), lg,
            pl, ad, has_ad, dp, has,
        )  # fmt: skip


def joint_genotype(
    gvcfs: Sequence[str | os.PathLike | SampleEvidence],
    reference: str | os.PathLike,
    out_vcf: str | os.PathLike,
    *,
    calling: CallParams | None = None,
    em_iterations: int = 30,
) -> dict[str, float]:
    """Joint-genotype the samples of ``gvcfs`` into ``out_vcf`` (see the module docstring).
    ``gvcfs``: gVCF paths, or their evidence already indexed
    (:func:`~biometal.variants.gvcf.write_gvcf`'s ``evidence``).

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
    samples = [p if isinstance(p, SampleEvidence) else read_evidence(p) for p in gvcfs]
    names = [s.name for s in samples]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise BiometalError(f"{samples[names.index(dup)].path}: sample {dup!r} appears twice")
    for s in samples:
        if not set(s.contig_names) <= contigs.keys():
            k = next((k for k in s.sites if k[0] not in contigs), None)
            if k is not None:
                raise BiometalError(f"{s.path}: contig {k[0]!r} is not in {reference}")
    coded = _code(samples, contigs)
    snp_rank = np.array([len(r) == len(a) == 1 for r, a in coded.pairs] + [False], bool)
    alt_of = [a for _, a in coded.pairs] + [""]
    base_at = _BaseAt(reference, coded)
    codes, reads, spans = [], [], []
    for s, item in zip(samples, coded.items, strict=True):
        r, a = s.site_rows, s.site_allele
        # a record without AD (another tool's) counts as enough support
        n_alt = np.full(len(r), calling.min_alt_reads, np.int64)
        if s.ad_rows.shape[1]:
            got = s.ad_rows[r, np.minimum(a, s.ad_rows.shape[1] - 1)]
            n_alt = np.where(s.ad_ok[r], got, n_alt)
        # a SNP that the sample's reads may show only where they are misaligned around an
        # indel of its own is not evidence: left out (_misaligned)
        item_pc = np.where(item >= 0, item // coded.n_pairs, -1)
        spans.append(_indel_spans(s, item_pc, calling.min_alt_reads))
        snp = np.flatnonzero((item >= 0) & snp_rank[item % coded.n_pairs])
        bad = _misaligned(item_pc[snp], item[snp] % coded.n_pairs, alt_of, spans[-1], base_at)
        keep = item >= 0
        keep[snp[bad]] = False
        codes.append(item[keep])
        reads.append(n_alt[keep])
    # candidates: alleles with min_alt_reads ALT reads over the samples, in code order
    # (contig, position, SNP before indel, REF, ALT)
    # (each sample's codes come sorted: a stable sort merges the runs)
    all_codes = np.concatenate(codes or [np.zeros(0, np.int64)])
    order = np.argsort(all_codes, kind="stable")
    sorted_codes = all_codes[order]
    first = np.flatnonzero(np.append(True, sorted_codes[1:] != sorted_codes[:-1]))
    u = sorted_codes[first[first < len(sorted_codes)]]
    total = (
        np.add.reduceat(np.concatenate(reads or [np.zeros(0, np.int64)])[order], first)
        if len(u)
        else np.zeros(0, np.int64)
    )
    cand = u[total >= calling.min_alt_reads]
    cand_pc, cand_rank = np.divmod(cand, coded.n_pairs)
    cand_contig = np.searchsorted(coded.offsets, cand_pc, side="right") - 1
    cand_pos = cand_pc - coded.offsets[cand_contig] if len(cand) else cand_pc
    is_indel = np.array([len(r) != len(a) for r, a in coded.pairs] + [False], bool)[cand_rank]
    contig_names = list(coded.index)
    n_s, m = len(samples), len(cand)
    pl = np.zeros((m, n_s, 3), np.int64)
    dp = np.zeros((m, n_s), np.int64)
    has = np.zeros((m, n_s), bool)
    ad = np.zeros((m, n_s, 2), np.int64)
    has_ad = np.zeros((m, n_s), bool)
    _fill(
        samples, coded, cand, cand_pc, cand_contig, is_indel, calling.indel_error,
        pl, ad, has_ad, dp, has,
    )  # fmt: skip
    # ... and such a sample has no data at that SNP candidate
    is_snp = ~is_indel
    snp_c = np.flatnonzero(is_snp)
    for j, sp in enumerate(spans):
        gone = snp_c[_misaligned(cand_pc[snp_c], cand_rank[snp_c], alt_of, sp, base_at)]
        has[gone, j] = has_ad[gone, j] = False
        pl[gone, j] = ad[gone, j] = dp[gone, j] = 0
    live = _live(pl, has)
    f = np.zeros(m)
    if len(live):
        # the live rows' PLs back to a least 0 (a subset of a record's PLs), in place
        f[live] = em_frequency_pl(pl, has, em_iterations, rows=live)
    theta = np.where(is_snp, calling.theta, calling.indel_theta)
    a_n = sum(1.0 / i for i in range(1, 2 * n_s))
    pi = np.minimum(theta * a_n, 0.5)
    ln10 = math.log(10.0)
    if len(live):
        from biometal.variants._kernels import favour_alt

        f_l = f[live]
        log_prior = np.log(np.stack([(1 - f_l) ** 2, 2 * f_l * (1 - f_l), f_l**2], axis=1))
        # lp = (-PL / 10) ln10 + log prior (natural log): the posteriors' argmax is never
        # above lp's (exp does not decrease), so only candidates where lp favours an ALT
        # genotype in a sample with data can be records: found in one compiled pass
        # (favour_alt, numpy's operations), the posteriors computed for those alone, and
        # only where the samples' reads add up to min_depth (a handful of reads in the
        # cohort, e.g. misaligned ones inside a deletion that every sample carries, would
        # otherwise set the frequency alone)
        sel = np.flatnonzero(
            favour_alt(pl, live.astype(np.int64), np.ascontiguousarray(has), dp,
                       np.ascontiguousarray(log_prior), ln10, int(calling.min_depth))
        )  # fmt: skip
        maybe = live[sel]
        gl_m = -pl[maybe] / 10.0  # [maybe, N, 3]
        lp_m = gl_m * ln10 + log_prior[sel][:, None, :]
        mx = lp_m.max(axis=2, keepdims=True)
        lse = mx[..., 0] + np.log(np.exp(lp_m - mx).sum(axis=2))
        post = np.exp(lp_m - lse[..., None])
        gt = np.zeros((m, n_s), np.int64)
        gt[maybe] = post.argmax(axis=2)
        # records: candidates where a sample with data carries the ALT; GQ and QUAL of
        # those alone
        keep = (has[maybe] & (gt[maybe] > 0)).any(axis=1)
        rows = maybe[keep]
        post, lse = post[keep], lse[keep]
        gt_r, has_r, gl_r = gt[rows], has[rows], gl_m[keep]
        p_best = np.take_along_axis(post, gt_r[..., None], axis=2)[..., 0]
        # 1 - P(best) without cancellation: the sum of the two others
        wrong = np.clip(post.sum(axis=2) - p_best, 0, None)
        with np.errstate(divide="ignore"):
            gq = np.minimum(99, np.rint(-10 * np.log10(np.maximum(wrong, 1e-300)))).astype(int)
        l0 = (gl_r[:, :, 0] * ln10 * has_r).sum(axis=1)
        l1 = (lse * has_r).sum(axis=1)
        a = np.log1p(-pi[rows]) + l0
        b = np.log(pi[rows]) + l1
        mxab = np.maximum(a, b)
        log_p0 = a - (mxab + np.log(np.exp(a - mxab) + np.exp(b - mxab)))
        qual = np.minimum(-10 * log_p0 / ln10, 3000.0)
    else:
        rows = np.zeros(0, np.int64)
        gt = gq = np.zeros((0, n_s), np.int64)
        qual = np.zeros(0)
    meta = [
        f"biometal_joint=theta:{calling.theta};indel_theta:{calling.indel_theta};joint_min_qual:{calling.joint_min_qual};em_iterations:{em_iterations}"
    ]
    # every record's line in two compiled calls (the sample columns, then the lines), the
    # floats formatted in Python once per distinct value
    from biometal.variants._kernels import format_records, format_samples

    h_r, g_r = has[rows], gt[rows]
    s_txt, s_off = format_samples(
        h_r, g_r.astype(np.int64), np.asarray(gq, np.int64), dp[rows], has_ad[rows],
        ad[rows], pl[rows],
    )  # fmt: skip
    qual = np.ascontiguousarray(qual, np.float64)
    q_u, q_i = distinct_floats(qual)
    af = np.ascontiguousarray(f[rows], np.float64)
    f_u, f_i = distinct_floats(af)
    passed = qual >= calling.joint_min_qual
    r_rank = cand_rank[rows]
    kinds = np.array(
        [0 if len(r) == len(a) else (1 if len(a) > len(r) else 2) for r, a in coded.pairs] + [0],
        np.int64,
    )[r_rank]
    r_contig = cand_contig[rows].astype(np.int64)
    r_pos = cand_pos[rows].astype(np.int64)
    text, off = format_records(
        *text_table(contig_names), r_contig, r_pos,
        *text_table([f"{r}\t{a}" for r, a in coded.pairs]), r_rank.astype(np.int64),
        *text_table([f"{x:.2f}" for x in q_u.tolist()]), q_i, passed,
        *text_table([f"{x:.4g}" for x in f_u.tolist()]), f_i,
        (g_r * h_r).sum(axis=1).astype(np.int64), (2 * h_r.sum(axis=1)).astype(np.int64),
        dp[rows].sum(axis=1).astype(np.int64), h_r.sum(axis=1).astype(np.int64), kinds,
        s_txt, s_off,
    )  # fmt: skip
    ref_len = np.array([len(r) for r, _ in coded.pairs] + [1], np.int64)[r_rank]
    n = {
        "candidates": m,
        "records": len(rows),
        "pass": int(passed.sum()),
        "snps": int((kinds == 0).sum()),
        "indels": int((kinds > 0).sum()),
    }
    with VcfWriter(out_vcf, _header(names, contigs, reference, meta), level=1) as vcf:
        # one contig's lines at a time, with their tabix intervals (records sort by contig)
        bounds = np.flatnonzero(np.diff(r_contig)) + 1
        for lo, hi in zip([0, *bounds.tolist()], [*bounds.tolist(), len(rows)], strict=True):
            if hi > lo:
                vcf.write_lines(
                    text[off[lo] : off[hi]], hi - lo,
                    (contig_names[r_contig[lo]], off[lo + 1 : hi + 1] - off[lo], r_pos[lo:hi],
                     r_pos[lo:hi] + ref_len[lo:hi]),
                )  # fmt: skip
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
