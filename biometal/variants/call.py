"""Reads in, VCF out: SNP and indel calls from the streaming pileup.

:func:`call_variants` runs :func:`biometal.pileup.iter_pileup` over a BAM and, block by
block (bounded memory for the counts), finds candidate sites and scores them with
:mod:`biometal.variants.sitestats`:

SNPs - at a position whose reference base is A/C/G/T, the most frequent other base is the
candidate ALT. ``n_ref`` / ``n_alt`` are the A/C/G/T bases of each allele; their error
rates come from their mean base quality; the binomial and beta-binomial tests compare the
ALT count with the site's mean error rate (divided by 3: errors towards one base).

Indels - every read's insertion or deletion (with its sequence) is written as VCF alleles
on its anchor base, left-aligned and trimmed (:func:`~biometal.variants.normalize.normalize`),
and reads with the same normalised allele are pooled. ``n_alt`` is that pool; ``n_ref``
the reads with a base at the anchor that show no indel there; the error rate is
``indel_error`` per read.

For gVCFs (joint genotyping), :func:`genotype_indels` genotypes the same alleles from the
reads themselves (:func:`indel_read_support`): each read overlapping an indel's repeat
region is matched without gaps, soft clips included, to REF and to every allele of the
locus and counts for the one it fits clearly better, so an ALT read whose aligner wrote
mismatches or a soft clip counts as ALT and a read ending inside the repeat counts for
neither (the pileup's counts take both for REF).

A candidate needs ``min_alt_reads`` ALT reads, an ALT fraction >= ``min_af`` and
``min_depth`` reads. Genotype = the most probable of 0/0, 0/1, 1/1 under the prior
(``theta`` for SNPs, ``indel_theta`` for indels); a 0/0 call is not written. FILTER:
``LowQual`` (QUAL < ``min_qual``), ``ErrorLike`` (beta-binomial P > ``max_error_pvalue``:
the ALT reads are explained by overdispersed sequencing error), ``LowDepth``. Only the
most frequent ALT of a site is called (biallelic records).

Calls of one contig are kept until the contig ends (left-alignment can move an indel
before the block it was seen in) and written sorted; the VCF is atomic (no partial file).
"""

from __future__ import annotations

import logging
import os
import time
from collections import defaultdict

import numpy as np

from biometal.io.bam import check_bam
from biometal.pileup.engine import PileupBlock, PileupParams, iter_pileup
from biometal.variants import sitestats as S
from biometal.variants.normalize import normalize
from biometal.variants.params import CallParams
from biometal.variants.vcf import VcfRecord, VcfWriter, header_lines

log = logging.getLogger(__name__)

_CODE = {ord("A"): 0, ord("C"): 1, ord("G"): 2, ord("T"): 3}
_LETTER = "ACGT"
_REF_LUT = np.full(256, 4, dtype=np.int64)
for _b, _c in _CODE.items():
    _REF_LUT[_b] = _c
_GT = ("0/0", "0/1", "1/1")


FILTERS = [
    ("LowQual", "QUAL below min_qual"),
    (
        "ErrorLike",
        "ALT reads explained by overdispersed sequencing error (beta-binomial P above "
        "max_error_pvalue)",
    ),
    ("LowDepth", "Fewer than min_depth reads"),
]


class _Reference:
    def __init__(self, path: str) -> None:
        from biometal.io.reference import IndexedFasta

        self.fa = IndexedFasta(path)
        self.contig = ""
        self.start = 0
        self.seq = ""

    def load(self, contig: str, start: int, end: int) -> str:
        """Upper-case reference of [start, end) (and cache it with 2 kb either side)."""
        self.contig, self.start = contig, max(0, start - 2000)
        self.seq = self.fa.fetch(contig, self.start, end + 2000).upper()
        return self.seq[start - self.start : end - self.start]

    def base(self, contig: str, pos: int) -> str:
        if contig == self.contig and self.start <= pos < self.start + len(self.seq):
            return self.seq[pos - self.start]
        return self.fa.fetch(contig, pos, pos + 1).upper()

    def range(self, contig: str, start: int, end: int) -> str:
        if contig == self.contig and self.start <= start and end <= self.start + len(self.seq):
            return self.seq[start - self.start : end - self.start]
        return self.fa.fetch(contig, start, end).upper()


