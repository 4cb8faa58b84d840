"""Streaming pileup: BAM records in, per-position count blocks out, in bounded memory.

:func:`iter_pileup` reads a coordinate-sorted BAM once (:func:`biometal.io.bam.iter_bam_batches`),
drops reads that fail the read filters (:class:`PileupParams`), and adds the remaining
reads into a rolling count table through the ``pileup`` kernel (Metal or numba) in groups
of at most ``region_size`` reference positions. Because the BAM is sorted, every position
before the first read of a group is final: those rows leave as a :class:`PileupBlock` and
the table slides forward. Memory is one table of about ``region_size`` plus the longest read
span rows (24 uint32 each) and a few pieces of the BAM, whatever the genome size. A group
also ends at an empty stretch of at least :data:`MIN_GAP` positions, and the table restarts
after it: blocks cover the stretches where reads are, so on a sparse BAM (reads at a few
sites of a long contig, a gene panel) the empty positions are never allocated, formatted or
looked up in the reference, and the cost follows the reads, not the genome. Such groups,
when small and alone on their stretch (a sparse BAM's sites), are piled up in runs: one table
for many of them, their rows back to back, and one kernel call (:func:`_iter_runs`; at most
one more table of the same size).

Read filters (what ``samtools mpileup`` does before the pileup): unmapped reads and reads
with any ``exclude_flags`` bit are dropped, as are reads with MAPQ below ``min_mapq`` and,
unless ``count_orphans``, paired reads that are not in a proper pair (samtools without
``-A``). Base filter: an entry counts when its base quality is at least ``min_baseq``
(samtools ``-Q``; a deletion entry takes the quality of the base after it).

Overlapping mates are both counted (samtools ``-x``, ``--ignore-overlaps-removal``): no
quality of one mate is lowered where it overlaps the other. BAQ is not computed
(samtools ``-B``). The equivalent samtools command is :func:`samtools_command`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from biometal.errors import BiometalError
from biometal.io.bam import (
    FPAIRED,
    FPROPER_PAIR,
    FUNMAP,
    BamHeader,
    RecordBatch,
    check_bam,
    flag_mask,
)
from biometal.io.bam import iter_bam_batches as _iter_batches
from biometal.kernels import BackendError, resolve_backend
from biometal.kernels.pileup import COLUMNS, NCOL, READ_FIELDS, pileup_accumulate
from biometal.progress import Progress

log = logging.getLogger(__name__)

DEFAULT_EXCLUDE = ("UNMAP", "SECONDARY", "QCFAIL", "DUP")


@dataclass(frozen=True)
class PileupParams:
    """Read and base filters of the pileup, and how it runs.

    min_mapq: drop reads with MAPQ below this (samtools -q). min_baseq: count an entry when
    its base quality >= this (samtools -Q). exclude_flags: drop reads with any of these
    SAM flags (samtools --ff). include_flags: if set, keep only reads with at least one of
    these (samtools --rf). count_orphans: keep paired reads that are not properly paired
    (samtools -A). region_size: reference positions per kernel call (memory bound).
    backend: auto | metal | cpu. threads: numba threads and BGZF inflate threads.
    """

    min_mapq: int = 0
    min_baseq: int = 13
    exclude_flags: tuple[str, ...] = DEFAULT_EXCLUDE
    include_flags: tuple[str, ...] = ()
    count_orphans: bool = False
    region_size: int = 100_000
    backend: str | None = None
    threads: int = 1

    def __post_init__(self) -> None:
        if self.min_mapq < 0 or self.min_baseq < 0:
            raise BiometalError("pileup: min_mapq and min_baseq must be >= 0")
        if self.region_size < 1000:
            raise BiometalError("pileup: region_size must be at least 1000 positions")
        flag_mask(self.exclude_flags)  # validates the names
        flag_mask(self.include_flags)

    @property
    def exclude_mask(self) -> int:
        return flag_mask(self.exclude_flags)

    @property
    def include_mask(self) -> int:
        return flag_mask(self.include_flags)


def samtools_command(bam: str, params: PileupParams, reference: str | None = None) -> list[str]:
    """The ``samtools mpileup`` command whose counts equal this pileup's (every position)."""
    cmd = ["samtools", "mpileup", "-B", "-x", "-d", "0", "-a", "-a"]
    cmd += ["-q", str(params.min_mapq), "-Q", str(params.min_baseq)]
    cmd += ["--ff", str(params.exclude_mask)]
    if params.include_mask:
        cmd += ["--rf", str(params.include_mask)]
    if params.count_orphans:
        cmd.append("-A")
    if reference:
        cmd += ["-f", reference]
    return [*cmd, bam]


