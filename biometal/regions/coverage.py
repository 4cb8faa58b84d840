"""Region coverage: per-region depth and base counts for a BED over an indexed BAM.

:func:`region_coverage` reads only the BAM records that overlap the regions, through the
BAM index (``.bai`` or ``.csi``; regions closer than ``gap`` bp are read in one sweep), piles
them up with the project's pileup kernel (:func:`biometal.pileup.iter_pileup`, Metal or
numba) and sums each region's part of the per-position counts:

- ``sum``: sum of the per-base depth over the region (``samtools bedcov``'s number);
- ``mean``: ``sum / length``, added up as mosdepth does (depth / length per position, in
  float64), so that its 2-decimal text equals mosdepth's ``--by`` output (0 when empty);
- ``ge_T``: positions with depth >= T, for each threshold T (mosdepth ``--thresholds``,
  ``samtools bedcov -d``);
- ``A C G T N del``: base letters of the reads at the region's positions (both strands;
  bases with quality >= ``min_baseq``) and deletion entries (samtools mpileup's ``*``).

What "depth" counts follows the ``mode`` (the tools disagree, so both are offered):

``mosdepth`` (mosdepth 0.3.3 without ``-x``): the aligned bases (CIGAR M/=/X) of every
  read; D and N are gaps. Overlapping mates of a proper pair count once where both cover a
  position (mosdepth's own rule, quirks included: a pair whose CIGARs are both a single
  operation loses one read over [second start, first end); mates are matched by a 63-bit
  hash of the read name, per contig). ``fast=True`` is mosdepth
  ``-x``: each read counts from its start to its end (deletions and skips included; a read
  with no reference operation, e.g. ``2S40I33S``, counts at its position), mates are not
  corrected.
``bedcov`` (samtools bedcov): every reference position a read spans (M/=/X/D/N, both mates
  counted); ``bedcov_no_del=True`` is ``-j`` (D and N not counted). samtools 1.16's ``-d``
  also drops D and N from its sum (its code counts them only without ``-j``/``-d``): its
  ``-d T`` output is ``bedcov_no_del=True, thresholds=(T,)``. samtools caps the pileup at
  64,000 reads per position; no cap here.

Read filters (both tools): reads with any ``flag_filter`` bit (default 1796 = UNMAP,
SECONDARY, QCFAIL, DUP: mosdepth ``-F``, samtools bedcov's default set) and reads with MAPQ
below ``min_mapq`` (``-Q`` of both) are dropped; ``include_flags`` keeps only reads with at
least one of those bits (mosdepth ``-i``). Paired reads not in a proper pair are kept (no
orphan filter). Unmapped reads are always dropped. No base-quality filter unless
``min_baseq`` is set.

Regions: a BED (BED3 or more; CRLF line ends and any order are fine: results come back
in the file's order) or :class:`~biometal.regions.bed.Intervals`. A region on a contig that
is not in the BAM header, or that ends past the contig's end, is an error naming the BED
line unless ``clip=True`` (then such regions keep their coordinates and count depth 0 past
the end, as samtools bedcov does; mosdepth 0.3.3 crashes on them). Zero-length regions have
mean 0 (as mosdepth prints).

Memory: one pileup table of about ``region_size`` positions, the index, and the output
(a few numbers per region), whatever the BAM size.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from biometal.errors import BiometalError
from biometal.io.bam import (
    BamHeader,
    BamIndex,
    RecordBatch,
    check_bam,
    iter_region_batches,
)
from biometal.regions.bed import Intervals, read_bed

MODES = ("mosdepth", "bedcov")
BASE_COLUMNS = ("A", "C", "G", "T", "N", "del")
#: Regions closer than this (bp) are read from the BAM in one sweep instead of a new seek.
DEFAULT_GAP = 65_536


class CoverageError(BiometalError):
    """Bad coverage input; the message names the file and line."""


# ------------------------------------------------------------------------------ regions


@dataclass
class _Regions:
    """Regions checked against the BAM header: contig ids, bounds, input order."""

    source: str
    names: list[str]
    chrom: np.ndarray
    tid: np.ndarray
    start: np.ndarray
    end: np.ndarray
    name: np.ndarray | None


def _load_regions(
    regions: str | os.PathLike | Intervals, header: BamHeader, clip: bool
) -> _Regions:
    iv = regions if isinstance(regions, Intervals) else read_bed(regions)
    src = iv.path
    tids = {n: i for i, n in enumerate(header.names)}
    code_tid = np.array([tids.get(c, -1) for c in iv.chrom_names], dtype=np.int64)
    tid = code_tid[iv.chrom] if len(iv) else np.zeros(0, np.int64)

    def line(i: int) -> str:
        lines = iv.lineno
        if lines is None and not isinstance(regions, Intervals):
            lines = read_bed(regions, line_numbers=True).lineno  # only to name the line
        return f"{src}:{int(lines[i])}" if lines is not None else f"{src}: record {i + 1}"

    bad = np.flatnonzero(tid < 0)
    if len(bad) and not clip:
        i = int(bad[0])
        raise CoverageError(
            f"{line(i)}: contig '{iv.chrom_names[iv.chrom[i]]}' is not in the BAM "
            f"header (BAM contigs: {', '.join(header.names[:5])}"
            f"{', ...' if len(header.names) > 5 else ''})"
        )
    lengths = np.asarray(header.lengths, dtype=np.int64)
    over = np.flatnonzero((tid >= 0) & (iv.end > lengths[np.maximum(tid, 0)]))
    if len(over) and not clip:
        i = int(over[0])
        c = header.names[tid[i]]
        raise CoverageError(
            f"{line(i)}: region {c}:{iv.start[i]}-{iv.end[i]} ends past the end "
            f"of contig {c} (length {lengths[tid[i]]}); fix the BED or use --clip (clip=True)"
        )
    name = iv.column(4) if iv.ncols >= 4 else None
    start = iv.start.astype(np.int64)
    return _Regions(src, iv.chrom_names, iv.chrom, tid, start, iv.end.astype(np.int64), name)


def _fetch_groups(tid: np.ndarray, start: np.ndarray, end: np.ndarray, gap: int, lengths):
    """Sorted, merged read spans per contig: list of (tid, beg, end), regions within ``gap``
    of each other in one span, clipped to the contig."""
    out = []
    for t in np.unique(tid[tid >= 0]):
        m = tid == t
        s = np.minimum(start[m], lengths[t])
        e = np.minimum(end[m], lengths[t])
        nz = e > s
        s, e = s[nz], e[nz]
        if not len(s):
            continue
        o = np.argsort(s, kind="stable")
        s, e = s[o], np.maximum.accumulate(e[o])
        cut = np.flatnonzero(s[1:] > e[:-1] + gap) + 1
        begs = s[np.concatenate([[0], cut])]
        ends = e[np.concatenate([cut - 1, [len(e) - 1]])]
        out.extend((int(t), int(b), int(x)) for b, x in zip(begs, ends, strict=True))
    return out


# ------------------------------------------------------------------------------ records


@dataclass
class _Filter:
    flag_filter: int
    include_flags: int
    min_mapq: int


def _keep(table: np.ndarray, f: _Filter) -> np.ndarray:
    flag = table[:, 4]
    keep = (table[:, 1] >= 0) & ((flag & (f.flag_filter | 4)) == 0) & (table[:, 5] >= f.min_mapq)
    if f.include_flags:
        keep &= (flag & f.include_flags) != 0
    return keep


class _Corrections:
    """Depth corrections by interval (+1 / -1 over [s, e)) not yet applied, per contig.

    mosdepth's overlapping-mate rule gives -1 where both mates of a pair cover a position
    (the pairs seen on the current contig live in ``seen``); mosdepth ``-x`` counts a read
    without reference-consuming operations (e.g. ``2S40I33S``) at its position (htslib's end
    of such a read is pos + 1), which the pileup leaves out: +1 there. Kept per contig
    because the pileup yields a contig's last blocks after the next contig's records have
    been read.
    """

    def __init__(self, mates: bool, noref: bool) -> None:
        self.mates, self.noref = mates, noref
        self.tid = -1
        self.seen = None
        self.parts: dict[int, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}

    def reset(self, tid: int) -> None:
        self.tid = tid
        if self.mates:
            from numba import types
            from numba.typed import Dict

            self.seen = Dict.empty(key_type=types.int64, value_type=types.int64[::1])

    def _put(self, s: np.ndarray, e: np.ndarray, v: int) -> None:
        self.parts.setdefault(self.tid, []).append((s, e, np.full(len(s), v, np.int64)))

    def add(self, batch: RecordBatch, keep: np.ndarray, beg: int, end: int) -> None:
        """Corrections from the records of ``batch`` with ``keep`` (group [beg, end))."""
        table = batch.table
        if self.noref:
            t = table[keep & (table[:, 3] <= table[:, 2])]
            pos = t[:, 2][(t[:, 2] + 1 > beg) & (t[:, 2] < end)]
            if len(pos):
                self._put(pos.copy(), pos + 1, 1)
        if not self.mates:
            return
        from biometal.regions._coverage_kernels import mate_overlaps

        i = 0
        cap = max(64, len(table))
        while i < len(table):
            out_s = np.empty(cap, np.int64)
            out_e = np.empty(cap, np.int64)
            n, i = mate_overlaps(batch.data, table, keep, self.seen, out_s, out_e, i)
            if n:
                self._put(out_s[:n], out_e[:n], -1)
            cap *= 2

    def _all(self, tid: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        parts = self.parts.get(tid)
        if not parts:
            return _EMPTY, _EMPTY, _EMPTY
        if len(parts) > 1:
            parts[:] = [tuple(np.concatenate(x) for x in zip(*parts, strict=True))]
        return parts[0]

    def take(self, tid: int, bstart: int, bend: int):
        """(s, e, v) of the corrections meeting [bstart, bend) of contig ``tid``; forgets
        those that end by ``bend`` (blocks come in order)."""
        s, e, v = self._all(tid)
        if not len(s):
            return _EMPTY, _EMPTY, _EMPTY
        live = e > bend
        self.parts[tid] = [(s[live], e[live], v[live])] if live.any() else []
        hit = (s < bend) & (e > bstart)
        return s[hit], e[hit], v[hit]

    def orphans(self, tid: int, before: int) -> Iterator[tuple[int, int]]:
        """Stretches [s, e) of contig ``tid`` ending by ``before`` (all, if None) that hold
        +1 corrections no pileup block covered (a read without aligned bases, alone)."""
        tids = sorted(t for t in self.parts if t < tid or (t == tid and before is not None))
        for t in tids:
            s, e, v = self._all(t)
            if not len(s):
                continue
            m = (v > 0) & ((e <= before) if t == tid else True)
            if m.any():
                o = np.argsort(s[m], kind="stable")
                for a, b in zip(s[m][o].tolist(), e[m][o].tolist(), strict=True):
                    yield t, a, b


_EMPTY = np.zeros(0, np.int64)


def _region_batches(
    bam: str,
    header: BamHeader,
    index: BamIndex,
    groups: list[tuple[int, int, int]],
    filt: _Filter,
    corr: _Corrections | None,
    threads: int,
) -> Iterator[RecordBatch]:
    """The kept records overlapping the groups, each once, in coordinate order."""
    prev_tid, prev_end = -1, 0
    for tid, beg, end in groups:
        if tid != prev_tid:
            prev_end = 0
            if corr is not None:
                corr.reset(tid)
        prev_tid = tid
        for batch in iter_region_batches(bam, header, index, tid, beg, end, threads=threads):
            t = batch.table
            # records before this group that an earlier group read already, or that end
            # before it (the index's first chunk starts before the group)
            fresh = t[:, 2] >= prev_end
            keep = _keep(t, filt) & fresh
            if corr is not None:
                corr.add(batch, keep, beg, end)
            keep &= (t[:, 3] > beg) & (t[:, 3] > t[:, 2])
            sel = t[keep]
            if len(sel):
                yield RecordBatch(batch.data, sel)
        prev_end = end


# ------------------------------------------------------------------------------ coverage


def _pileup_params(min_baseq: int, backend: str | None, threads: int, region_size: int):
    from biometal.pileup import PileupParams

    return PileupParams(
        min_mapq=0,
        min_baseq=min_baseq,
        exclude_flags=(),
        count_orphans=True,
        region_size=region_size,
        backend=backend,
        threads=threads,
    )


def _flag_int(flags: int | str | Sequence[str]) -> int:
    if isinstance(flags, int):
        return flags
    from biometal.io.bam import flag_mask

    return flag_mask(flags)


@dataclass(frozen=True)
class _Depth:
    span: bool  # count D/N
    mates: bool  # mosdepth mate-overlap correction
    noref: bool = False  # mosdepth -x: reads without reference operations count at pos


def _depth_rule(mode: str, fast: bool, bedcov_no_del: bool) -> _Depth:
    if mode not in MODES:
        raise BiometalError(f"coverage: mode must be one of {', '.join(MODES)}, not '{mode}'")
    if mode == "mosdepth":
        return _Depth(span=fast, mates=not fast, noref=fast)
    return _Depth(span=not bedcov_no_del, mates=False)


def _iter_depth(
    bam: str,
    header: BamHeader,
    groups: list[tuple[int, int, int]],
    rule: _Depth,
    filt: _Filter,
    *,
    min_baseq: int,
    backend: str | None,
    threads: int,
    region_size: int,
) -> Iterator[tuple[int, int, np.ndarray, np.ndarray]]:
    """(tid, start, counts uint32[n, 24], depth int64[n]) blocks over the groups."""
    from biometal.pileup import iter_pileup
    from biometal.regions._coverage_kernels import block_depth

    index = BamIndex.read(bam)
    corr = _Corrections(rule.mates, rule.noref) if rule.mates or rule.noref else None
    params = _pileup_params(min_baseq, backend, threads, region_size)
    batches = _region_batches(bam, header, index, groups, filt, corr, threads)

    def lone(tid: int, before: int | None):
        # +1 corrections that no block covers: blocks of their own (counts 0), in order
        last = (-1, -1)
        for t, s, e in list(corr.orphans(tid, before)):
            if (t, s) < last:
                continue  # taken with the one before
            last = (t, e)
            counts = np.zeros((e - s, 24), np.uint32)
            cs, ce, cv = corr.take(t, s, e)
            yield t, s, counts, block_depth(counts, False, cs, ce, cv, s)

    for block in iter_pileup(bam, params, header=header, batches=batches):
        cs, ce, cv = _EMPTY, _EMPTY, _EMPTY
        if corr is not None:
            if rule.noref:
                yield from lone(block.tid, block.start)
            cs, ce, cv = corr.take(block.tid, block.start, block.end)
        depth = block_depth(block.counts, rule.span, cs, ce, cv, block.start)
        yield block.tid, block.start, block.counts, depth
    if corr is not None and rule.noref:
        yield from lone(len(header.names), None)


def region_coverage(
    bam: str | os.PathLike,
    regions: str | os.PathLike | Intervals,
    *,
    mode: str = "mosdepth",
    min_mapq: int = 0,
    flag_filter: int | Sequence[str] = 1796,
    include_flags: int | Sequence[str] = 0,
    thresholds: Sequence[int] = (),
    fast: bool = False,
    bedcov_no_del: bool = False,
    min_baseq: int = 0,
    clip: bool = False,
    gap: int = DEFAULT_GAP,
    region_size: int = 100_000,
    backend: str | None = None,
    threads: int = 1,
) -> pd.DataFrame:
    """Per-region coverage of a BED over an indexed, coordinate-sorted BAM.

    Returns one row per region, in the BED's order: chrom, start, end (0-based, half-open),
    name (BED4+ only), length (bp), sum (sum of per-base depth), mean (sum / length, 0 if
    empty),
    ``ge_T`` (positions with depth >= T) per threshold, A C G T N del (entries of the reads
    at the region's positions). Depth semantics (``mode``, ``fast``, ``bedcov_no_del``) and
    filters: see the module docstring. Raises :class:`~biometal.errors.BiometalError` with a
    one-line message for bad input.
    """
    from biometal.regions._coverage_kernels import add_block

    thr = np.asarray(sorted(set(int(t) for t in thresholds)), dtype=np.int64)
    if len(thr) and thr[0] < 1:
        raise BiometalError("coverage: thresholds must be >= 1")
    if min_mapq < 0 or min_baseq < 0:
        raise BiometalError("coverage: min_mapq and min_baseq must be >= 0")
    rule = _depth_rule(mode, fast, bedcov_no_del)
    bam = str(bam)
    header = check_bam(bam)
    reg = _load_regions(regions, header, clip)
    filt = _Filter(_flag_int(flag_filter), _flag_int(include_flags), min_mapq)
    n = len(reg.start)
    out_sum = np.zeros(n, np.int64)
    out_mean = np.zeros(n, np.float64)
    out_thr = np.zeros((n, len(thr)), np.int64)
    out_bases = np.zeros((n, len(BASE_COLUMNS)), np.int64)
    lengths = np.asarray(header.lengths, dtype=np.int64)
    groups = _fetch_groups(reg.tid, reg.start, reg.end, gap, lengths)
    # per contig: region indices sorted by start, and the running max of their ends
    by_tid = {}
    for t in np.unique(reg.tid[reg.tid >= 0]):
        idx = np.flatnonzero(reg.tid == t)
        idx = idx[np.argsort(reg.start[idx], kind="stable")]
        rs = np.ascontiguousarray(reg.start[idx])
        re_ = np.ascontiguousarray(reg.end[idx])
        by_tid[int(t)] = (idx, rs, re_, np.maximum.accumulate(re_))
    sums = {t: np.zeros(len(v[0]), np.int64) for t, v in by_tid.items()}
    means = {t: np.zeros(len(v[0]), np.float64) for t, v in by_tid.items()}
    thrs = {t: np.zeros((len(v[0]), len(thr)), np.int64) for t, v in by_tid.items()}
    bases = {t: np.zeros((len(v[0]), len(BASE_COLUMNS)), np.int64) for t, v in by_tid.items()}
    for tid, bstart, counts, depth in _iter_depth(
        bam,
        header,
        groups,
        rule,
        filt,
        min_baseq=min_baseq,
        backend=backend,
        threads=threads,
        region_size=region_size,
    ):
        if tid not in by_tid:
            continue
        _idx, rs, re_, rmax = by_tid[tid]
        i0 = int(np.searchsorted(rmax, bstart, side="right"))
        i1 = int(np.searchsorted(rs, bstart + len(depth), side="left"))
        if i1 > i0:
            add_block(
                counts,
                depth,
                bstart,
                rs,
                re_,
                i0,
                i1,
                thr,
                sums[tid],
                means[tid],
                thrs[tid],
                bases[tid],
            )
    for t, (idx, *_rest) in by_tid.items():
        out_sum[idx] = sums[t]
        out_mean[idx] = means[t]
        out_thr[idx] = thrs[t]
        out_bases[idx] = bases[t]
    length = reg.end - reg.start
    mean = out_mean
    cols: dict[str, object] = {
        "chrom": np.asarray(reg.names, dtype=object)[reg.chrom] if n else np.zeros(0, object),
        "start": reg.start,
        "end": reg.end,
    }
    if reg.name is not None:
        cols["name"] = reg.name
    cols.update(length=length, sum=out_sum, mean=mean)
    for k, t in enumerate(thr.tolist()):
        cols[f"ge_{t}"] = out_thr[:, k]
    for k, b in enumerate(BASE_COLUMNS):
        cols[b] = out_bases[:, k]
    return pd.DataFrame(cols)


def depth_arrays(
    bam: str | os.PathLike,
    chrom: str,
    start: int,
    end: int,
    *,
    mode: str = "mosdepth",
    min_mapq: int = 0,
    flag_filter: int | Sequence[str] = 1796,
    include_flags: int | Sequence[str] = 0,
    fast: bool = False,
    bedcov_no_del: bool = False,
    min_baseq: int = 0,
    backend: str | None = None,
    threads: int = 1,
) -> np.ndarray:
    """Per-base depth int32[end - start] of ``chrom:start-end`` (0-based, half-open), with
    the same depth rule and filters as :func:`region_coverage` (mosdepth's per-base
    bedgraph, expanded). Positions past the contig's end are 0."""
    bam = str(bam)
    header = check_bam(bam)
    if chrom not in header.names:
        raise BiometalError(f"{bam}: no contig '{chrom}' in the BAM header")
    if not 0 <= start <= end:
        raise BiometalError(f"coverage: bad region {chrom}:{start}-{end}")
    from biometal.regions._coverage_kernels import fill_depth

    tid = header.names.index(chrom)
    out = np.zeros(end - start, np.int32)
    e = min(end, header.lengths[tid])
    if e <= start:
        return out
    rule = _depth_rule(mode, fast, bedcov_no_del)
    filt = _Filter(_flag_int(flag_filter), _flag_int(include_flags), min_mapq)
    for _t, bstart, _counts, depth in _iter_depth(
        bam,
        header,
        [(tid, start, e)],
        rule,
        filt,
        min_baseq=min_baseq,
        backend=backend,
        threads=threads,
        region_size=100_000,
    ):
        fill_depth(depth.astype(np.int32), bstart, out, start)
    return out


# ------------------------------------------------------------------------------ output


def write_coverage_tsv(df: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write :func:`region_coverage`'s table as TSV (header line starting with ``#``; mean
    with 2 decimals, as mosdepth prints it), atomically; ``-``: to standard output (gzip by
    suffix, as :func:`biometal.io.sinks.write_text_output`)."""
    from biometal.io.sinks import write_text_output

    out = df.copy()
    out["mean"] = [_fmt2(x) for x in out["mean"].tolist()]
    text = out.to_csv(sep="\t", header=False, index=False, lineterminator="\n")
    write_text_output(path, "#" + "\t".join(out.columns) + "\n" + text)


def _fmt2(x: float) -> str:
    return "nan" if math.isnan(x) else f"{x:.2f}"


__all__ = [
    "BASE_COLUMNS",
    "MODES",
    "BamIndex",
    "CoverageError",
    "depth_arrays",
    "region_coverage",
    "write_coverage_tsv",
]