def _finish(
    contig: str,
    pos: np.ndarray,
    refs: list[str],
    alts: list[str],
    kind: str,
    n_ref: np.ndarray,
    n_alt: np.ndarray,
    e_ref: np.ndarray,
    e_alt: np.ndarray,
    e_site: np.ndarray,
    sb: np.ndarray,
    mq: np.ndarray,
    params: CallParams,
    called: np.ndarray | None = None,
) -> list[VcfRecord]:
    """Records of the non-reference calls; with ``called`` (bool per row) a record for
    every row, GT 0/0 (FILTER empty) where ``called`` is False or the genotype is 0/0."""
    snp = kind == "SNP"
    depth = n_ref + n_alt
    div = 3.0 if snp else 1.0
    binom = S.binomial_sf(n_alt, depth, e_site / div)
    bb = S.betabinomial_sf(n_alt, depth, e_site / div, params.overdispersion)
    gl = S.genotype_log10_likelihoods(n_ref, n_alt, e_ref, e_alt, snp=snp)
    post = S.genotype_posteriors(gl, params.theta if snp else params.indel_theta)
    gt, gq, qual = S.call_genotypes(post)
    pl = S.phred_likelihoods(gl)
    binq = S.pvalue_to_phred(binom)
    bbq = S.pvalue_to_phred(bb)
    out = []
    if called is None:
        rows = np.flatnonzero(gt > 0)
    else:
        rows = np.arange(len(gt))
        log_not_ref = S.logsumexp(post[:, 1:] * S.LN10, axis=1) / S.LN10
        ref_gq = np.minimum(99, np.rint(-10.0 * log_not_ref)).astype(np.int64)
        gq = np.where(called & (gt > 0), gq, ref_gq)
        gt = np.where(called, gt, 0)
    for i in rows.tolist():
        filters = []
        if gt[i] > 0:
            if qual[i] < params.min_qual:
                filters.append("LowQual")
            if bb[i] > params.max_error_pvalue:
                filters.append("ErrorLike")
            if depth[i] < params.min_depth:
                filters.append("LowDepth")
        d = int(depth[i])
        if snp:
            vtype = "SNP"
        else:
            vtype = "INS" if len(alts[i]) > len(refs[i]) else "DEL"
        out.append(
            VcfRecord(
                chrom=contig,
                pos=int(pos[i]),
                ref=refs[i],
                alt=alts[i],
                qual=float(qual[i]),
                filters=tuple(filters),
                info={
                    "DP": d,
                    "AF": round(float(n_alt[i]) / d, 4) if d else 0.0,
                    "TYPE": vtype,
                    "MQ": round(float(mq[i]), 1),
                    "SB": tuple(int(x) for x in sb[i]),
                    "BINOMQ": round(float(binq[i]), 2),
                    "BBQ": round(float(bbq[i]), 2),
                },
                gt=_GT[int(gt[i])],
                gq=int(gq[i]),
                dp=d,
                ad=(int(n_ref[i]), int(n_alt[i])),
                pl=tuple(int(x) for x in pl[i]),
            )
        )
    return out