@dataclass
class IndelEvents:
    """Indels seen by the pileup: one row per read and event (absolute 0-based anchor).

    pos: reference position of the entry before the indel (the VCF anchor base); length:
    +inserted or -deleted bases; reverse: strand; seqs: inserted bases (uppercase, as
    stored in the BAM) for insertions, "" for deletions.
    """

    pos: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    length: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    reverse: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint8))
    seqs: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.pos)

    @staticmethod
    def concat(parts: list[IndelEvents]) -> IndelEvents:
        parts = [p for p in parts if len(p)]
        if not parts:
            return IndelEvents()
        if len(parts) == 1:
            return parts[0]
        return IndelEvents(
            np.concatenate([p.pos for p in parts]),
            np.concatenate([p.length for p in parts]),
            np.concatenate([p.reverse for p in parts]),
            [s for p in parts for s in p.seqs],
        )

    def slice(self, a: int, b: int) -> IndelEvents:
        """Events ``a:b`` (views of the arrays)."""
        return IndelEvents(self.pos[a:b], self.length[a:b], self.reverse[a:b], self.seqs[a:b])

    def split(self, before: int) -> tuple[IndelEvents, IndelEvents]:
        """(events with pos < before, the rest); both keep their order."""
        if not len(self):
            return IndelEvents(), IndelEvents()
        m = self.pos < before
        if m.all():
            return self, IndelEvents()
        if not m.any():
            return IndelEvents(), self
        idx = np.flatnonzero(m)
        rest = np.flatnonzero(~m)
        return (
            IndelEvents(
                self.pos[idx], self.length[idx], self.reverse[idx], [self.seqs[i] for i in idx]
            ),
            IndelEvents(
                self.pos[rest], self.length[rest], self.reverse[rest], [self.seqs[i] for i in rest]
            ),
        )


@dataclass
class PileupBlock:
    """Final counts of positions ``start .. start + len(counts)`` of contig ``contig``.

    counts: uint32[n, 24] (columns :data:`biometal.kernels.pileup.COLUMNS`); events: the
    indels anchored in the block. Positions between blocks have depth 0. ``covered``: the
    positions of the block that reads passing the read filters cover, ``[pos, end)`` of
    each alignment, as spans int64[2, m] (starts, ends; sorted by start, may overlap):
    what ``samtools mpileup`` prints without ``-a``, with depth 0 where every entry failed
    ``-Q``.
    """

    tid: int
    contig: str
    start: int
    counts: np.ndarray
    events: IndelEvents
    covered: np.ndarray | None = None

    @property
    def end(self) -> int:
        return self.start + len(self.counts)

    def within(self, length: int) -> PileupBlock | None:
        """The block without what lies past the contig's end (``length``): the rows of
        positions >= length and the indels that reach past it (an insertion anchored
        there, a deletion running off the end); None when nothing is left. A read whose
        CIGAR runs past the end (samtools accepts, and piles up, such reads) gives the
        pileup rows there, but a caller has no reference to call them against."""
        if self.end <= length:
            if not len(self.events):
                return self
            ev = self.events
            if (ev.pos + np.maximum(-ev.length, 0) < length).all():
                return self
        if self.start >= length:
            return None
        ev = self.events
        keep = np.flatnonzero(ev.pos + np.maximum(-ev.length, 0) < length)
        events = IndelEvents(
            ev.pos[keep], ev.length[keep], ev.reverse[keep], [ev.seqs[i] for i in keep]
        )
        return PileupBlock(
            self.tid,
            self.contig,
            self.start,
            self.counts[: length - self.start],
            events,
            self.covered,
        )


