"""Files in, a table out: pairwise alignment of the records of FASTA/FASTQ files.

- :func:`iter_sequence_batches`: the records of a FASTA or FASTQ file (plain, gzip, URL or
  ``-`` for standard input; the format is taken from the first byte) as batches of
  ``(ids, SequenceBatch)``, in bounded memory.
- :func:`align_files`: query ``i`` against target ``i`` (or every query against the one
  target record when the target file holds exactly one) through :func:`align_batch`, written
  as a TSV (:data:`ALIGN_COLUMNS`) atomically, or to standard output for ``-``.
"""

from __future__ import annotations

import itertools
import logging
import os
import time
from collections.abc import Iterator

import numpy as np

from biometal.align.core import SequenceBatch, align_batch
from biometal.align.scoring import AlignError, Scoring
from biometal.io.fastx import read_fastx
from biometal.io.sinks import output_sink
from biometal.io.sources import display_name

log = logging.getLogger(__name__)

#: columns of :func:`align_files`' TSV, in order (coordinates 0-based, half-open).
ALIGN_COLUMNS: tuple[tuple[str, str], ...] = (
    ("query", "query ID (header up to the first whitespace)"),
    ("target", "target ID"),
    ("score", "alignment score"),
    ("query_start", "first aligned query base (0-based; -1: unknown without traceback)"),
    ("query_end", "one past the last aligned query base"),
    ("target_start", "first aligned target base (0-based; -1: unknown without traceback)"),
    ("target_end", "one past the last aligned target base"),
    ("query_length", "query length (bases)"),
    ("target_length", "target length (bases)"),
    ("cigar", "CIGAR with = X I D (and S for local), '*' without traceback"),
)

#: most target bases held for one batch when one target is aligned against every query.
BROADCAST_BASES = 1 << 26


def iter_sequence_batches(
    path: str | os.PathLike, batch: int = 4096
) -> Iterator[tuple[list[str], SequenceBatch]]:
    """Records of a FASTA/FASTQ file in batches of up to ``batch``: (IDs, sequences).

    Errors: :class:`~biometal.errors.InputFormatError` (``path:line: what``) for malformed
    input, :class:`~biometal.io.InputSourceError` for a missing or unreadable file.
    """
    if batch < 1:
        raise AlignError(f"batch must be >= 1, got {batch}")
    records = read_fastx(path)
    while True:
        part = list(itertools.islice(records, batch))
        if not part:
            return
        ids = [r.id for r in part]
        seqs = SequenceBatch.from_sequences([r.seq for r in part])
        del part
        yield ids, seqs


def _repeat(seq: np.ndarray, n: int) -> SequenceBatch:
    """``n`` copies of one sequence as a batch."""
    offsets = np.arange(n + 1, dtype=np.int64) * len(seq)
    return SequenceBatch(np.tile(seq, n).astype(np.uint8, copy=False), offsets)


def _batch(records: list) -> tuple[list[str], SequenceBatch]:
    return [r.id for r in records], SequenceBatch.from_sequences([r.seq for r in records])


def _pairs(
    queries: str | os.PathLike, targets: str | os.PathLike, batch: int
) -> Iterator[tuple[list[str], SequenceBatch, list[str], SequenceBatch]]:
    """Batches of (query IDs, queries, target IDs, targets) to align pair by pair."""
    t_records = read_fastx(targets)
    head = list(itertools.islice(t_records, 2))
    if not head:
        raise AlignError(f"{display_name(targets)}: no target sequences")
    if len(head) == 1:  # one target: every query against it
        t_id, t_seq = _batch(head)
        per_batch = max(1, min(batch, BROADCAST_BASES // max(1, len(t_seq[0]))))
        for q_ids, q in iter_sequence_batches(queries, per_batch):
            yield q_ids, q, t_id * len(q_ids), _repeat(t_seq[0], len(q_ids))
        return
    pairs = itertools.zip_longest(read_fastx(queries), itertools.chain(head, t_records))
    n = 0
    while part := list(itertools.islice(pairs, batch)):
        if part[-1][0] is None or part[-1][1] is None:
            n_q = n + sum(q is not None for q, _ in part)
            n_t = n + sum(t is not None for _, t in part)
            if part[-1][0] is None:
                n_t += sum(1 for _ in pairs)
            else:
                n_q += sum(1 for _ in pairs)
            raise AlignError(
                f"{display_name(queries)} has {n_q} records but {display_name(targets)} has "
                f"{n_t}: query i is aligned to target i (or give one target record to align "
                "every query against it)"
            )
        n += len(part)
        yield (*_batch([q for q, _ in part]), *_batch([t for _, t in part]))


def align_files(
    queries: str | os.PathLike,
    targets: str | os.PathLike,
    out: str | os.PathLike,
    *,
    scoring: Scoring | None = None,
    mode: str = "local",
    band: int | None = None,
    traceback: bool = True,
    batch: int = 4096,
    backend: str | None = None,
    threads: int | None = None,
) -> dict[str, float]:
    """Align the records of ``queries`` to those of ``targets`` (FASTA or FASTQ, ``-`` for
    standard input) and write one TSV row per pair (:data:`ALIGN_COLUMNS`, with a header
    line) to ``out`` (atomic, gzip by suffix; ``-``: standard output).

    Pairs: query ``i`` with target ``i`` (the files must hold as many records), or every
    query with the target when the target file holds one record. ``scoring``, ``mode``,
    ``band``, ``traceback``, ``backend``, ``threads``: as :func:`align_batch`. Returns the
    number of pairs and the run time.
    """
    t0 = time.perf_counter()
    n = 0
    with output_sink(out) as sink:
        sink.write(("\t".join(name for name, _ in ALIGN_COLUMNS) + "\n").encode())
        for q_ids, q, t_ids, t in _pairs(queries, targets, batch):
            res = align_batch(
                q, t, scoring, mode, band, traceback, backend=backend, threads=threads
            )
            cigars = res.cigars if res.cigars is not None else ["*"] * len(res)
            rows = zip(
                q_ids,
                t_ids,
                res.score.tolist(),
                res.query_start.tolist(),
                res.query_end.tolist(),
                res.target_start.tolist(),
                res.target_end.tolist(),
                q.lengths.tolist(),
                t.lengths.tolist(),
                (c or "*" for c in cigars),
                strict=True,
            )
            sink.write("".join("\t".join(map(str, r)) + "\n" for r in rows).encode())
            n += len(q_ids)
    seconds = time.perf_counter() - t0
    log.info("aligned %d pairs (%s) in %.2f s", n, mode, seconds)
    return {"pairs": n, "seconds": seconds}


__all__ = ["ALIGN_COLUMNS", "align_files", "iter_sequence_batches"]
