"""Per-sample gVCF: site records where reads show an ALT, GQ-banded reference blocks elsewhere.

:func:`write_gvcf` streams the pileup of one BAM (:func:`biometal.pileup.iter_pileup`) and,
block by block, computes the site statistics at EVERY position in one kernel dispatch
(:func:`biometal.kernels.site_stats.site_stats`: PL, GT, GQ, the hom-ref reference-confidence
GQ, QUAL, binomial / beta-binomial tests). What it writes, as ``bcftools call --gvcf`` and
GATK ``-ERC GVCF`` do (bgzipped VCF 4.3 + ``.tbi``, atomic):

- **SNP site records** at every position where at least ``evidence_min_alt`` reads show one
  non-reference base: ``ALT = X,<*>`` (``<*>``: any other allele), ``AD`` = reads of REF, X
  and the two other bases, ``PL`` of the six genotypes of (REF, X, <*>) in VCF order
  (0/0, 0/1, 1/1, 0/2, 1/2, 2/2). GT is the single-sample call (what
  :func:`~biometal.variants.call.call_variants` calls there: the kernel's genotype when the
  site passes ``min_alt_reads`` / ``min_af`` / ``min_depth``, else 0/0); FILTER as the
  single-sample caller (``LowQual``, ``ErrorLike``) for non-reference GTs.
- **Indel records** for every indel allele that at least ``evidence_min_alt`` reads show
  (alleles found by the pileup's indel events, left-aligned and trimmed, as
  :func:`~biometal.variants.call.call_indels` finds them), ``ALT = alt,<*>``: AD = reads of
  REF, of the allele and of the locus's other alleles, each read assigned to the haplotype
  it matches (:func:`~biometal.variants.call.indel_read_support`: soft-clipped and
  mismatch-aligned ALT reads count for the ALT, reads ending inside a repeat for
  neither); six PLs from the same read model (error ``indel_error``). GT is the
  single-sample call on those counts (``min_alt_reads`` / ``min_af`` / ``min_depth``,
  prior ``indel_theta``), else 0/0 (FILTER ``.``), so joint genotyping has every
  sample's evidence at an indel it did not call. The counts are indel_read_support's,
  computed by :func:`indel_support` (reads loaded once per window of loci, the per-read
  loop compiled: :mod:`biometal.variants._kernels`).
- **Reference blocks** over the other positions with a REF of A/C/G/T: runs of consecutive
  positions whose reference-confidence GQ falls in the same band (``gq_bands``: lower bounds;
  a block never spans a site record, an indel's REF, or a position without a block of the
  pileup), written ``REF <*> . . END=e GT:GQ:DP:MIN_DP:PL 0/0:...`` with GQ = the lowest GQ in
  the block, DP = mean depth (rounded), MIN_DP = lowest depth, PL = the lowest PL of each
  genotype over the block, renormalised (GATK's choice; joint genotyping uses it at every
  position it covers). With ``evidence_min_alt`` 1 (the default) a block holds only
  positions where no read shows another base, so its PL[0/0] is 0.

Positions without reads (between pileup blocks) and REF bases other than A/C/G/T get no
record: no data. The reference confidence is the SNP model's (REF vs the best other base);
indels have none (as bcftools).

The six-genotype PL model: reads are classed REF, X, or O (the two other bases), with the
error rate of their mean quality (e); ``P(R | REF) = 1 - e``, ``P(R | X) = P(R | <*>) = e/3``,
likewise for X; ``P(O | REF) = P(O | X) = 2e/3``, ``P(O | <*>) = 1 - 2e/3``; a genotype's
read probability is the mean over its two alleles. The first three PLs equal the kernel's
(the O reads add the same term to 0/0, 0/1 and 1/1).
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass

import numpy as np

from biometal.io.bam import (
    BamHeader,
    BamIndex,
    check_bam,
    iter_bam_batches,
    iter_region_batches,
    read_bam_header,
)
from biometal.io.bgzf import BlockCache
from biometal.kernels.site_stats import site_stats
from biometal.pileup.engine import PileupParams, iter_pileup, read_filter
from biometal.variants import sitestats as S
from biometal.variants.call import (
    FILTERS,
    HAP_FLANK,
    HAP_MARGIN,
    CallParams,
    _loci,
    _Reference,
    bam_sample_name,
    call_indels,
    indel_records,
    indel_span,
)
from biometal.variants.params import GvcfParams
from biometal.variants.vcf import (
    VcfRecord,
    VcfWriter,
    distinct_floats,
    header_lines,
    text_table,
)

log = logging.getLogger(__name__)

_LETTER = "ACGT"
#: the (REF, ALT) of a SNP record by ``REF code * 4 + ALT code``
_SNP_PAIRS = [(r, a) for r in _LETTER for a in _LETTER]
_REF_LUT = np.full(256, 4, dtype=np.uint8)
for _i, _b in enumerate(b"ACGT"):
    _REF_LUT[_b] = _i
_GT = ("0/0", "0/1", "1/1")
#: genotypes of three alleles in VCF order (0/0, 0/1, 1/1, 0/2, 1/2, 2/2)
GENOTYPES3 = ((0, 0), (0, 1), (1, 1), (0, 2), (1, 2), (2, 2))
#: per read class (REF, X, other): for each genotype of GENOTYPES3, the first genotype
#: with the same P(class | genotype) (REF reads: 0/1 = 0/2, 1/1 = 1/2 = 2/2; X reads:
#: 0/0 = 0/2 = 2/2, 0/1 = 1/2; other reads: 0/0 = 0/1 = 1/1, 0/2 = 1/2)
_SAME_PROB = ((0, 1, 2, 1, 2, 2), (0, 1, 2, 0, 1, 0), (0, 0, 0, 3, 3, 5))

GVCF_META = [
    'ALT=<ID=*,Description="Represents allele(s) other than observed.">',
    'INFO=<ID=END,Number=1,Type=Integer,Description="End position of the reference block '
    '(1-based, inclusive)">',
    'FORMAT=<ID=MIN_DP,Number=1,Type=Integer,Description="Lowest depth in the reference block">',
]


def pl_three_alleles(n: np.ndarray, e: np.ndarray, *, snp: bool = True) -> np.ndarray:
    """PL of the six genotypes of (REF, X, <*>): int64[m, 6] (VCF order).

    ``n``: reads of class REF, X, other, int[m, 3]; ``e``: their error rates, float[m, 3].
    ``snp=False`` (indels): a wrong read shows a given other allele with ``e`` (not e/3)
    and there is no "other" class.
    """
    n = np.asarray(n, dtype=np.float64)
    e = np.clip(np.asarray(e, dtype=np.float64), S.MIN_ERROR, 0.75)
    div = 3.0 if snp else 1.0
    # P(class c | allele a): [m, c, a]
    p = np.empty(n.shape[:1] + (3, 3), dtype=np.float64)
    for c in range(2):
        p[:, c, :] = (e[:, c] / div)[:, None]
        p[:, c, c] = 1.0 - e[:, c]
    other = 2.0 * e[:, 2] / div if snp else e[:, 2]
    p[:, 2, 0] = other
    p[:, 2, 1] = other
    p[:, 2, 2] = 1.0 - other
    # log10 P(class c | genotype g), each distinct value once: a class's two wrong alleles
    # are equally likely (0/1 and 0/2 give a REF read the same probability, 0.5 (x + x) is
    # x), so _SAME_PROB[c][g] names the genotype whose value g shares; the sum over the
    # classes in numpy's order for three terms
    logs: dict[tuple[int, int], np.ndarray] = {}
    gl = np.empty(n.shape[:1] + (6,), dtype=np.float64)
    for g in range(6):
        term = []
        for c in range(3):
            r = _SAME_PROB[c][g]
            if (c, r) not in logs:
                a1, a2 = GENOTYPES3[r]
                prob = 0.5 * (p[:, c, a1] + p[:, c, a2])
                logs[(c, r)] = np.log10(np.maximum(prob, 1e-300))
            term.append(n[:, c] * logs[(c, r)])
        gl[:, g] = term[0] + term[1] + term[2]
    return S.phred_likelihoods(gl)


@dataclass
class _Blocks:
    """Reference blocks of one pileup block (0-based starts, exclusive ends)."""

    start: np.ndarray
    end: np.ndarray
    gq: np.ndarray
    dp: np.ndarray
    min_dp: np.ndarray
    pl: np.ndarray  # int64[k, 3]
    base: np.ndarray  # uint8[k]: ASCII reference base at each start


def ref_blocks(
    start: int, ref_seq: bytes, mask: np.ndarray, ref_gq: np.ndarray, depth: np.ndarray,
    pl: np.ndarray, bands: tuple[int, ...],
) -> _Blocks:  # fmt: skip
    """Runs of consecutive ``mask`` positions in the same GQ band (see the module docstring).

    ``start``: 0-based position of row 0; ``ref_seq``: the rows' reference bases (ASCII);
    per-row ``ref_gq``, ``depth`` and ``pl`` [n, 3]. One compiled pass
    (:func:`biometal.variants._kernels.ref_block_runs`; tests/unit/test_gvcf.py holds it
    equal to numpy's run reductions).
    """
    from biometal.variants._kernels import ref_block_runs

    lo, hi, gq, dp, min_dp, bpl = ref_block_runs(
        np.ascontiguousarray(mask, dtype=np.bool_),
        np.ascontiguousarray(ref_gq, dtype=np.int64),
        np.ascontiguousarray(depth, dtype=np.int64),
        np.ascontiguousarray(pl, dtype=np.int64).reshape(-1, 3),
        np.asarray(bands, dtype=np.int64),
    )
    base = np.frombuffer(ref_seq, np.uint8)[lo]
    return _Blocks(start + lo, start + hi, gq, dp, min_dp, bpl, base)


@dataclass
class _Sites:
    """SNP site records of one pileup block (or of a contig: :func:`_concat_sites`): the
    numbers written (0-based ``pos``, REF / ALT codes 0-3, PL int64[n, 6], AD int64[n, 3],
    DP) and what else their lines need (:func:`biometal.variants._kernels.format_lines`:
    REF / ALT letters, GT and GQ, each line's entries ``idx`` int64[n, 5] of the five
    text tables ``tables``: QUAL, FILTER, DP and AF, BINOMQ, BBQ, each (text, offsets))."""

    pos: np.ndarray
    ref: np.ndarray
    alt: np.ndarray
    pl: np.ndarray
    ad: np.ndarray
    dp: np.ndarray
    ref_b: np.ndarray  # uint8 letters
    alt_b: np.ndarray
    gt: np.ndarray
    gq: np.ndarray
    idx: np.ndarray
    tables: list[tuple[np.ndarray, np.ndarray]]

    def line_args(self) -> tuple:
        """The site-record arguments of :func:`~biometal.variants._kernels.format_lines`."""
        return (
            self.pos, self.ref_b, self.alt_b, self.idx,
            *(x for t in self.tables for x in t), self.gt, self.gq, self.dp, self.ad, self.pl,
        )  # fmt: skip


def _concat_sites(sites: list[_Sites]) -> _Sites:
    """The site records of several pileup blocks as one: arrays end to end, each text table
    the blocks' tables end to end, every line's entries renumbered to match."""
    if len(sites) == 1:
        return sites[0]
    cat = np.concatenate
    # each block's entries of table k come after those of the blocks before it
    sizes = np.array([[len(t[1]) - 1 for t in x.tables] for x in sites], np.int64)
    before = np.cumsum(sizes, axis=0) - sizes
    idx = cat([x.idx + before[b] for b, x in enumerate(sites)]).reshape(-1, 5)
    tables = []
    for k in range(5):
        texts = [x.tables[k][0] for x in sites]
        shift = np.cumsum([0] + [len(t) for t in texts])
        offs = [np.zeros(1, np.int64)] + [
            x.tables[k][1][1:] + shift[b] for b, x in enumerate(sites)
        ]
        tables.append((cat(texts), cat(offs)))
    fields = ("pos", "ref", "alt", "pl", "ad", "dp", "ref_b", "alt_b", "gt", "gq")
    return _Sites(
        *(cat([getattr(x, f) for x in sites]) for f in fields), np.ascontiguousarray(idx), tables
    )


def _site_values(
    ref_codes: np.ndarray, counts: np.ndarray, st, params: CallParams, gparams: GvcfParams
) -> tuple[np.ndarray, tuple | None]:
    """The SNP site rows of a block (a called ALT or enough ALT evidence) and their values:
    (rows, (REF code, ALT code, REF / ALT / other read counts, depth, six PLs, called))
    or (rows, None) without any; the numbers :func:`_site_lines` formats. The PLs are
    computed once per distinct (read counts, quality sums) of the rows (a position's PLs
    are a function of them alone; with one base quality, as wgsim's, most repeat)."""
    from biometal.variants._kernels import group_rows, site_counts

    ints = st.ints
    rows = np.flatnonzero((ref_codes < 4) & (ints[:, 2] >= gparams.evidence_min_alt))
    if not len(rows):
        return rows, None
    v = site_counts(counts, ints, ref_codes, rows)
    r, a, n_ref, n_x, n_o, depth = v[:6]
    first, inv = group_rows(np.ascontiguousarray(v[[2, 3, 4, 6, 7, 8]].T))
    u = v[:, first]
    e = np.stack([S.mean_error(u[6 + j], u[2 + j]) for j in range(3)], axis=1)
    pl6 = pl_three_alleles(u[2:5].T, e)[inv]
    called = (
        (ints[rows, 7] > 0)
        & (n_x >= params.min_alt_reads)
        & (n_x >= params.min_af * depth)
        & (depth >= max(1, params.min_depth))
    )
    return rows, (r, a, n_ref, n_x, n_o, depth, pl6, called)


def _site_lines(
    contig: str,
    block_start: int,
    ref_codes: np.ndarray,
    counts: np.ndarray,
    st,
    params: CallParams,
    gparams: GvcfParams,
) -> tuple[np.ndarray, _Sites | None]:
    """SNP site records of one pileup block: (rows, :class:`_Sites` or None without any).

    QUAL, FILTER and the INFO values are formatted in Python once per distinct value (the
    floats by their float32 bits: ``-0.0`` keeps its sign), the lines by
    :func:`biometal.variants._kernels.format_lines` (:func:`_site_text`)."""
    from biometal.variants._kernels import group_rows

    rows, v = _site_values(ref_codes, counts, st, params, gparams)
    if v is None:
        return rows, None
    ints, floats = st.ints, st.floats
    r, a, n_ref, n_x, n_o, depth, pl6, called = v
    max_bbq = float(S.pvalue_to_phred(np.array([params.max_error_pvalue]))[0])
    qual = np.ascontiguousarray(floats[rows, 0], dtype=np.float32)
    binq = np.ascontiguousarray(floats[rows, 1], dtype=np.float32)
    bbq = np.ascontiguousarray(floats[rows, 2], dtype=np.float32)
    # FILTER: "." (not called), PASS, LowQual, ErrorLike, LowQual;ErrorLike; the ErrorLike
    # test in the kernel's float32, as a float32 scalar compares
    low_q = qual.astype(np.float64) < params.min_qual
    low_bbq = bbq < max_bbq
    f_i = np.where(called, 1 + low_q + 2 * low_bbq, 0).astype(np.int64)
    # each column's distinct values, formatted once (floats by their float32 bits)
    f_tab = text_table([".", "PASS", "LowQual", "ErrorLike", "LowQual;ErrorLike"])
    q_u, q_i = distinct_floats(qual)
    # (a QUAL rounding to zero from below printed as -0.00, a NaN one as nan: now 0.00, .)
    q_tab = text_table(["." if x != x else f"{x if x > 0 else 0.0:.2f}" for x in q_u.tolist()])
    a_f, a_i = group_rows(np.stack([depth, n_x], axis=1))
    a_tab = text_table(
        [
            f"DP={d};AF={round(nx / d, 4) if d else 0.0:.4g}"
            for d, nx in zip(depth[a_f].tolist(), n_x[a_f].tolist(), strict=True)
        ]
    )
    b_u, b_i = distinct_floats(binq)
    b_tab = text_table([f"{x:.4g}" for x in b_u.tolist()])
    c_u, c_i = distinct_floats(bbq)
    c_tab = text_table([f"{x:.4g}" for x in c_u.tolist()])
    idx = np.stack([q_i, f_i, a_i, b_i, c_i], axis=1).astype(np.int64)
    pos = (block_start + rows).astype(np.int64)
    ad = np.stack([n_ref, n_x, n_o], axis=1)
    lut = np.frombuffer(_LETTER.encode(), np.uint8)
    return rows, _Sites(
        pos, r, a, pl6.astype(np.int64), ad, depth, lut[r], lut[a],
        np.where(called, ints[rows, 7], 0).astype(np.int64),
        np.where(called, ints[rows, 8], ints[rows, 9]).astype(np.int64), idx,
        [q_tab, f_tab, a_tab, b_tab, c_tab],
    )  # fmt: skip


_NO_BLOCKS = (
    np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.uint8), np.zeros(0, np.int64),
    np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 3), np.int64),
)  # fmt: skip
_NO_TEXT = (np.zeros(0, np.uint8), np.zeros(1, np.int64))
_NO_SITES = (
    np.zeros(0, np.int64), np.zeros(0, np.uint8), np.zeros(0, np.uint8), np.zeros((0, 5), np.int64),
    *(_NO_TEXT * 5), np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64),
    np.zeros((0, 3), np.int64), np.zeros((0, 6), np.int64),
)  # fmt: skip