@dataclass
class _Run:
    """Blocks of one contig that were piled up together: one count table, their rows back
    to back (block ``b`` is rows ``seg_row[b]:seg_row[b + 1]`` and starts at position
    ``seg_pos[b]``). ``events``: the blocks' indels, block by block (those of block ``b``
    are ``ev_seg[b]:ev_seg[b + 1]``); ``ev_row``: the row of each event's position.
    ``covered``: the blocks' covered spans (:class:`PileupBlock`), in position order.
    :meth:`blocks` gives the :class:`PileupBlock` objects one by one.
    """

    tid: int
    contig: str
    counts: np.ndarray  # uint32[rows, NCOL]
    seg_pos: np.ndarray  # int64[k]
    seg_row: np.ndarray  # int64[k + 1]
    events: IndelEvents
    ev_row: np.ndarray  # int64[len(events)]
    ev_seg: np.ndarray  # int64[k + 1]
    covered: np.ndarray  # int64[2, m]
    block: PileupBlock | None = None  # a run of one block: that block

    @staticmethod
    def of_block(block: PileupBlock) -> _Run:
        ev = block.events
        return _Run(
            block.tid,
            block.contig,
            block.counts,
            np.array([block.start], np.int64),
            np.array([0, len(block.counts)], np.int64),
            ev,
            ev.pos - block.start,
            np.array([0, len(ev)], np.int64),
            _NO_SPANS if block.covered is None else block.covered,
            block,
        )

    def blocks(self) -> Iterator[PileupBlock]:
        if self.block is not None:
            yield self.block
            return
        rows, evs = self.seg_row.tolist(), self.ev_seg.tolist()
        # a run's blocks are groups alone on their stretches: each span lies in one block
        cut = np.searchsorted(self.covered[0], self.seg_pos).tolist() + [self.covered.shape[1]]
        for b, start in enumerate(self.seg_pos.tolist()):
            yield PileupBlock(
                self.tid,
                self.contig,
                start,
                self.counts[rows[b] : rows[b + 1]],
                self.events.slice(evs[b], evs[b + 1]),
                self.covered[:, cut[b] : cut[b + 1]],
            )


_NO_SPANS = np.zeros((2, 0), np.int64)


def _covered(sel: np.ndarray) -> np.ndarray:
    """The positions the reads ``sel`` (index table rows of one contig, sorted by position)
    cover, ``[pos, end)`` of each alignment, as merged spans int64[2, m] (starts, ends)."""
    if not len(sel):
        return _NO_SPANS
    pos, end = sel[:, 2], sel[:, 3]
    reach = np.maximum.accumulate(end)
    first = np.empty(len(pos), bool)
    first[0] = True
    np.greater(pos[1:], reach[:-1], out=first[1:])
    idx = np.flatnonzero(first)
    out = np.empty((2, len(idx)), np.int64)
    out[0] = pos[idx]
    out[1, :-1] = reach[idx[1:] - 1]
    out[1, -1] = reach[-1]
    return out


def read_filter(table: np.ndarray, params: PileupParams, *, ref_bases: bool = True) -> np.ndarray:
    """Boolean mask of the records (index table rows) that enter the pileup.

    ``ref_bases`` False: keep reads without reference-consuming CIGAR operations too (the
    indel read support compares them with the haplotypes; the pileup has nothing to add)."""
    flag = table[:, 4]
    keep = (table[:, 1] >= 0) & ((flag & (FUNMAP | params.exclude_mask)) == 0)
    keep &= table[:, 5] >= params.min_mapq
    if ref_bases:
        keep &= table[:, 3] > table[:, 2]  # reads without reference-consuming operations
    if params.include_mask:
        keep &= (flag & params.include_mask) != 0
    if not params.count_orphans:
        keep &= ~(((flag & FPAIRED) != 0) & ((flag & FPROPER_PAIR) == 0))
    return keep


