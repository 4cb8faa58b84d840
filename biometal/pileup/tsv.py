"""The pileup as a TSV with a documented header: bgzipped and tabix-compatible (``.gz``
or ``.bgz``), or plain text (any other name, or ``-`` for standard output).

Layout: ``##`` lines describe the source, the filters, the equivalent ``samtools mpileup``
command and every column; then one ``#chrom ...`` header line; then one row per reference
position that a read passing the read filters covers, as ``samtools mpileup`` prints them
(depth 0 where every entry failed ``-Q``; every position of every contig with
``all_positions``), sorted by contig (BAM header order) and position. Index it with
``tabix -s1 -b2 -e2 file.tsv.gz``.
"""

from __future__ import annotations

import bisect
import logging
import os
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from biometal.io.bam import check_bam
from biometal.io.bgzf import BgzfWriter
from biometal.io.sinks import OutputFile, StdoutSink, is_stdout
from biometal.pileup.engine import (
    IndelEvents,
    PileupBlock,
    PileupParams,
    _iter_runs,
    _Run,
    kernel_threads,
)
from biometal.pileup.engine import samtools_command as _samtools_command

log = logging.getLogger(__name__)

#: (name, description) of every column of the TSV, in order.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("chrom", "contig name"),
    ("pos", "1-based reference position"),
    ("ref", "reference base (upper case)"),
    ("depth", "pileup entries that passed the filters: bases + del + skip (samtools column 4)"),
    ("A", "A bases, both strands"),
    ("C", "C bases, both strands"),
    ("G", "G bases, both strands"),
    ("T", "T bases, both strands"),
    ("N", "N and other IUPAC codes"),
    ("del", "reads with a deletion over this position (samtools '*')"),
    ("skip", "reads with a reference skip (CIGAR N) over this position (samtools '>' '<')"),
    ("ins", "reads with an insertion after this position (samtools '+n')"),
    ("delstart", "reads with a deletion starting after this position (samtools '-n')"),
    ("fwd", "entries (bases, del, skip) on the forward strand"),
    ("rev", "entries on the reverse strand (fwd + rev = depth)"),
    ("mean_bq", "mean base quality of the A/C/G/T/N bases, 1 decimal ('.' if none)"),
    ("mean_mq", "mean MAPQ of all entries, 1 decimal ('.' if none)"),
    (
        "indels",
        "indel alleles after this position with read counts, most frequent first: "
        "+SEQ:n inserted bases, -SEQ:n deleted reference bases ('.' if none)",
    ),
)


def header_text(bam: str, reference: str | None, params: PileupParams) -> str:
    """The ``##`` lines and the ``#chrom`` column line."""
    cmd = " ".join(_samtools_command(Path(bam).name, params, reference and Path(reference).name))
    lines = [
        "##biometal_pileup=1",
        f"##source={bam}",
        f"##reference={reference or '.'}",
        f"##filters=min_mapq:{params.min_mapq};min_baseq:{params.min_baseq};"
        f"exclude_flags:{','.join(params.exclude_flags) or '-'};"
        f"include_flags:{','.join(params.include_flags) or '-'};"
        f"count_orphans:{str(params.count_orphans).lower()};"
        "overlapping_mates:both_counted;baq:off",
        f"##samtools_equivalent={cmd}",
    ]
    lines += [f"##column={name}: {desc}" for name, desc in COLUMNS]
    lines.append("#" + "\t".join(name for name, _ in COLUMNS))
    return "\n".join(lines) + "\n"


def indel_strings(events: IndelEvents, ref_seq: bytes, ref_start: int) -> dict[int, str]:
    """position -> ``indels`` column text (``+AG:3,-C:1``) for the events of a block.

    ``ref_seq`` holds the reference from ``ref_start`` on, far enough for every deletion.
    """
    if not len(events):
        return {}

    def deleted(pos: int, n: int) -> bytes:
        s = pos + 1 - ref_start
        return ref_seq[s : s + n]

    return _indel_texts(events.pos.tolist(), events, deleted)


def _indel_texts(keys: list[int], events: IndelEvents, deleted) -> dict[int, str]:
    """key -> ``indels`` column text for the events, grouped by ``keys`` (one per event:
    its position, or its row). ``deleted(key, n)``: the n reference bases after the key's
    position (the bases a deletion there removes)."""
    counts = Counter(zip(keys, events.length.tolist(), events.seqs, strict=True))
    by_key: dict[int, list[tuple[int, str]]] = {}
    for (key, length, seq), n in counts.items():
        allele = "+" + seq if length > 0 else "-" + deleted(key, -length).decode("ascii")
        by_key.setdefault(key, []).append((n, allele))
    return {
        key: ",".join(f"{a}:{n}" for n, a in sorted(items, key=lambda x: (-x[0], x[1])))
        for key, items in by_key.items()
    }