def call_snps(block: PileupBlock, ref_seq: str, params: CallParams) -> list[VcfRecord]:
    """SNP calls of one pileup block (``ref_seq``: reference of the block, upper case)."""
    c = block.counts
    ref_idx = _REF_LUT[np.frombuffer(ref_seq.encode("ascii"), np.uint8)]
    acgt = c[:, 0:4] + c[:, 5:9]  # uint32: no overflow below 2**31 reads per position
    n_bases = acgt.sum(axis=1, dtype=np.int64)
    valid = ref_idx < 4
    rows = np.flatnonzero(valid)
    masked = acgt.copy()
    masked[rows, ref_idx[rows]] = 0
    alt_idx = masked.argmax(axis=1)
    k_alt = masked[np.arange(len(c)), alt_idx].astype(np.int64)
    cand = (
        valid
        & (k_alt >= params.min_alt_reads)
        & (k_alt >= params.min_af * n_bases)
        & (n_bases >= max(1, params.min_depth))
    )
    idx = np.flatnonzero(cand)
    if not len(idx):
        return []
    r, a = ref_idx[idx], alt_idx[idx]
    sub = c[idx].astype(np.int64)
    fwd, rev = sub[:, 0:4], sub[:, 5:9]
    both = fwd + rev
    k = np.arange(len(idx))
    n_ref = both[k, r]
    n_alt = both[k, a]
    qs = sub[:, 18:22]
    e_ref = S.mean_error(qs[k, r], n_ref)
    e_alt = S.mean_error(qs[k, a], n_alt)
    e_site = S.mean_error(qs.sum(axis=1), n_bases[idx])
    sb = np.stack([fwd[k, r], rev[k, r], fwd[k, a], rev[k, a]], axis=1)
    entries = sub[:, 0:14].sum(axis=1)
    mq = np.divide(sub[:, 23], entries, out=np.zeros(len(idx)), where=entries > 0)
    return _finish(
        block.contig,
        block.start + idx,
        [_LETTER[x] for x in r.tolist()],
        [_LETTER[x] for x in a.tolist()],
        "SNP",
        n_ref,
        n_alt,
        e_ref,
        e_alt,
        e_site,
        sb,
        mq,
        params,
    )


def call_indels(
    block: PileupBlock,
    ref: _Reference,
    params: CallParams,
    *,
    evidence_min_alt: int | None = None,
) -> list[VcfRecord]:
    """Indel calls of one pileup block (events pooled by normalised allele).

    ``evidence_min_alt`` (the gVCF's): a record for every allele at least that many reads
    show, GT 0/0 where it is not called (what a gVCF needs for joint genotyping).
    """
    ev = block.events
    if not len(ev):
        return []
    contig = block.contig
    raw: dict[tuple[int, int, str], list[int]] = defaultdict(lambda: [0, 0])
    for p, ln, rv, sq in zip(
        ev.pos.tolist(), ev.length.tolist(), ev.reverse.tolist(), ev.seqs, strict=True
    ):
        raw[(p, ln, sq)][rv] += 1
    at_anchor: dict[int, int] = defaultdict(int)
    for (p, _, _), n in raw.items():
        at_anchor[p] += n[0] + n[1]
    pooled: dict[tuple[int, str, str], list] = {}
    for (p, ln, sq), (nf, nr) in raw.items():
        anchor = ref.base(contig, p)
        if ln > 0:
            r_all, a_all = anchor, anchor + sq
        else:
            r_all, a_all = ref.range(contig, p, p + 1 - ln), anchor
        key = normalize(p, r_all, a_all, lambda x: ref.base(contig, x))
        entry = pooled.setdefault(key, [0, 0, p, 0])
        entry[0] += nf
        entry[1] += nr
        if nf + nr > entry[3]:  # the raw anchor with most support gives the depth
            entry[2], entry[3] = p, nf + nr
    c = block.counts
    keys = list(pooled)
    n_alt = np.array([pooled[k][0] + pooled[k][1] for k in keys], dtype=np.int64)
    anchors = np.array([pooled[k][2] for k in keys], dtype=np.int64)
    rows = anchors - block.start
    cov = c[rows, 0:10].astype(np.int64).sum(axis=1) + c[rows, 12:14].astype(np.int64).sum(axis=1)
    others = np.array([at_anchor[a] for a in anchors.tolist()], dtype=np.int64)
    n_ref = np.maximum(0, cov - others)
    depth = n_ref + n_alt
    cand = (
        (n_alt >= params.min_alt_reads)
        & (n_alt >= params.min_af * depth)
        & (depth >= max(1, params.min_depth))
    )
    if evidence_min_alt is None:
        idx = np.flatnonzero(cand)
        called = None
    else:
        idx = np.flatnonzero(n_alt >= evidence_min_alt)
        called = cand[idx]
    if not len(idx):
        return []
    e = np.full(len(idx), params.indel_error)
    fwd_all = c[rows[idx], 0:5].astype(np.int64).sum(axis=1)
    alt_f = np.array([pooled[keys[i]][0] for i in idx.tolist()], dtype=np.int64)
    alt_r = np.array([pooled[keys[i]][1] for i in idx.tolist()], dtype=np.int64)
    ref_f = np.clip(fwd_all - alt_f, 0, n_ref[idx])
    sb = np.stack([ref_f, n_ref[idx] - ref_f, alt_f, alt_r], axis=1)
    entries = c[rows[idx], 0:14].astype(np.int64).sum(axis=1)
    mq = np.divide(c[rows[idx], 23], entries, out=np.zeros(len(idx)), where=entries > 0)
    return _finish(
        contig,
        np.array([keys[i][0] for i in idx.tolist()], dtype=np.int64),
        [keys[i][1] for i in idx.tolist()],
        [keys[i][2] for i in idx.tolist()],
        "INDEL",
        n_ref[idx],
        n_alt[idx],
        e,
        e,
        e,
        sb,
        mq,
        params,
        called,
    )