def _site_text(contig: str, sites: _Sites) -> tuple[np.ndarray, np.ndarray]:
    """The site records' lines alone (ASCII text, int64[n + 1] line offsets)."""
    from biometal.variants._kernels import format_lines

    n = len(sites.pos)
    return format_lines(
        np.frombuffer(contig.encode(), np.uint8), np.ones(n, np.int64),
        np.arange(n, dtype=np.int64), *_NO_BLOCKS, *sites.line_args(), *_NO_TEXT,
    )  # fmt: skip


def _indel_pls(got: list[tuple[VcfRecord, int]], params: CallParams) -> list[list[int]]:
    """The six PLs of each indel record of :func:`_genotype_indels` (REF, ALT, other reads
    at error ``indel_error``), in one :func:`pl_three_alleles` call."""
    if not got:
        return []
    n = np.array([[rec.ad[0], rec.ad[1], n_other] for rec, n_other in got])
    return pl_three_alleles(n, np.full((len(got), 3), params.indel_error), snp=False).tolist()


def _indel_line(rec: VcfRecord, pls: list[int], n_other: int = 0) -> str:
    """The indel record's line (``pls``: its six PLs, :func:`_indel_pls`)."""
    n_ref, n_alt = rec.ad
    info = ";".join(
        f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
        for k, v in rec.info.items()
        if k in ("DP", "AF", "TYPE", "BINOMQ", "BBQ")
    )
    flt = ";".join(rec.filters) or ("PASS" if rec.gt != "0/0" else ".")
    pl = ",".join(map(str, pls))
    return (
        f"{rec.chrom}\t{rec.pos + 1}\t.\t{rec.ref}\t{rec.alt},<*>\t{rec.qual:.2f}\t{flt}\t"
        f"{info}\tGT:GQ:DP:AD:PL\t{rec.gt}:{rec.gq}:{rec.dp}:{n_ref},{n_alt},{n_other}:{pl}\n"
    )