class _Reference:
    """Reference letters by contig and range (upper case; biometal.io.reference.IndexedFasta)."""

    def __init__(self, path: str | None) -> None:
        self._fa = None
        if path:
            from biometal.io.reference import IndexedFasta

            self._fa = IndexedFasta(path)

    def fetch(self, contig: str, start: int, end: int) -> bytes:
        if self._fa is None:
            return b"N" * (end - start)
        seq = self._fa.fetch(contig, max(0, start), end).upper().encode("ascii")
        return seq + b"N" * (end - start - len(seq))


#: A run with a block of at least this many rows is formatted on ``threads`` threads, a run
#: of smaller blocks on the calling thread: waking numba's workers for a few thousand rows
#: costs more CPU than it saves (a sparse BAM's blocks are one site each), and so does a run
#: of them (sparse shape, 2 threads: 0.15 s more CPU for 0.03 s less wall time). The text is
#: the same either way.
PARALLEL_ROWS = 32_768


def _format_run(
    run: _Run,
    ref: _Reference,
    keep_zero: bool,
    threads: int = 1,
    buffer: list[np.ndarray] | None = None,
) -> tuple[list[memoryview], int]:
    """(TSV rows of the run's blocks as buffers, number of rows): one call of the
    formatting kernel for all of them. Depth-0 rows: those the run's reads cover
    (``run.covered``), or every row with ``keep_zero``.

    ``buffer``: a one-item list holding an output array to reuse (grown as needed; the
    caller writes the returned buffers out before the next call), or None: a fresh one.
    """
    from biometal.pileup._kernels import format_rows

    contig, counts, seg_pos, seg_row = run.contig, run.counts, run.seg_pos, run.seg_row
    n = len(counts)
    starts, rows = seg_pos.tolist(), seg_row.tolist()
    if len(starts) == 1:
        ref_rows = ref.fetch(contig, starts[0], starts[0] + n)
    else:
        ref_rows = b"".join(
            ref.fetch(contig, p, p + rows[b + 1] - rows[b]) for b, p in enumerate(starts)
        )
    indel_row = _NO_ROWS
    indel_off = _NO_OFFSETS
    blob = b""
    if len(run.events):
        ev_rows = run.ev_row.tolist()

        def deleted(row: int, k: int) -> bytes:
            b = bisect.bisect_right(rows, row) - 1  # the row's block
            if row + 1 + k <= rows[b + 1]:  # inside the block (always, in a run's blocks)
                return ref_rows[row + 1 : row + 1 + k]
            p = starts[b] + row - rows[b] + 1
            return ref.fetch(contig, p, p + k)

        texts = _indel_texts(ev_rows, run.events, deleted)
        keys = sorted(texts)
        indel_row = np.array(keys, np.int64)
        parts = [texts[r].encode("ascii") for r in keys]
        indel_off = np.zeros(len(keys) + 1, np.int64)
        np.cumsum([len(t) for t in parts], out=indel_off[1:])
        blob = b"".join(parts)
    chrom = np.frombuffer(contig.encode(), np.uint8)
    # bytes per row: contig, position (<= 11 digits), ref, 13 counts (int64 sums of uint32
    # columns: <= 20 digits each, whatever the depth), two means (<= 6 bytes), separators.
    # A worst-case bound costs nothing (np.empty pages that are never written stay
    # unmapped); measuring the block's largest depth took 0.077 of 0.82 s (cProfile of
    # write_pileup_tsv on the default 2 Mb / 30x BAM, 2 threads).
    per_row = len(chrom) + 40 + 13 * 21
    size = n * per_row + len(blob) + 16
    if buffer is None:
        out = np.empty(size, np.uint8)
    else:
        if len(buffer[0]) < size:
            buffer[0] = np.empty(max(size, 2 * len(buffer[0])), np.uint8)
        out = buffer[0][:size]
    # read-only like ref_codes whether or not there is text: one compiled signature
    text = np.frombuffer(blob or b"\0", np.uint8)
    ref_codes = np.frombuffer(ref_rows, np.uint8)
    zero_from, zero_to = _EVERYWHERE if keep_zero else run.covered
    args = (chrom, seg_pos, seg_row, counts, ref_codes, indel_row, text, indel_off)
    if threads > 1 and int(np.diff(seg_row).max()) >= PARALLEL_ROWS:
        from biometal.pileup._kernels import format_rows_parallel

        chunks = threads
        _, region, used, nrows = format_rows_parallel(
            *args, zero_from, zero_to, out, chunks, per_row
        )
        parts = [out[region[j] : region[j] + used[j]] for j in range(chunks)]
        return [memoryview(p) for p in parts if len(p)], int(nrows.sum())
    used, nrows = format_rows(*args, zero_from, zero_to, out)
    return [memoryview(out[:used])], int(nrows)