#: bases compared past an indel's repeat region when a read is matched to REF and ALT
HAP_FLANK = 20
#: quality-sum difference of mismatches by which a read must favour one haplotype
HAP_MARGIN = 20


def indel_span(pos: int, ref: str, alt: str, fetch) -> int:
    """First reference position after the region where a normalised indel can sit.

    ``pos``, ``ref``, ``alt``: a left-aligned, trimmed indel (0-based anchor ``pos``,
    ``ref[0] == alt[0]``); ``fetch(i)``: reference base at ``i`` ("" past the end). The
    indel can be shifted right over a repeat of its bases without changing the haplotype:
    a read shows REF only when it covers the anchor and this position without an indel.
    """
    if len(ref) > len(alt):  # deletion of ref[1:]
        n = len(ref) - 1
        k = 0
        while True:
            a, b = fetch(pos + 1 + k), fetch(pos + 1 + n + k)
            if not a or a != b:
                break
            k += 1
        return pos + 1 + n + k
    ins = alt[1:]
    k = 0
    while True:
        a = fetch(pos + 1 + k)
        if not a or a != ins[k % len(ins)]:
            break
        k += 1
    return pos + 1 + k


def _mismatch_q(read: np.ndarray, qual: np.ndarray, hap: np.ndarray, min_bq: int) -> int:
    """Sum of the qualities (capped at 40) of read bases >= ``min_bq`` that differ from
    ``hap`` (same length)."""
    bad = (read != hap) & (qual >= min_bq) & (read != ord("N"))
    return int(np.minimum(qual[bad], 40).sum())


def _loci(alleles: list[tuple[int, str, str]], ends: list[int]) -> list[list[int]]:
    """Indices of ``alleles`` grouped into loci: alleles whose [pos, end] overlap."""
    order = sorted(range(len(alleles)), key=lambda i: (alleles[i][0], ends[i]))
    loci: list[list[int]] = []
    hi = -1
    for i in order:
        if loci and alleles[i][0] <= hi:
            loci[-1].append(i)
            hi = max(hi, ends[i])
        else:
            loci.append([i])
            hi = ends[i]
    return loci


def _assign_reads(
    cost: np.ndarray, strand: list[int], mapq: list[int], locus: list[int], out: np.ndarray
) -> None:
    """Count a locus's reads (``cost`` int[reads, 1 + alleles]: REF first) into ``out``.

    A read shows the haplotype that costs least when the next best costs ``HAP_MARGIN``
    more. A read that is clearly not REF but as good for two alleles (an allele one
    sequencing error away from another: an inserted base read wrong, at low base
    qualities) goes to the one that more such reads match best (every read clearly not
    REF votes for its cheapest allele), then to the one it matches best: with qualities
    under HAP_MARGIN no read is unambiguous, and the locus's true insertion must not lose
    its reads to an allele one read's error made.
    """
    order = np.sort(cost, axis=1)
    best = cost.argmin(axis=1)
    clear = order[:, 1] - order[:, 0] >= HAP_MARGIN
    alt_min = cost[:, 1:].min(axis=1)
    not_ref = cost[:, 0] - alt_min >= HAP_MARGIN
    support = np.bincount(best[not_ref & (best > 0)], minlength=cost.shape[1])
    for j in np.flatnonzero(~clear & not_ref).tolist():
        near = np.flatnonzero(cost[j] < alt_min[j] + HAP_MARGIN)
        near = near[near > 0]
        pick = np.lexsort((near, cost[j, near], -support[near]))[0]
        best[j] = int(near[pick])
        clear[j] = True
    for j in np.flatnonzero(clear).tolist():
        b, rev = int(best[j]), strand[j]
        for t, i in enumerate(locus, start=1):
            if b == 0:
                out[i, rev] += 1
            elif b == t:
                out[i, 2 + rev] += 1
            else:
                out[i, 4] += 1
                continue
            out[i, 5] += mapq[j]


