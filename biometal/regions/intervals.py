"""bedtools-style interval operations on :class:`~biometal.regions.bed.Intervals`.

Every operation accepts sorted or unsorted input (it sorts internally; ``Intervals.is_sorted``
says whether a file was sorted) and returns :class:`Intervals` whose BED lines equal bedtools
2.30's output for intervals of positive length (bedtools gives zero-length intervals ad hoc
treatments; here an interval ``[s, s)`` overlaps ``[bs, be)`` when ``bs < s < be``, the plain
half-open rule). ``strand``: ``None`` (ignore), ``"same"`` (bedtools ``-s``) or
``"opposite"`` (``-S``); as in bedtools, a ``.`` strand then matches nothing.

Overlap counts (``intersect -c/-u/-v``, ``coverage``, ``subtract -A``, and the offsets of
:func:`overlap_pairs`) run the ``overlap_count`` kernel (kernels/overlap_count.metal and its
numba twin) on the resolved compute backend (``backend``: auto | metal | cpu, None:
``$BIOMETAL_BACKEND``); the other loops are numba (``_kernels.py``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from biometal.errors import BiometalError
from biometal.kernels.overlap_count import overlap_count
from biometal.regions import _kernels as K
from biometal.regions.bed import Intervals

_MAXPOS = 1 << K.SHIFT
_SIDX = np.array([2, 0, 1], dtype=np.int64)  # strand code (0, +1, -1) -> 2, 0, 1


def _check_strand(strand: str | None) -> None:
    if strand not in (None, "same", "opposite"):
        raise BiometalError(f"strand must be None, 'same' or 'opposite', got {strand!r}")


def _union_codes(a: Intervals, b: Intervals) -> tuple[np.ndarray, np.ndarray]:
    """Chromosome codes of ``a`` and ``b`` in one shared numbering."""
    names = {n: i for i, n in enumerate(a.chrom_names)}
    for n in b.chrom_names:
        names.setdefault(n, len(names))
    bmap = np.asarray([names[n] for n in b.chrom_names], dtype=np.int64)
    return a.chrom.astype(np.int64), bmap[b.chrom] if len(bmap) else b.chrom.astype(np.int64)


def _keys(iv: Intervals, chrom: np.ndarray, strand: str | None, flip: bool = False):
    """Keyed start/end arrays (group << SHIFT | pos) and the group of each record."""
    if len(iv) and int(iv.end.max()) >= _MAXPOS:
        raise BiometalError(f"{iv.path}: positions must be < 2**{K.SHIFT}")
    if strand is None:
        grp = chrom
    else:
        s = _SIDX[iv.strand.astype(np.int64) % 3]
        if flip:
            s = np.where(s == 2, 2, 1 - s)
        grp = chrom * 3 + s
    base = grp << K.SHIFT
    return base + iv.start, base + iv.end, grp


def _sorted_b(bs: np.ndarray, be: np.ndarray, keep: np.ndarray | None = None):
    """B sorted by keyed start: (order, bs, be, running max of be)."""
    idx = np.arange(len(bs)) if keep is None else np.flatnonzero(keep)
    s = bs[idx]
    if len(s) > 1 and np.any(s[1:] < s[:-1]):
        o = np.argsort(s, kind="stable")
        idx = idx[o]
        s = s[o]
    e = be[idx]
    return idx, s, e, np.maximum.accumulate(e) if len(e) else e


def _need_strands(iv: Intervals) -> None:
    """A strand rule on a file without a strand column is an error, as bedtools' ("stranded
    merge requested, but input file ... does not have strands"): every record would match
    nothing, and the output would be silently empty."""
    if len(iv) and iv.ncols < 6:
        raise BiometalError(
            f"{iv.path}: a strand rule (-s / -S) needs a strand column (BED column 6); "
            f"its records have {iv.ncols} columns"
        )


def _keyed(a: Intervals, b: Intervals, strand: str | None):
    """Keyed A starts/ends, keyed B starts/ends, and B's kept records (None: all; with a
    strand rule, B records without a strand are left out)."""
    _check_strand(strand)
    if strand is not None:
        _need_strands(a)
        _need_strands(b)
    ca, cb = _union_codes(a, b)
    as_, ae, _ = _keys(a, ca, strand)
    bs, be, _ = _keys(b, cb, strand, flip=strand == "opposite")
    keep = None if strand is None else b.strand != 0
    return as_, ae, bs, be, keep


def _prepare(a: Intervals, b: Intervals, strand: str | None):
    as_, ae, bs, be, keep = _keyed(a, b, strand)
    return as_, ae, _sorted_b(bs, be, keep)


def take(iv: Intervals, idx: np.ndarray, start=None, end=None, tail=None) -> Intervals:
    """Records ``idx`` of ``iv``, optionally with new start/end/tail arrays."""
    return Intervals(
        chrom_names=iv.chrom_names,
        chrom=iv.chrom[idx],
        start=iv.start[idx] if start is None else np.asarray(start, dtype=np.int64),
        end=iv.end[idx] if end is None else np.asarray(end, dtype=np.int64),
        tail=iv.tail[idx] if tail is None else np.asarray(tail, dtype=object),
        strand=iv.strand[idx],
        path=iv.path,
        ncols=iv.ncols,
    )


def _strs(col) -> list[str]:
    if isinstance(col, np.ndarray) and col.dtype.kind in "iuf":
        return list(map(str, col.tolist()))
    return col.tolist() if isinstance(col, np.ndarray) else list(col)


def _join(first, *cols) -> list[str]:
    """Tab-join columns row-wise, leaving out an empty first field (a BED3 tail)."""
    out = _strs(first)
    for col in cols:
        out = [f"{r}\t{c}" if r else c for r, c in zip(out, _strs(col), strict=True)]
    return out


def overlap_pairs(
    a: Intervals, b: Intervals, strand: str | None = None, *, backend: str | None = None
):
    """Every overlapping pair: ``(ia, ib)`` ``int64`` record indices into ``a`` and ``b``, in
    ``a`` order, then by B start."""
    as_, ae, (order, bs, be, bmax) = _prepare(a, b, strand)
    counts = overlap_count(as_, ae, bs, be, backend=backend)
    offsets = np.zeros(len(a) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    ib = np.empty(offsets[-1], dtype=np.int64)
    K.overlap_fill(as_, ae, bs, be, bmax, offsets, ib)
    ia = np.repeat(np.arange(len(a), dtype=np.int64), counts)
    return ia, order[ib]


def overlap_counts(
    a: Intervals, b: Intervals, strand: str | None = None, *, backend: str | None = None
) -> np.ndarray:
    """Number of ``b`` records overlapping each ``a`` record (``int64``, length ``len(a)``),
    through the ``overlap_count`` kernel on ``backend``."""
    as_, ae, bs, be, keep = _keyed(a, b, strand)
    if keep is not None:
        bs, be = bs[keep], be[keep]
    return overlap_count(as_, ae, bs, be, backend=backend)


INTERSECT_MODES = ("default", "wa", "wb", "wawb", "u", "v", "c")


def intersect(
    a: Intervals, b: Intervals, *, mode: str = "default", strand: str | None = None
) -> Intervals:
    """``bedtools intersect -a A -b B`` with ``mode``: ``default`` (the overlapping part, A's
    other fields), ``wa``, ``wb``, ``wawb`` (``-wa -wb``), ``u``, ``v``, ``c``."""
    if mode not in INTERSECT_MODES:
        raise BiometalError(f"intersect mode must be one of {INTERSECT_MODES}, got {mode!r}")
    if mode in ("u", "v", "c"):
        counts = overlap_counts(a, b, strand)
        if mode == "c":
            return take(a, np.arange(len(a)), tail=_join(a.tail, counts))
        return take(a, np.flatnonzero(counts > 0 if mode == "u" else counts == 0))
    ia, ib = overlap_pairs(a, b, strand)
    if mode == "wa":
        return take(a, ia)
    s = np.maximum(a.start[ia], b.start[ib])
    e = np.minimum(a.end[ia], b.end[ib])
    if mode == "default":
        return take(a, ia, s, e)
    blines = np.asarray(take(b, ib).lines(), dtype=object)
    if mode == "wb":
        return take(a, ia, s, e, _join(a.tail[ia], blines))
    return take(a, ia, tail=_join(a.tail[ia], blines))


def _merged(s: np.ndarray, e: np.ndarray, d: int = 0):
    """Merge keyed intervals (any order): (order, group id per sorted record, starts, ends)."""
    order = np.argsort(s, kind="stable")
    ss, ee = s[order], e[order]
    gid = K.merge_groups(ss, ee, d)
    first = np.flatnonzero(np.r_[True, gid[1:] != gid[:-1]]) if len(gid) else gid
    ms = ss[first]
    me = np.maximum.reduceat(ee, first) if len(first) else ee[:0]
    return order, gid, ms, me


MERGE_OPS = ("count", "sum", "min", "max", "mean", "collapse", "distinct", "count_distinct")


def _fmt_num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.10g}"  # bedtools' precision


def merge(
    a: Intervals,
    *,
    distance: int = 0,
    strand: bool = False,
    columns: tuple[int, ...] = (),
    ops: tuple[str, ...] = (),
) -> Intervals:
    """``bedtools merge -i A [-d distance] [-s] [-c columns -o ops]``: overlapping or
    book-ended records (gap ``<= distance``) become one; ``columns`` (1-based BED columns) are
    summarised with ``ops`` (one per column; see ``MERGE_OPS``)."""
    if len(columns) != len(ops):
        raise BiometalError("merge: give one op per column (-c and -o lengths differ)")
    for op in ops:
        if op not in MERGE_OPS:
            raise BiometalError(f"merge: unknown op {op!r}; known: {', '.join(MERGE_OPS)}")
    if columns:  # as bedtools: a column the file does not have is an error, not '.'
        width = 3 + max((len(t.split("\t")) for t in a.tail if t), default=0)
        for col in columns:
            if not 1 <= col <= width:
                raise BiometalError(
                    f"{a.path}: merge -c {col}: the records have columns 1-{width} only"
                )
    if strand:  # bedtools merge -s drops records without a strand
        _need_strands(a)
        a = take(a, np.flatnonzero(a.strand != 0))
    chrom = a.chrom.astype(np.int64)
    s, e, grp = _keys(a, chrom, "same" if strand else None)
    order, gid, ms, me = _merged(s, e, distance)
    first = np.flatnonzero(np.r_[True, gid[1:] != gid[:-1]]) if len(gid) else gid
    g = grp[order][first]
    out_chrom = (g // 3 if strand else g).astype(np.int32)
    mask = np.int64(_MAXPOS - 1)
    out_s, out_e = ms & mask, me & mask
    tails: list[list[str]] = []
    for col, op in zip(columns, ops, strict=True):
        vals = a.column(col)[order]
        ser = pd.Series(vals)
        if op in ("sum", "min", "max", "mean"):
            num = pd.to_numeric(ser, errors="coerce")
            if num.isna().any():
                bad = int(np.flatnonzero(num.isna().to_numpy())[0])
                where = f"line {a.lineno[order][bad]}" if a.lineno is not None else "a record"
                raise BiometalError(
                    f"{a.path}: {where}: column {col} is not numeric for -o {op}: '{vals[bad]}'"
                )
            r = getattr(num.groupby(gid, sort=True), op)()
            tails.append([_fmt_num(x) for x in r.to_numpy()])
        elif op == "count":
            tails.append(np.bincount(gid).astype(str).tolist())
        else:
            grouped = ser.groupby(gid, sort=True)
            if op == "collapse":
                tails.append(grouped.agg(",".join).tolist())
            elif op == "distinct":
                tails.append(grouped.agg(lambda x: ",".join(sorted(set(x)))).tolist())
            else:
                tails.append(grouped.agg(lambda x: str(len(set(x)))).tolist())
    tail = _join(*tails) if tails else [""] * len(ms)
    # output in chromosome first-appearance order, then start (bedtools on sorted input)
    o = np.lexsort((out_e, out_s, out_chrom))
    res = Intervals(
        chrom_names=a.chrom_names,
        chrom=out_chrom[o],
        start=out_s[o],
        end=out_e[o],
        tail=np.asarray(tail, dtype=object)[o],
        strand=np.zeros(len(o), dtype=np.int8),
        path=a.path,
        ncols=3 + len(columns),
    )
    return res


def _merged_b(a: Intervals, b: Intervals, strand: str | None):
    as_, ae, bs, be, keep = _keyed(a, b, strand)
    if keep is not None:
        bs, be = bs[keep], be[keep]
    _, _, ms, me = _merged(bs, be)
    return as_, ae, ms, me


def subtract(
    a: Intervals, b: Intervals, *, strand: str | None = None, whole: bool = False
) -> Intervals:
    """``bedtools subtract -a A -b B``: the parts of each A record not covered by B (A's other
    fields kept); ``whole=True`` is ``-A`` (drop A records with any overlap)."""
    if whole:
        return take(a, np.flatnonzero(overlap_counts(a, b, strand) == 0))
    as_, ae, ms, me = _merged_b(a, b, strand)
    counts = K.subtract_count(as_, ae, ms, me)
    offsets = np.zeros(len(a) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    ps = np.empty(offsets[-1], dtype=np.int64)
    pe = np.empty(offsets[-1], dtype=np.int64)
    K.subtract_fill(as_, ae, ms, me, offsets, ps, pe)
    idx = np.repeat(np.arange(len(a)), counts)
    mask = np.int64(_MAXPOS - 1)
    return take(a, idx, ps & mask, pe & mask)


def complement(a: Intervals, genome: dict[str, int]) -> Intervals:
    """``bedtools complement -i A -g genome``: the parts of each genome chromosome (in genome
    order) covered by no A record; book-ended A records leave no gap."""
    gidx = {n: i for i, n in enumerate(genome)}
    missing = [n for n in a.chrom_names if n not in gidx]
    if missing:
        raise BiometalError(f"{a.path}: chromosome '{missing[0]}' is not in the genome file")
    cmap = np.asarray([gidx[n] for n in a.chrom_names], dtype=np.int64)
    chrom = cmap[a.chrom] if len(cmap) else a.chrom.astype(np.int64)
    s, e, _ = _keys(a, chrom, None)
    _, _, ms, me = _merged(s, e)
    mc = ms >> K.SHIFT
    mask = np.int64(_MAXPOS - 1)
    ms, me = ms & mask, me & mask
    bounds = np.searchsorted(mc, np.arange(len(genome) + 1))
    oc, os_, oe = [], [], []
    for ci, size in enumerate(genome.values()):
        lo, hi = bounds[ci], bounds[ci + 1]
        gs = np.r_[0, np.minimum(me[lo:hi], size)]
        ge = np.r_[np.minimum(ms[lo:hi], size), size]
        keep = ge > gs
        oc.append(np.full(int(keep.sum()), ci, dtype=np.int32))
        os_.append(gs[keep])
        oe.append(ge[keep])
    n = sum(len(x) for x in oc)
    return Intervals(
        chrom_names=list(genome),
        chrom=np.concatenate(oc) if oc else np.zeros(0, np.int32),
        start=np.concatenate(os_).astype(np.int64) if os_ else np.zeros(0, np.int64),
        end=np.concatenate(oe).astype(np.int64) if oe else np.zeros(0, np.int64),
        tail=np.full(n, "", dtype=object),
        strand=np.zeros(n, dtype=np.int8),
        path=a.path,
    )


def closest_pairs(a: Intervals, b: Intervals, *, strand: str | None = None, ties: str = "all"):
    """Nearest B of each A record: ``(ia, ib, distance)``; ``ib = -1``, distance ``-1`` where A's
    chromosome (and strand group) has no B. Distance is 0 for overlaps, else the gap + 1
    (bedtools ``-d``). ``ties``: ``all``, ``first`` or ``last`` (in B order)."""
    if ties not in ("all", "first", "last"):
        raise BiometalError(f"closest ties must be all, first or last, got {ties!r}")
    as_, ae, (order, bs, be, bmax) = _prepare(a, b, strand)
    eo = np.argsort(be, kind="stable")
    ends_sorted = be[eo]
    counts, dist = K.closest_count(as_, ae, bs, be, bmax, ends_sorted, eo, K.SHIFT)
    offsets = np.zeros(len(a) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    ib = np.empty(offsets[-1], dtype=np.int64)
    K.closest_fill(as_, ae, bs, be, bmax, ends_sorted, eo, K.SHIFT, offsets, ib)
    ia = np.repeat(np.arange(len(a)), counts)
    ib = order[ib]
    # ties in B order
    o = np.lexsort((ib, ia))
    ia, ib = ia[o], ib[o]
    d = dist[ia]
    if ties != "all" and len(ia):
        keep = np.r_[True, ia[1:] != ia[:-1]] if ties == "first" else np.r_[ia[1:] != ia[:-1], True]
        ia, ib, d = ia[keep], ib[keep], d[keep]
    none = np.flatnonzero(counts == 0)
    if len(none):
        ia = np.r_[ia, none]
        ib = np.r_[ib, np.full(len(none), -1)]
        d = np.r_[d, np.full(len(none), -1)]
        o = np.argsort(ia, kind="stable")
        ia, ib, d = ia[o], ib[o], d[o]
    return ia, ib, d


def closest(
    a: Intervals,
    b: Intervals,
    *,
    strand: str | None = None,
    ties: str = "all",
    distance: bool = True,
) -> Intervals:
    """``bedtools closest -a A -b B [-d] [-t ties] [-s|-S]``: each A record, then its nearest
    B record (``. -1 -1 ...`` when none), then the distance when ``distance``."""
    ia, ib, d = closest_pairs(a, b, strand=strand, ties=ties)
    has = ib >= 0
    blines = np.empty(len(ia), dtype=object)
    blines[has] = take(b, ib[has]).lines()
    blines[~has] = _null_record(b)
    cols = [a.tail[ia], blines] + ([d] if distance else [])
    return take(a, ia, tail=_join(*cols))


def _null_record(b: Intervals) -> str:
    """The B fields ``bedtools closest`` prints when A's chromosome has no B record:
    ``. -1 -1``, then for BED4-6 and BED12 ``. -1 .`` and ``.`` for the rest; for BED-plus
    (other widths, or a score that is no number or a column 6 that is no strand, judged
    on the first record as bedtools types a file) ``.`` for every further field."""
    fields = str(b.tail[0]).split("\t") if len(b) and b.ncols > 3 else []
    standard = b.ncols in (3, 4, 5, 6, 12)
    if standard and len(fields) >= 2:
        try:
            float(fields[1])
        except ValueError:
            standard = False
    if standard and len(fields) >= 3 and fields[2] not in ("+", "-", "."):
        standard = False
    named = [".", "-1", "."][: max(0, b.ncols - 3)] if standard else []
    return "\t".join([".", "-1", "-1", *named] + ["."] * (b.ncols - 3 - len(named)))


def coverage_arrays(a: Intervals, b: Intervals, *, strand: str | None = None):
    """Per A record: ``(count, covered_bases, length, fraction)`` arrays (``int64`` x 3,
    ``float64`` holding bedtools' single-precision quotient) as ``bedtools coverage`` reports
    them."""
    counts = overlap_counts(a, b, strand)
    as_, ae, ms, me = _merged_b(a, b, strand)
    cov = K.covered_bases(as_, ae, ms, me)
    length = a.end - a.start
    # bedtools divides in single precision: (float)covered / (float)length
    frac32 = np.divide(
        cov.astype(np.float32),
        length.astype(np.float32),
        out=np.zeros(len(a), np.float32),
        where=length > 0,
    )
    frac = frac32.astype(np.float64)
    return counts, cov, length, frac


def coverage(
    a: Intervals, b: Intervals, *, strand: str | None = None, counts_only: bool = False
) -> Intervals:
    """``bedtools coverage -a A -b B``: each A record, then the number of overlapping B
    records, the A bases they cover, A's length and the covered fraction (``%.7f``);
    ``counts_only`` is ``-counts``."""
    if counts_only:
        counts = overlap_counts(a, b, strand)
        return take(a, np.arange(len(a)), tail=_join(a.tail, counts))
    counts, cov, length, frac = coverage_arrays(a, b, strand=strand)
    tail = _join(
        a.tail,
        counts,
        cov,
        length,
        [f"{x:.7f}" for x in frac],
    )
    return take(a, np.arange(len(a)), tail=tail)