_NO_ROWS = np.zeros(0, np.int64)
_NO_OFFSETS = np.zeros(1, np.int64)
_EVERYWHERE = np.array([[-1], [1 << 62]], np.int64)  # one span holding every position


def is_compressed(out: str | os.PathLike) -> bool:
    """True when ``out`` names a BGZF file (``.gz`` or ``.bgz``); else the TSV is plain text."""
    return os.fspath(out).endswith((".gz", ".bgz"))


def _sink(out: str | os.PathLike, level: int, threads: int) -> BgzfWriter | OutputFile | StdoutSink:
    if is_stdout(out):
        return StdoutSink()
    if is_compressed(out):
        return BgzfWriter(out, level=level, threads=threads)
    return OutputFile(out, gz=False)


def write_pileup_tsv(
    bam: str | os.PathLike,
    out: str | os.PathLike,
    params: PileupParams | None = None,
    *,
    reference: str | os.PathLike | None = None,
    all_positions: bool = False,
    compresslevel: int = 1,
    blocks: Iterable[PileupBlock] | None = None,
) -> dict[str, float]:
    """Pileup of ``bam`` into the TSV ``out`` (atomic): bgzipped when the name ends in
    ``.gz`` or ``.bgz``, else plain text (as ``samtools mpileup`` writes); ``-``: the plain
    TSV on standard output. Returns run statistics.

    ``all_positions``: also write depth-0 positions (every position of every contig, like
    ``samtools mpileup -aa``). ``blocks``: an already running :func:`iter_pileup` (else one
    is started). Compression runs on ``params.threads`` threads.
    """
    params = params or PileupParams()
    t0 = time.perf_counter()
    header = check_bam(bam, reference)
    ref = _Reference(str(reference) if reference else None)
    runs = (
        (_Run.of_block(b) for b in blocks)
        if blocks is not None
        else _iter_runs(bam, params, reference=reference, header=header, reuse=True)
    )
    n_rows = n_blocks = 0
    zero = np.zeros((params.region_size, 24), np.uint32)
    empty = IndelEvents()
    sink = _sink(out, compresslevel, params.threads)
    threads = kernel_threads(params, bam)  # of the formatting kernel
    # A plain file or standard output has taken each write when it returns, so one output
    # buffer serves every block (no fresh pages to fault in per block); the BGZF writer
    # keeps views of what it was given until it compresses them.
    buffer = None if isinstance(sink, BgzfWriter) else [np.empty(0, np.uint8)]

    def write_run(writer: BgzfWriter, run: _Run, keep_zero: bool, threads: int) -> int:
        parts, n = _format_run(run, ref, keep_zero, threads, buffer)
        for part in parts:
            writer.write(part)
        return n

    def gap(writer: BgzfWriter, contig: str, a: int, b: int) -> int:
        """Depth-0 rows of positions [a, b) (all_positions); returns how many."""
        rows = 0
        for s in range(a, b, len(zero)):
            e = min(b, s + len(zero))
            block = PileupBlock(-1, contig, s, zero[: e - s], empty)
            rows += write_run(writer, _Run.of_block(block), True, 1)  # as before: 1 thread
        return rows

    with sink as writer:
        writer.write(header_text(str(bam), str(reference) if reference else None, params).encode())
        tid, pos = 0, 0  # next position not yet written (all_positions)
        for run in runs:
            if not all_positions:
                # the run's blocks in one go (a sparse BAM's sites: many small blocks)
                n_rows += write_run(writer, run, False, threads)
                n_blocks += len(run.seg_pos)
                continue
            for block in run.blocks():
                while tid < block.tid:
                    n_rows += gap(writer, header.names[tid], pos, header.lengths[tid])
                    tid, pos = tid + 1, 0
                n_rows += gap(writer, block.contig, pos, block.start)
                pos = block.end
                n_rows += write_run(writer, _Run.of_block(block), True, threads)
                n_blocks += 1
        if all_positions:
            while tid < len(header.names):
                n_rows += gap(writer, header.names[tid], pos, header.lengths[tid])
                tid, pos = tid + 1, 0
    seconds = time.perf_counter() - t0
    log.info("pileup TSV %s: %d rows in %d blocks, %.2f s", out, n_rows, n_blocks, seconds)
    return {"rows": n_rows, "blocks": n_blocks, "seconds": seconds}