def indel_read_support(
    aln,
    ref: _Reference,
    contig: str,
    alleles: list[tuple[int, str, str]],
    pileup: PileupParams,
) -> np.ndarray:
    """Reads for and against each normalised indel ``(pos, ref, alt)`` of ``contig``:
    int64[k, 6] = REF forward, REF reverse, ALT forward, ALT reverse, reads of another
    allele of the locus, MAPQ sum of the REF and ALT reads.

    Alleles whose repeat regions (:func:`indel_span`) overlap form a locus; its haplotypes
    are REF and one per allele. Every read of ``aln`` (an open indexed
    ``pysam.AlignmentFile``) that passes the pileup's filters (flags, MAPQ, orphans) and
    is aligned next to the locus (its first base, else the first base after it) is compared
    without gaps with every haplotype from there, soft-clipped bases included, up to
    ``HAP_FLANK`` bases past the locus or the read's next indel outside it: mismatches
    cost their base quality (bases >= ``min_baseq``, capped at 40). The read shows the
    haplotype that costs least, when the next best costs at least ``HAP_MARGIN`` more;
    else nothing. So a read that ends inside a repeat says nothing, and one whose aligner
    put mismatches or a soft clip where the indel is counts for the allele it carries
    (the pileup's indel events count only reads whose CIGAR has it).
    """
    out = np.zeros((len(alleles), 6), dtype=np.int64)
    if not alleles:
        return out
    exclude = 0x4 | pileup.exclude_mask
    include = pileup.include_mask
    length = ref.fa.get_reference_length(contig)

    def base(i: int) -> str:
        return ref.base(contig, i) if 0 <= i < length else ""

    ends = [indel_span(p, r, a, base) for p, r, a in alleles]
    for locus in _loci(alleles, ends):
        start = min(alleles[i][0] for i in locus)  # aligned anchor of every haplotype
        end = max(ends[i] for i in locus)  # first base after every haplotype's indel
        longest = max(abs(len(alleles[i][2]) - len(alleles[i][1])) for i in locus)
        m = end - start + longest + HAP_FLANK
        lo, hi = max(0, start - m), min(length, end + m)
        seq = ref.range(contig, lo, hi)
        haps = [np.frombuffer(seq.encode(), np.uint8)]
        shifts = [0]
        for i in locus:
            p, r, a = alleles[i]
            if len(a) > len(r):
                h = seq[: p + 1 - lo] + a[1:] + seq[p + 1 - lo :]
            else:
                h = seq[: p + 1 - lo] + seq[p + len(r) - lo :]
            haps.append(np.frombuffer(h.encode(), np.uint8))
            shifts.append(len(a) - len(r))
        hs, he = start - lo, end - lo  # the anchor / end in REF; end + shift in the others
        k = len(haps)
        costs: list[np.ndarray] = []
        strand: list[int] = []
        mapq: list[int] = []
        for rd in aln.fetch(contig, start, end + 1):
            if not read_passes(rd.flag, rd.mapping_quality, pileup, exclude, include):
                continue
            read = rd.query_sequence
            if read is None:
                continue
            q_s = q_e = -1  # query positions aligned to start / to end
            stop_r = stop_l = -1  # the read's nearest indels right / left of the locus
            rpos = rd.reference_start
            qpos = 0
            for op, ln in rd.cigartuples:
                if op in (0, 7, 8):
                    if rpos <= start < rpos + ln:
                        q_s = qpos + start - rpos
                    if rpos <= end < rpos + ln:
                        q_e = qpos + end - rpos
                    rpos += ln
                    qpos += ln
                elif op in (1, 2, 3):
                    if rpos - 1 >= end and stop_r < 0:
                        stop_r = qpos
                    elif rpos + (ln if op != 1 else 0) <= start:
                        stop_l = qpos + (ln if op == 1 else 0)
                    if op == 1:
                        qpos += ln
                    else:
                        rpos += ln
                elif op == 4:
                    qpos += ln
            if q_s < 0 and q_e < 0:
                continue
            s = np.frombuffer(read.upper().encode(), np.uint8)
            quals = rd.query_qualities
            qv = (
                np.asarray(quals, dtype=np.int64)
                if quals is not None
                else np.full(len(s), 40, np.int64)
            )
            cost = np.empty(k, np.int64)
            if q_s >= 0:  # the bases after the anchor
                n = min(len(s) - q_s - 1, min(len(h) for h in haps) - hs - 1)
                if stop_r >= 0:
                    n = min(n, stop_r - q_s - 1)
                rs, rq = s[q_s + 1 : q_s + 1 + n], qv[q_s + 1 : q_s + 1 + n]
                for t, h in enumerate(haps):
                    cost[t] = _mismatch_q(rs, rq, h[hs + 1 : hs + 1 + n], pileup.min_baseq)
            else:  # the bases before the first base after the locus
                n = min(q_e, he + min(shifts))
                if stop_l >= 0:
                    n = min(n, q_e - stop_l)
                rs, rq = s[q_e - n : q_e], qv[q_e - n : q_e]
                for t, h in enumerate(haps):
                    x = he + shifts[t]
                    cost[t] = _mismatch_q(rs, rq, h[x - n : x], pileup.min_baseq)
            costs.append(cost)
            strand.append(int(rd.is_reverse))
            mapq.append(rd.mapping_quality)
        if costs:
            _assign_reads(np.array(costs), strand, mapq, locus, out)
    return out