def _block_rows(
    seq_of, blocks: list[_Blocks], spans: np.ndarray
) -> tuple[tuple, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Block lines of one contig, cut around record spans (``spans`` int64[k, 2], sorted):
    (the block arguments of :func:`biometal.variants._kernels.format_lines`, starting
    with each line's 0-based start, and each line's (exclusive end, PL int64[n, 3], DP) as
    written)."""
    if not blocks:
        e = np.zeros(0, np.int64)
        return _NO_BLOCKS, (e, np.zeros((0, 3), np.int64), e)
    start, end, gq, dp, min_dp = (
        np.concatenate([getattr(b, f) for b in blocks]).astype(np.int64)
        for f in ("start", "end", "gq", "dp", "min_dp")
    )
    pl = np.concatenate([b.pl for b in blocks]).reshape(-1, 3).astype(np.int64)
    base = np.concatenate([b.base for b in blocks]).astype(np.uint8)
    row = np.arange(len(start), dtype=np.int64)
    if len(spans):
        ends_max = np.maximum.accumulate(spans[:, 1])
        j = np.searchsorted(spans[:, 0], end)
        cut = np.flatnonzero((j > 0) & (ends_max[np.maximum(j - 1, 0)] > start))
    else:
        cut = np.zeros(0, np.int64)
    if len(cut):
        keep = np.ones(len(start), bool)
        keep[cut] = False
        p_start, p_end, p_base, p_row = [], [], [], []
        for i, s, e in zip(cut.tolist(), start[cut].tolist(), end[cut].tolist(), strict=True):
            cur = s
            # spans before j0 all end at or before s (ends_max is their running maximum)
            j0 = int(np.searchsorted(ends_max, s, side="right"))
            for ss, se in spans[j0 : int(np.searchsorted(spans[:, 0], e))].tolist():
                if se <= cur or ss >= e:
                    continue
                if ss > cur:
                    p_start.append(cur)
                    p_end.append(ss)
                cur = max(cur, se)
            if cur < e:
                p_start.append(cur)
                p_end.append(e)
            p_row += [i] * (len(p_start) - len(p_row))
        p_base = [ord(seq_of(x)) for x in p_start]
        start = np.concatenate([start[keep], np.array(p_start, np.int64)])
        order = np.argsort(start, kind="stable")
        start = start[order]
        end = np.concatenate([end[keep], np.array(p_end, np.int64)])[order]
        base = np.concatenate([base[keep], np.array(p_base, np.uint8)])[order]
        row = np.concatenate([row[keep], np.array(p_row, np.int64)])[order]
    return (start, end, base, row, gq, dp, min_dp, pl), (end, pl[row], dp[row])


#: reads of at most this many reference bases are loaded at once for the indel loci
_READ_WINDOW = 50_000


class _Bam:
    """An indexed BAM read for the indel support: path, header, index, contig ids."""

    def __init__(self, path: str | os.PathLike, header: BamHeader | None = None) -> None:
        self.path = str(path)
        self.header = header or read_bam_header(self.path)
        self.index = BamIndex.read(self.path)
        self.tids = {name: i for i, name in enumerate(self.header.names)}
        #: blocks the pileup inflated, for the windows (a small BAM is inflated once)
        self.cache = BlockCache()


class _Reads:
    """The reads of one window in flat arrays (BAM order): those the pileup's filters keep
    (reads without reference bases included, as pysam's ``fetch`` returns them) that overlap
    one of ``spans`` (sorted, disjoint ``[lo, hi)`` pairs; None: the window ``[lo, hi)``).
    A read's end is pysam's ``reference_end`` (at least its start + 1), its bases letters,
    its qualities phred values (40 for a read without qualities)."""

    def __init__(
        self, bam: _Bam, contig: str, lo: int, hi: int, pileup: PileupParams, spans=None
    ) -> None:
        from biometal.io._bam_kernels import gather_reads

        s_lo = np.array([x[0] for x in spans] if spans is not None else [lo], np.int64)
        s_hi = np.array([x[1] for x in spans] if spans is not None else [hi], np.int64)
        picked = []  # (batch data, its index table, the selected rows)
        tid = bam.tids[contig]
        for batch in iter_region_batches(
            bam.path, bam.header, bam.index, tid, lo, hi, cache=bam.cache
        ):
            t = batch.table
            e = np.maximum(t[:, 3], t[:, 2] + 1)
            # the last span starting before e ends furthest: the read overlaps a span iff
            # that one ends after its start
            k = np.searchsorted(s_lo, e, side="left") - 1
            keep = (k >= 0) & (s_hi[np.maximum(k, 0)] > t[:, 2]) & (t[:, 10] > 0)
            keep &= read_filter(t, pileup, ref_bases=False)
            rows = np.flatnonzero(keep)
            if len(rows):
                picked.append((batch.data, t, rows))
        tables = [t[rows] for _, t, rows in picked]
        sel = np.concatenate(tables) if tables else np.zeros((0, 11), np.int64)
        n_cig, l_seq = sel[:, 7], sel[:, 10]
        self.start = np.ascontiguousarray(sel[:, 2])
        self.end = np.maximum(sel[:, 3], sel[:, 2] + 1)
        self.cig_off = np.zeros(len(sel) + 1, np.int64)
        np.cumsum(n_cig, out=self.cig_off[1:])
        self.seq_off = np.zeros(len(sel) + 1, np.int64)
        np.cumsum(l_seq, out=self.seq_off[1:])
        self.cig_op = np.empty(self.cig_off[-1], np.int64)
        self.cig_len = np.empty(self.cig_off[-1], np.int64)
        self.seq = np.empty(self.seq_off[-1], np.uint8)
        self.qual = np.empty(self.seq_off[-1], np.uint8)
        i = 0
        for data, t, rows in picked:
            j = i + len(rows)
            gather_reads(
                data, t, rows, self.cig_off[i : j + 1], self.seq_off[i : j + 1],
                self.cig_op, self.cig_len, self.seq, self.qual, 40,
            )  # fmt: skip
            i = j
        self.strand = (sel[:, 4] >> 4) & 1
        self.mapq = np.ascontiguousarray(sel[:, 5])
        span = self.end - self.start
        self.max_span = int(span.max()) if len(span) else 0


def indel_support(
    bam: _Bam | str | os.PathLike,
    ref: _Reference,
    contig: str,
    alleles: list[tuple[int, str, str]],
    pileup: PileupParams,
) -> np.ndarray:
    """:func:`biometal.variants.call.indel_read_support` (same int64[k, 6], same reads and
    rules) with the per-read loop compiled (:func:`biometal.variants._kernels.locus_costs`)
    and the reads of ``bam`` (a path, or one opened with :class:`_Bam`) read once per
    window of loci with the project's BAM reader, not fetched once per locus (only the
    reads that overlap a locus are decoded)."""
    from biometal.variants._kernels import support_loci

    if not isinstance(bam, _Bam):
        bam = _Bam(bam)

    out = np.zeros((len(alleles), 6), dtype=np.int64)
    if not alleles:
        return out
    length = ref.fa.get_reference_length(contig)

    def base(i: int) -> str:
        return ref.base(contig, i) if 0 <= i < length else ""

    ends = [indel_span(p, r, a, base) for p, r, a in alleles]
    loci = _loci(alleles, ends)
    bounds = [(min(alleles[i][0] for i in locus), max(ends[i] for i in locus)) for locus in loci]
    w = 0
    while w < len(loci):
        w_lo, w_hi = bounds[w][0], bounds[w][1] + 1
        v = w + 1
        while v < len(loci) and max(w_hi, bounds[v][1] + 1) - w_lo <= _READ_WINDOW:
            w_hi = max(w_hi, bounds[v][1] + 1)
            v += 1
        spans: list[list[int]] = []  # the loci's [start, end + 1), merged
        for b0, b1 in bounds[w:v]:
            if spans and b0 <= spans[-1][1]:
                spans[-1][1] = max(spans[-1][1], b1 + 1)
            else:
                spans.append([b0, b1 + 1])
        reads = _Reads(bam, contig, w_lo, w_hi, pileup, spans)
        # the window's loci, their haplotypes and alleles in flat arrays: one kernel call
        haps: list[str] = []
        shifts: list[int] = []
        l_hap, l_hs, l_he, items, l_item = [0], [], [], [], [0]
        for locus, (start, end) in zip(loci[w:v], bounds[w:v], strict=True):
            longest = max(abs(len(alleles[i][2]) - len(alleles[i][1])) for i in locus)
            m = end - start + longest + HAP_FLANK
            lo, hi = max(0, start - m), min(length, end + m)
            seq = ref.range(contig, lo, hi)
            haps.append(seq)
            shifts.append(0)
            for i in locus:
                p, r, a = alleles[i]
                if len(a) > len(r):
                    haps.append(seq[: p + 1 - lo] + a[1:] + seq[p + 1 - lo :])
                else:
                    haps.append(seq[: p + 1 - lo] + seq[p + len(r) - lo :])
                shifts.append(len(a) - len(r))
            l_hap.append(len(haps))
            l_hs.append(start - lo)
            l_he.append(end - lo)
            items += locus
            l_item.append(len(items))
        hap_off = np.zeros(len(haps) + 1, np.int64)
        np.cumsum([len(h) for h in haps], out=hap_off[1:])
        i64 = np.int64
        support_loci(
            reads.start, reads.end, reads.cig_off, reads.cig_op, reads.cig_len, reads.seq_off,
            reads.seq, reads.qual, reads.strand, reads.mapq, reads.max_span,
            np.array([b[0] for b in bounds[w:v]], i64), np.array([b[1] for b in bounds[w:v]], i64),
            np.array(l_hs, i64), np.array(l_he, i64), np.array(l_hap, i64),
            np.frombuffer("".join(haps).encode(), np.uint8), hap_off, np.array(shifts, i64),
            np.array(l_item, i64), np.array(items, i64), pileup.min_baseq, HAP_MARGIN, out,
        )  # fmt: skip
        w = v
    return out


def _genotype_indels(
    bam: _Bam,
    ref: _Reference,
    contig: str,
    alleles: list[tuple[int, str, str]],
    pileup: PileupParams,
    params: CallParams,
    evidence_min_alt: int,
) -> list[tuple[VcfRecord, int]]:
    """:func:`biometal.variants.call.genotype_indels` on :func:`indel_support`'s counts."""
    sup = indel_support(bam, ref, contig, alleles, pileup)
    return indel_records(sup, contig, alleles, params, evidence_min_alt=evidence_min_alt)


def write_gvcf(
    bam: str | os.PathLike,
    reference: str | os.PathLike,
    out_gvcf: str | os.PathLike,
    *,
    sample: str | None = None,
    pileup: PileupParams | None = None,
    calling: CallParams | None = None,
    gvcf: GvcfParams | None = None,
    backend: str | None = None,
    threads: int | None = None,
    evidence: list | None = None,
) -> dict[str, float]:
    """Write the gVCF of ``bam`` (bgzipped VCF 4.3 + ``.tbi``; see the module docstring).

    The BAM is validated against ``reference`` first (one-line
    :class:`~biometal.errors.BiometalError`). ``backend`` / ``threads``: the site_stats
    kernel's. ``evidence``: a list to which the gVCF's
    :class:`~biometal.variants.joint.SampleEvidence` is appended, made from the numbers
    written (what :func:`~biometal.variants.joint.read_evidence` reads back from the file,
    tests/unit/test_joint.py), for joint genotyping without parsing the file again.
    Memory: a contig's records until it is written, plus up to 128 MB of inflated BAM
    blocks kept from the pileup for the indel read windows (:class:`_Bam`'s cache).
    Returns counts (positions, site records, indel records, blocks) and times
    (``kernel_seconds``: the site_stats dispatches alone).
    """
    pileup = pileup or PileupParams()
    calling = calling or CallParams()
    gvcf = gvcf or GvcfParams()
    t0 = time.perf_counter()
    c0 = time.process_time()
    header = check_bam(bam, reference)
    if not sample:
        sample = bam_sample_name(bam, header.read_groups)
    ref = _Reference(str(reference))
    meta = GVCF_META + [
        "biometal_calling=" + ";".join(f"{k}:{v}" for k, v in vars(calling).items()),
        "biometal_gvcf=gq_bands:"
        + ",".join(map(str, gvcf.gq_bands))
        + f";evidence_min_alt:{gvcf.evidence_min_alt}",
    ]
    lines = header_lines(
        sample, list(zip(header.names, header.lengths, strict=True)), reference, FILTERS, meta
    )
    lines = [
        '##FORMAT=<ID=PL,Number=G,Type=Integer,Description="Phred-scaled genotype likelihoods">'
        if x.startswith("##FORMAT=<ID=PL,")
        else x
        for x in lines
    ]
    n = {"positions": 0, "sites": 0, "indels": 0, "blocks": 0}
    t_kernel = 0.0
    reads = _Bam(bam, header)
    with VcfWriter(out_gvcf, lines, level=1) as vcf:
        current = None
        sites: list[_Sites] = []
        # per contig: the records' numbers in file order, for ``evidence``
        ev_rows: list[tuple] = []
        ev_blocks: dict[str, tuple] = {}
        blocks: list[_Blocks] = []

        indel_alleles: set[tuple[int, str, str]] = set()

        def flush() -> None:
            from biometal.variants._kernels import format_lines

            if current is None:
                return
            # indels of the whole contig: left-alignment can move one out of its block
            ind: list[tuple] = []  # (pos, end, line, REF, ALT, PL, AD, DP)
            got = _genotype_indels(
                reads, ref, current, sorted(indel_alleles), pileup, calling,
                gvcf.evidence_min_alt,
            )  # fmt: skip
            for (rec, n_other), pl6 in zip(got, _indel_pls(got, calling), strict=True):
                text = _indel_line(rec, pl6, n_other)
                ind.append(
                    (rec.pos, rec.pos + len(rec.ref), text, rec.ref, rec.alt, pl6,
                     (rec.ad[0], rec.ad[1], n_other), rec.dp)
                )  # fmt: skip
            n["indels"] += len(ind)
            indel_alleles.clear()
            i_pos = np.array([x[0] for x in ind], np.int64)
            i_end = np.array([x[1] for x in ind], np.int64)
            site = _concat_sites(sites) if sites else None  # the contig's site records
            s_pos = site.pos if site is not None else np.zeros(0, np.int64)
            starts = np.concatenate([s_pos, i_pos])
            ends = np.concatenate([s_pos + 1, i_end])
            o = np.lexsort((ends, starts))
            sp = np.stack([starts[o], ends[o]], axis=1).reshape(-1, 2)
            seq_cache: dict[int, str] = {}

            def seq_of(p: int) -> str:
                if p not in seq_cache:
                    seq_cache[p] = ref.base(current, p)
                return seq_cache[p]

            b_args, b_num = _block_rows(seq_of, blocks, sp)
            b_pos = b_args[0]
            n["blocks"] += len(b_pos)
            # records by position, a site record before the indel records there (these
            # in their order)
            order = np.argsort(np.concatenate([s_pos * 2, i_pos * 2 + 1]), kind="stable")
            rec_pos = starts[order]
            # every line of the contig (blocks, sites, indels) in file order by one stable
            # sort of (position, kind): a block line first at its position, then the site
            # record, then the indel records (in their order); formatted straight into one
            # buffer in that order
            i_text = np.frombuffer("".join(x[2] for x in ind).encode("ascii"), np.uint8)
            i_off = np.zeros(len(ind) + 1, np.int64)
            np.cumsum([len(x[2]) for x in ind], out=i_off[1:])
            kind = np.concatenate([b_pos * 4, s_pos * 4 + 1, i_pos * 4 + 2])
            line_order = np.argsort(kind, kind="stable")
            nb, ns = len(b_pos), len(s_pos)
            src = np.concatenate([np.zeros(nb, np.int64), np.ones(ns, np.int64),
                                  np.full(len(ind), 2, np.int64)])  # fmt: skip
            src_i = np.concatenate([np.arange(nb), np.arange(ns), np.arange(len(ind))])
            text, line_off = format_lines(
                np.frombuffer(current.encode(), np.uint8), src[line_order],
                src_i[line_order].astype(np.int64), *b_args,
                *(site.line_args() if site is not None else _NO_SITES), i_text, i_off,
            )  # fmt: skip
            # each line's tabix interval: a block's [start, END), a record's REF span
            beg = np.concatenate([b_pos, s_pos, i_pos])[line_order]
            end = np.concatenate([b_num[0], s_pos + 1, i_end])[line_order]
            line_ends = line_off[1:]
            vcf.write_lines(text, len(kind), (current, line_ends, beg, end))
            if evidence is not None:
                # each record's (REF, ALT) as an index into ``pairs``: a SNP's by its codes
                # (REF * 4 + ALT), an indel's by its own entry after them
                r = site.ref if site is not None else np.zeros(0, np.int64)
                a = site.alt if site is not None else np.zeros(0, np.int64)
                pair = np.concatenate([r * 4 + a, 16 + np.arange(len(ind), dtype=np.int64)])
                pairs = _SNP_PAIRS + [(x[3], x[4]) for x in ind]
                i_num = [np.array([x[f] for x in ind], np.int64) for f in (5, 6, 7)]
                s_num = [site] if site is not None else []
                pl = np.concatenate([x.pl for x in s_num] + [i_num[0].reshape(-1, 6)])
                ad = np.concatenate([x.ad for x in s_num] + [i_num[1].reshape(-1, 3)])
                dp = np.concatenate([x.dp for x in s_num] + [i_num[2]])
                ev_rows.append(
                    (current, rec_pos, pair[order], pairs, pl[order], ad[order], dp[order])
                )  # fmt: skip
                if len(b_pos):
                    ev_blocks[current] = (b_pos, *b_num)
            sites.clear()
            blocks.clear()

        batches = iter_bam_batches(bam, header, threads=pileup.threads, cache=reads.cache)
        for block in iter_pileup(bam, pileup, reference=reference, header=header, batches=batches):
            if block.contig != current:
                flush()
                current = block.contig
            block = block.within(header.lengths[block.tid])
            if block is None:
                continue
            ref_seq = ref.load(block.contig, block.start, block.end)
            codes = _REF_LUT[np.frombuffer(ref_seq.encode("ascii"), np.uint8)]
            counts = np.ascontiguousarray(block.counts, dtype=np.uint32)
            t1 = time.perf_counter()
            st = site_stats(
                counts, codes, theta=calling.theta, rho=calling.overdispersion,
                backend=backend, threads=threads,
            )  # fmt: skip
            t_kernel += time.perf_counter() - t1
            n["positions"] += len(codes)
            rows, site = _site_lines(block.contig, block.start, codes, counts, st, calling, gvcf)
            if site is not None:
                sites.append(site)
            n["sites"] += len(rows)
            mask = codes < 4
            mask[rows] = False
            blocks.append(
                ref_blocks(
                    block.start,
                    ref_seq.encode("ascii"),
                    mask,
                    st.column("ref_gq"),
                    st.column("depth"),
                    st.pl,
                    gvcf.gq_bands,
                )  # fmt: skip
            )
            if calling.indels:
                seen = call_indels(block, ref, calling, evidence_min_alt=gvcf.evidence_min_alt)
                indel_alleles.update((r.pos, r.ref, r.alt) for r in seen)
        flush()
    if evidence is not None:
        from biometal.variants.joint import evidence_from_records

        evidence.append(evidence_from_records(sample, str(out_gvcf), ev_rows, ev_blocks))
    n_out = {k: float(v) for k, v in n.items()}
    n_out["seconds"] = time.perf_counter() - t0
    n_out["kernel_seconds"] = t_kernel
    n_out["library_cpu_s"] = time.process_time() - c0
    log.info(
        "gVCF %s: %d positions, %d site records, %d indel records, %d reference blocks in "
        "%.2f s (site_stats kernel %.2f s)",
        out_gvcf, n["positions"], n["sites"], n["indels"], n["blocks"], n_out["seconds"],
        t_kernel,
    )  # fmt: skip
    return n_out