def _read_table(sel: np.ndarray, acc_start: int | np.ndarray) -> np.ndarray:
    """The kernel's read table of ``sel``; positions relative to ``acc_start`` (a number, or
    one per read)."""
    reads = np.empty((len(sel), len(READ_FIELDS)), dtype=np.uint32)
    reads[:, 0] = sel[:, 2] - acc_start
    reads[:, 1] = sel[:, 3] - acc_start
    reads[:, 2] = sel[:, 6]
    reads[:, 3] = sel[:, 7]
    reads[:, 4] = sel[:, 8]
    reads[:, 5] = sel[:, 9]
    reads[:, 6] = sel[:, 10]
    reads[:, 7] = (sel[:, 4] >> 4) & 1
    reads[:, 8] = sel[:, 5]
    return reads


def _events(buf: np.ndarray, reads: np.ndarray, acc_len: int, min_bq: int, offset: int):
    from biometal.pileup._kernels import indel_events

    cap = max(64, len(reads) // 4)
    blob_cap = 4096
    while True:
        ev_pos = np.empty(cap, np.int64)
        ev_len = np.empty(cap, np.int64)
        ev_rev = np.empty(cap, np.uint8)
        ev_off = np.empty(cap, np.int64)
        blob = np.empty(blob_cap, np.uint8)
        n, n_blob = indel_events(buf, reads, acc_len, min_bq, ev_pos, ev_len, ev_rev, ev_off, blob)
        if n >= 0:
            break
        cap *= 4
        blob_cap *= 4
    if n == 0:
        return IndelEvents()
    text = blob[:n_blob].tobytes().decode("ascii")
    lens = ev_len[:n]
    offs = ev_off[:n]
    seqs = [
        text[o : o + ln] if ln > 0 else ""
        for o, ln in zip(offs.tolist(), lens.tolist(), strict=True)
    ]
    return IndelEvents(ev_pos[:n] + offset, lens.copy(), ev_rev[:n].copy(), seqs)


class _Accumulator:
    """The rolling count table of one contig."""

    def __init__(self, capacity: int) -> None:
        self.acc = np.zeros((capacity, NCOL), dtype=np.uint32)
        self.tid = -1
        self.start = 0
        self.used = 0  # rows [0, used) may be non-zero
        self.events: list[IndelEvents] = []
        self.covered: list[np.ndarray] = []  # spans (PileupBlock.covered) not yet taken

    def reset(self, tid: int, start: int) -> None:
        self.acc[: self.used].fill(0)
        self.tid, self.start, self.used = tid, start, 0
        self.events = []
        self.covered = []

    def ensure(self, rows: int) -> None:
        """Room for ``rows`` rows (exactly: a table is allocated per group, see take)."""
        if rows > len(self.acc):
            bigger = np.zeros((rows, NCOL), dtype=np.uint32)
            bigger[: self.used] = self.acc[: self.used]
            self.acc = bigger

    def take(self, upto: int) -> tuple[int, np.ndarray, IndelEvents, np.ndarray]:
        """Remove the rows of positions < ``upto``: (their first position, rows, events,
        covered spans).

        Afterwards the table starts at ``upto`` (positions only move forward).
        """
        first = self.start
        k = min(max(0, upto - self.start), self.used)
        remain = self.used - k
        if k:
            # Hand the rows out without copying them: the caller gets a view of the
            # current table, and counting goes on in a fresh zeroed one that starts with
            # the rows not taken. Nothing else refers to the old table, so a block's
            # counts never change after it is yielded. The fresh table holds only the
            # rows kept; ensure() sizes it for the next group. Allocating the full
            # capacity each time cost a memset of it per block (glibc serves a
            # repeated large calloc from the heap, not from fresh zero pages): 0.2 of
            # 0.8 s on a sparse BAM of 500 sites on a 51 Mb contig.
            rows = self.acc[:k]
            fresh = np.zeros((max(remain, 1), NCOL), np.uint32)
            fresh[:remain] = self.acc[k : self.used]
            self.acc = fresh
        else:
            rows = self.acc[:0].copy()
        self.used = remain
        self.start = max(self.start, upto)
        done, rest = IndelEvents.concat(self.events).split(upto)
        self.events = [rest] if len(rest) else []
        spans = np.concatenate(self.covered, axis=1) if self.covered else _NO_SPANS
        # copies in C order (a boolean index on axis 1 gives Fortran order, whose rows the
        # compiled formatter does not take): safe to clip
        covered = np.ascontiguousarray(spans[:, spans[0] < upto])
        covered[1] = np.minimum(covered[1], upto)
        after = np.ascontiguousarray(spans[:, spans[1] > upto])
        after[0] = np.maximum(after[0], upto)
        self.covered = [after] if after.shape[1] else []
        return first, rows, done, covered


#: An empty stretch of at least this many positions ends a group of reads: the rows
#: before it leave as a block and the table restarts after it, so that blocks cover the
#: stretches where reads are and no one walks, formats or fetches reference for the empty
#: positions between them (a group costs about what formatting this many empty rows does).
MIN_GAP = 4096


#: Groups of at least this many reads are piled up on ``params.threads`` numba threads,
#: smaller ones (a site of a sparse BAM) on one: waking the workers costs more CPU than
#: the few hundred reads take.
PARALLEL_READS = 4096

#: BAMs smaller than this are piled up and formatted on one thread whatever
#: ``params.threads`` says (inflate and compression still use them): numba's import and
#: thread pool cost more than two threads save there. Measured on a 2-core AMD EPYC,
#: ``--threads 1`` vs ``2`` before this rule: the default 50 MB 30x BAM 0.85 vs 1.04 s wall,
#: 0.81 vs 1.27 s CPU (``bench/pileup_density.py --repeats 5 --threads 1,2``, medians); the
#: same reads three times (1.2M reads, ``samtools merge`` of copies) 1.68 vs 1.59 s wall,
#: six times (2.4M) 2.71 vs 2.52 s, for 25-27% more CPU (``/usr/bin/time python -m
#: biometal.pileup BAM REF out.tsv -q 20 -Q 13 --threads N``, one run each). The counts
#: are the same either way.
PARALLEL_BAM_BYTES = 512 << 20


def kernel_threads(params: PileupParams, bam: str | os.PathLike) -> int:
    """Threads of the pileup and formatting kernels for ``bam`` (see PARALLEL_BAM_BYTES)."""
    if params.threads <= 1:
        return 1
    try:
        big = os.path.getsize(bam) >= PARALLEL_BAM_BYTES
    except OSError:
        big = True
    return params.threads if big else 1


def _cut_at_gap(sel: np.ndarray, i: int, j: int, covered_end: int) -> int:
    """End of the group ``sel[i:j]`` cut before its first empty stretch of >= MIN_GAP.

    ``covered_end``: the end of what the table holds (or the group's first start).
    Reads are sorted by start; the stretch before read k is empty when its start is at
    least MIN_GAP past the largest end of the reads before it (and of the table).
    """
    if j - i < 2:
        return j
    starts = sel[i + 1 : j, 2]
    ends = np.maximum.accumulate(sel[i : j - 1, 3])
    np.maximum(ends, covered_end, out=ends)
    gaps = np.flatnonzero(starts - ends >= MIN_GAP)
    return i + 1 + int(gaps[0]) if len(gaps) else j


def _blocks(header: BamHeader, acc: _Accumulator, upto: int) -> Iterator[_Run]:
    tid = acc.tid
    first, rows, events, covered = acc.take(upto)
    if len(rows):
        yield _Run.of_block(PileupBlock(tid, header.names[tid], first, rows, events, covered))


class _RunTable:
    """Where a run's counts go: a fresh table each time, or (``reuse``, for a consumer
    that is done with a run before it asks for the next) one table of ``capacity`` rows,
    zeroed where it was used and handed out again: no allocation, and no page faults on
    fresh memory, per run."""

    def __init__(self, capacity: int, reuse: bool) -> None:
        self.capacity = capacity
        self.reuse = reuse
        self.table: np.ndarray | None = None
        self.dirty = 0  # rows [0, dirty) may be non-zero

    def get(self, rows: int) -> np.ndarray:
        if not self.reuse or rows > self.capacity:
            return np.zeros((rows, NCOL), np.uint32)
        if self.table is None:
            self.table = np.zeros((self.capacity, NCOL), np.uint32)
        self.table[: min(rows, self.dirty)].fill(0)  # fill: twice as fast as [:] = 0
        self.dirty = max(self.dirty, rows)
        return self.table[:rows]


def _pile_run(
    data: np.ndarray,
    sel: np.ndarray,
    groups: list[tuple[int, int, int, int]],
    tid: int,
    contig: str,
    tables: _RunTable,
    min_bq: int,
    backend: str,
) -> _Run:
    """Pile up the groups ``(i, j, first position, end)`` of ``sel`` (consecutive, each
    alone on its stretch) in one table, their rows back to back, with one kernel call."""
    k = len(groups)
    i0, j1 = groups[0][0], groups[-1][1]
    seg_pos = np.array([g[2] for g in groups], np.int64)
    seg_row = np.zeros(k + 1, np.int64)
    np.cumsum([g[3] - g[2] for g in groups], out=seg_row[1:])
    counts = tables.get(int(seg_row[-1]))
    shift = np.repeat(seg_pos - seg_row[:-1], [g[1] - g[0] for g in groups])
    reads = _read_table(sel[i0:j1], shift)
    # on the calling thread: the groups are small (PARALLEL_READS), and the run of them
    # is one site after another (waking numba's workers for it cost a sparse BAM 0.15 s
    # more CPU at 2 threads, for 0.03 s less wall time)
    pileup_accumulate(data, reads, counts, min_bq, backend=backend, threads=1)
    ev = _events(data, reads, len(counts), min_bq, 0)  # positions: rows of counts
    ev_row = ev.pos
    # the events come read by read, so block by block
    seg = np.searchsorted(seg_row, ev_row, side="right") - 1
    ev.pos = ev_row - seg_row[seg] + seg_pos[seg]
    ev_seg = np.searchsorted(seg, np.arange(k + 1))
    covered = _covered(sel[i0:j1])
    return _Run(tid, contig, counts, seg_pos, seg_row, ev, ev_row, ev_seg, covered)


#: BAM nibble of each ASCII reference letter (A 1, C 2, G 4, T 8, either case; others 15)
_NT16_OF = np.full(256, 15, np.uint8)
for _code, _letters in ((1, b"Aa"), (2, b"Cc"), (4, b"Gg"), (8, b"Tt")):
    _NT16_OF[list(_letters)] = _code


class _EqBases:
    """SEQ's '=' bases ("the reference base", as ``samtools calmd -e`` writes them) made the
    reference's base before the pileup counts them, as samtools mpileup counts them (they
    were counted as N). A batch without any (one compiled pass over the packed bases,
    10-14 ms for the 400k records of the dense 50 MB BAM, timed around ``eq_base_rows``)
    is handed on as it is; one with some is copied (the batch's bytes are read-only) and
    its '=' bases filled, with the reference of the span of the reads that have them
    fetched through the ``.fai``."""

    def __init__(self, reference: str | os.PathLike, header: BamHeader) -> None:
        self.reference, self.header = reference, header
        self.fa = None

    def __call__(self, data: np.ndarray, sel: np.ndarray) -> np.ndarray:
        from biometal.pileup._kernels import eq_base_rows, fill_eq_bases

        rows = eq_base_rows(data, sel)
        if not len(rows):
            return data
        if self.fa is None:
            from biometal.io.reference import IndexedFasta

            self.fa = IndexedFasta(self.reference)
        data = data.copy()
        tids = sel[rows, 1]
        for tid in np.unique(tids).tolist():
            sub = np.ascontiguousarray(rows[tids == tid])
            lo, hi = int(sel[sub, 2].min()), int(sel[sub, 3].max())
            text = self.fa.fetch(self.header.names[tid], lo, hi)
            codes = _NT16_OF[np.frombuffer(text.encode("ascii", "replace"), np.uint8)]
            fill_eq_bases(data, sel, sub, np.ascontiguousarray(codes), lo)
        data.flags.writeable = False  # as the batch's own bytes (the kernels' signature)
        return data


def _iter_runs(
    bam: str | os.PathLike,
    params: PileupParams | None = None,
    *,
    reference: str | os.PathLike | None = None,
    header: BamHeader | None = None,
    read_bytes: int = 4 << 20,
    batches: Iterable[RecordBatch] | None = None,
    reuse: bool = False,
) -> Iterator[_Run]:
    """:func:`iter_pileup`'s blocks, as runs of blocks that share one count table.

    A group of reads that is small (under :data:`PARALLEL_READS` reads) and alone on its
    stretch (an empty stretch before and after it, or another contig) needs no rows of its
    neighbours: runs of such groups (a sparse BAM's sites) are piled up together, their
    rows back to back in one table of at most ``region_size + 1024`` rows, with one kernel
    call, instead of one call and a few allocations per group. Any other group goes through
    the rolling table, one block per run. The blocks, their counts and events are the
    same either way. ``reuse``: the caller is done with each run before it asks for the
    next, so the runs' table may be reused.
    """
    params = params or PileupParams()
    try:
        backend = resolve_backend(params.backend)
    except BackendError as exc:
        raise BiometalError(str(exc)) from None
    header = header or check_bam(bam, reference)
    acc = _Accumulator(params.region_size + 1024)
    region = params.region_size
    run_cap = params.region_size + 1024  # rows of a run's table, like the rolling one
    tables = _RunTable(run_cap, reuse)
    min_bq = params.min_baseq
    n_reads = n_kept = 0
    contig_start = np.concatenate([[0], np.cumsum(header.lengths, dtype=np.int64)]).tolist()
    progress = Progress(log, f"pileup of {bam}", total=contig_start[-1], unit="bp")
    if batches is None:
        batches = _iter_batches(bam, header, read_bytes=read_bytes, threads=params.threads)
    n_threads = kernel_threads(params, bam)
    eq_bases = _EqBases(reference, header) if reference is not None else None

    def pile(data: np.ndarray, sel: np.ndarray, groups: list, tid: int) -> _Run:
        return _pile_run(data, sel, groups, tid, header.names[tid], tables, min_bq, backend)

    for batch in batches:
        table = batch.table
        n_reads += len(table)
        last_tid = int(table[-1, 1])
        if last_tid >= 0:  # reference bp before the batch's last record (unplaced reads: -1)
            progress.set(contig_start[last_tid] + int(table[-1, 2]), f"{n_reads:,} records")
        sel = table[read_filter(table, params)]
        n_kept += len(sel)
        data = batch.data if eq_bases is None else eq_bases(batch.data, sel)
        n_sel = len(sel)
        run: list[tuple[int, int, int, int]] = []  # groups piled up together, (i, j, g0, end)
        run_tid = run_rows = 0
        i = 0
        while i < n_sel:
            tid = int(sel[i, 1])
            g0 = int(sel[i, 2])
            # the group: same contig, start < g0 + region (sel is sorted by (tid, pos);
            # positions are sorted only within a contig, so find the contig's run first)
            tid_end = i + int(np.searchsorted(sel[i:, 1], tid, side="right"))
            j = i + int(np.searchsorted(sel[i:tid_end, 2], g0 + region, side="left"))
            # (while a run is open the table is empty: acc.tid is -1)
            j = _cut_at_gap(sel, i, j, max(g0, acc.start + acc.used) if tid == acc.tid else g0)
            end = int(sel[i:j, 3].max())
            alone = (
                j - i < PARALLEL_READS
                and end - g0 <= run_cap
                and (tid != acc.tid or g0 >= acc.start + acc.used)  # nothing before it to share
                # nothing after it either (the batch's last group may go on in the next)
                and j < n_sel
                and (j == tid_end or int(sel[j, 2]) >= end)
            )
            if alone:
                if run and (tid != run_tid or run_rows + end - g0 > run_cap):
                    yield pile(data, sel, run, run_tid)
                    run = []
                if not run:
                    if acc.tid >= 0:  # the table's rows are all final
                        yield from _blocks(header, acc, acc.start + acc.used)
                        acc.reset(-1, 0)
                    run_tid, run_rows = tid, 0
                run.append((i, j, g0, end))
                run_rows += end - g0
                i = j
                continue
            if run:
                yield pile(data, sel, run, run_tid)
                run = []
            group = sel[i:j]
            if tid != acc.tid:
                if acc.tid >= 0:
                    yield from _blocks(header, acc, acc.start + acc.used)
                acc.reset(tid, g0)
            else:
                yield from _blocks(header, acc, g0)
            need = end - acc.start
            acc.ensure(need)
            reads = _read_table(group, acc.start)
            # a small group on the calling thread (see PARALLEL_READS); same counts
            threads = n_threads if len(group) >= PARALLEL_READS else 1
            pileup_accumulate(data, reads, acc.acc, min_bq, backend=backend, threads=threads)
            ev = _events(data, reads, len(acc.acc), min_bq, acc.start)
            if len(ev):
                acc.events.append(ev)
            acc.covered.append(_covered(group))
            acc.used = max(acc.used, need)
            i = j
        if run:  # not reached: a run ends before the batch's last group
            yield pile(data, sel, run, run_tid)
    if acc.tid >= 0:
        yield from _blocks(header, acc, acc.start + acc.used)
    progress.n = contig_start[-1]
    progress.done(f"{n_reads:,} records, {n_kept:,} passed the read filters")


def iter_pileup(
    bam: str | os.PathLike,
    params: PileupParams | None = None,
    *,
    reference: str | os.PathLike | None = None,
    header: BamHeader | None = None,
    read_bytes: int = 4 << 20,
    batches: Iterable[RecordBatch] | None = None,
) -> Iterator[PileupBlock]:
    """Stream the pileup of a BAM as :class:`PileupBlock` objects, in coordinate order.

    The BAM is validated first (:func:`biometal.io.bam.check_bam`, against ``reference``
    when given). ``batches``: the records to pile up (coordinate-sorted, e.g. only those of
    some regions, read through the index) instead of the whole BAM. Blocks cover every
    position with at least one counted entry (and may include depth-0 positions; their
    ``covered`` spans say which of those reads cover); positions outside every block have
    depth 0.
    """
    for run in _iter_runs(
        bam, params, reference=reference, header=header, read_bytes=read_bytes, batches=batches
    ):
        yield from run.blocks()


def pileup_arrays(
    bam: str | os.PathLike,
    contig: str,
    params: PileupParams | None = None,
    *,
    reference: str | os.PathLike | None = None,
) -> tuple[np.ndarray, IndelEvents]:
    """Whole-contig counts uint32[contig_length, 24] and its indel events (for tests/small data)."""
    header = check_bam(bam, reference)
    if contig not in header.names:
        raise BiometalError(f"{bam}: no contig '{contig}' in the BAM header")
    tid = header.names.index(contig)
    out = np.zeros((header.lengths[tid], NCOL), dtype=np.uint32)
    events: list[IndelEvents] = []
    for block in iter_pileup(bam, params, reference=reference, header=header):
        if block.tid == tid:
            n = min(len(block.counts), len(out) - block.start)
            out[block.start : block.start + n] = block.counts[:n]
            events.append(block.events)
    return out, IndelEvents.concat(events)


__all__ = [
    "COLUMNS",
    "IndelEvents",
    "PileupBlock",
    "PileupParams",
    "iter_pileup",
    "pileup_arrays",
    "read_filter",
    "samtools_command",
]