def read_passes(flag: int, mapq: int, pileup: PileupParams, exclude: int, include: int) -> bool:
    """The pileup's read filters, as the indel read counts apply them: ``exclude`` the flags
    to drop (unmapped included), ``include`` those required (0: none); MAPQ, orphans."""
    if flag & exclude or mapq < pileup.min_mapq:
        return False
    if include and not flag & include:
        return False
    return pileup.count_orphans or not (flag & 0x1 and not flag & 0x2)


def genotype_indels(
    aln,
    ref: _Reference,
    contig: str,
    alleles: list[tuple[int, str, str]],
    pileup: PileupParams,
    params: CallParams,
    *,
    evidence_min_alt: int = 1,
) -> list[tuple[VcfRecord, int]]:
    """gVCF indel records from the reads themselves (:func:`indel_read_support`): one for
    every allele at least ``evidence_min_alt`` reads show, with the reads of the locus's
    other alleles, genotyped as :func:`call_indels` genotypes (same thresholds and prior,
    REF and ALT reads), GT 0/0 where not called. Returns (record, other reads) pairs."""
    sup = indel_read_support(aln, ref, contig, alleles, pileup)
    return indel_records(sup, contig, alleles, params, evidence_min_alt=evidence_min_alt)


def indel_records(
    sup: np.ndarray,
    contig: str,
    alleles: list[tuple[int, str, str]],
    params: CallParams,
    *,
    evidence_min_alt: int = 1,
) -> list[tuple[VcfRecord, int]]:
    """:func:`genotype_indels` from a support table already counted (rows as
    :func:`indel_read_support`'s: REF fwd/rev, ALT fwd/rev, other reads, MAPQ sum; one per
    allele); the gVCF writer passes its compiled counts here."""
    n_ref = sup[:, 0] + sup[:, 1]
    n_alt = sup[:, 2] + sup[:, 3]
    idx = np.flatnonzero(n_alt >= evidence_min_alt)
    if not len(idx):
        return []
    n_ref, n_alt, sup = n_ref[idx], n_alt[idx], sup[idx]
    depth = n_ref + n_alt
    called = (
        (n_alt >= params.min_alt_reads)
        & (n_alt >= params.min_af * depth)
        & (depth >= max(1, params.min_depth))
    )
    e = np.full(len(idx), params.indel_error)
    mq = np.divide(sup[:, 5], depth, out=np.zeros(len(idx)), where=depth > 0)
    recs = _finish(
        contig,
        np.array([alleles[i][0] for i in idx.tolist()], dtype=np.int64),
        [alleles[i][1] for i in idx.tolist()],
        [alleles[i][2] for i in idx.tolist()],
        "INDEL",
        n_ref,
        n_alt,
        e,
        e,
        e,
        sup[:, :4],
        mq,
        params,
        called,
    )
    return list(zip(recs, sup[:, 4].tolist(), strict=True))


def bam_sample_name(bam: str | os.PathLike, read_groups: list[dict[str, str]]) -> str:
    """The sample of a BAM: its read groups' one ``SM``, else the file name without ``.bam``."""
    names = {rg["SM"] for rg in read_groups if rg.get("SM")}
    if len(names) == 1:
        return names.pop()
    name = os.path.basename(os.fspath(bam))
    return name[:-4] if name.endswith(".bam") else name


def call_variants(
    bam: str | os.PathLike,
    reference: str | os.PathLike,
    out_vcf: str | os.PathLike,
    *,
    sample: str | None = None,
    pileup: PileupParams | None = None,
    calling: CallParams | None = None,
) -> dict[str, float]:
    """Call SNPs and indels of ``bam`` into ``out_vcf`` (bgzipped VCF 4.3 + ``.tbi``).

    The BAM is validated against ``reference`` before anything is written (one-line
    :class:`~biometal.errors.BiometalError` for a missing index, an unsorted or truncated
    BAM, mismatching contigs). ``sample``: the VCF's sample column (None: the BAM's read
    group ``SM`` when there is exactly one, else the BAM's file name without ``.bam``).
    Returns counts and the run time.
    """
    pileup = pileup or PileupParams()
    calling = calling or CallParams()
    t0 = time.perf_counter()
    header = check_bam(bam, reference)
    if not sample:
        sample = bam_sample_name(bam, header.read_groups)
    ref = _Reference(str(reference))
    meta = [
        f"biometal_pileup=min_mapq:{pileup.min_mapq};min_baseq:{pileup.min_baseq};"
        f"exclude_flags:{','.join(pileup.exclude_flags)};count_orphans:"
        f"{str(pileup.count_orphans).lower()};overlapping_mates:both_counted;baq:off",
        "biometal_calling=" + ";".join(f"{k}:{v}" for k, v in vars(calling).items()),
    ]
    lines = header_lines(
        sample, list(zip(header.names, header.lengths, strict=True)), reference, FILTERS, meta
    )
    n = {"SNP": 0, "INDEL": 0, "PASS": 0}
    with VcfWriter(out_vcf, lines) as vcf:
        pending: list[VcfRecord] = []
        current = None
        t_call = 0.0  # candidate search + site statistics (the rest is pileup and I/O)

        def flush() -> None:
            pending.sort(key=lambda r: (r.pos, len(r.ref) != len(r.alt), r.ref, r.alt))
            for rec in pending:
                vcf.write(rec)
                n["SNP" if rec.info["TYPE"] == "SNP" else "INDEL"] += 1
                n["PASS"] += not rec.filters
            pending.clear()

        for block in iter_pileup(bam, pileup, reference=reference, header=header):
            if block.contig != current:
                flush()
                current = block.contig
            block = block.within(header.lengths[block.tid])
            if block is None:
                continue
            t1 = time.perf_counter()
            ref_seq = ref.load(block.contig, block.start, block.end)
            if calling.snps:
                pending.extend(call_snps(block, ref_seq, calling))
            if calling.indels:
                pending.extend(call_indels(block, ref, calling))
            t_call += time.perf_counter() - t1
        flush()
    seconds = time.perf_counter() - t0
    log.info(
        "called %s: %d SNP and %d indel records (%d PASS) in %.2f s, of which %.2f s "
        "candidate search and site statistics",
        out_vcf,
        n["SNP"],
        n["INDEL"],
        n["PASS"],
        seconds,
        t_call,
    )
    return {
        "snps": n["SNP"],
        "indels": n["INDEL"],
        "pass": n["PASS"],
        "seconds": seconds,
        "calling_seconds": t_call,
    }
