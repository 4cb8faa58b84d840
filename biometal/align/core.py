"""Batch pairwise alignment: ``align_batch(queries, targets, scoring, mode, band, traceback)``.

One call aligns query p against target p for every p, on the configured compute backend
(``biometal.kernels.smith_waterman``: a numba kernel vectorised across the batch on the
CPU, one GPU thread per pair on Metal). Conventions (all checked against parasail 1.3.4):

=============  ====================================================  =================
mode           what is aligned                                       parasail
=============  ====================================================  =================
local          best-scoring parts of both (Smith-Waterman)           ``sw_*``
global         both sequences end to end (Needleman-Wunsch)          ``nw_*``
semiglobal     the whole query within the target (target ends free)  ``sg_dx_*``
extension      both anchored at their starts, query to its end, the  ``sg_de_*``
               target end free (seed extension)
=============  ====================================================  =================

- Gaps: a gap of length k costs ``gap_open + (k - 1) * gap_extend`` (:class:`Scoring`).
- ``band=w``: only cells with ``|i - j| <= w`` (i, j = query and target prefix lengths),
  widened where it could not reach the end cell (global: ``max(w, |lq - lt|)``;
  semiglobal/extension: ``max(w, lq - lt)``).
- Coordinates: 0-based, half-open. End cell ties go to the smallest target end, then the
  smallest query end (parasail's rule). Without traceback the start of a local alignment
  (and the target start of a semiglobal one) is unknown: -1. A local alignment scoring 0
  is empty (all coordinates 0, CIGAR all soft clip).
- CIGAR (traceback): ``=`` ``X`` ``I`` ``D``, plus ``S`` soft clips for local alignments;
  it re-scores to the reported score (:func:`biometal.align.score_cigar`). Among equally
  good paths it prefers (at each cell, walking back from the end) stopping (local), the
  diagonal, a gap in the query, a gap in the target, and opening over extending a gap.
- As in parasail, a semiglobal/extension alignment of a non-empty query against a non-empty
  target ends at a target position >= 1; an empty query aligns to nothing (score 0).
- Sequences of any length (0 included) in any mix; the result of a pair does not depend on
  the rest of the batch.
- Many reads against one target: pass ``targets=[target]`` (one target, broadcast to every
  query). Local score-only alignment then runs in lane groups of 128 queries (bytes, reads
  up to 256 bp) or 64 (int16) with the target streamed through them (the kernels' "shared"
  layout, picked by the cost model;
  the same happens when all n targets are equal); results are the same as pair by pair.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from biometal.align.scoring import AlignError, Scoring
from biometal.io.encoding import ENCODE_LUT
from biometal.kernels import BackendError
from biometal.kernels import smith_waterman as _sw

MODES = _sw.MODES


@dataclass(frozen=True)
class SequenceBatch:
    """Sequences as the kernels take them: ``codes`` uint8 (A=0 C=1 G=2 T=3 N=4), all
    concatenated, and ``offsets`` int64[n+1] (sequence p is ``codes[offsets[p]:offsets[p+1]]``),
    like :class:`biometal.io.ReadChunk`."""

    codes: np.ndarray
    offsets: np.ndarray

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        """int64[n]: sequence lengths."""
        return np.diff(self.offsets)

    def __getitem__(self, p: int) -> np.ndarray:
        return self.codes[self.offsets[p] : self.offsets[p + 1]]

    @classmethod
    def from_sequences(cls, seqs: Sequence[str | bytes | bytearray | np.ndarray]) -> SequenceBatch:
        """Encode str/bytes (any case; letters other than ACGT become N) or take uint8 code
        arrays (values 0..4) as they are."""
        if all(isinstance(s, str) for s in seqs):  # fast path: one encode for the batch
            offsets = np.zeros(len(seqs) + 1, np.int64)
            np.cumsum([len(s) for s in seqs], out=offsets[1:])
            data = "".join(seqs).encode("ascii", "replace")  # one byte per character
            return cls(ENCODE_LUT[np.frombuffer(data, np.uint8)], offsets)
        parts: list[np.ndarray] = []
        for k, s in enumerate(seqs):
            if isinstance(s, str):
                parts.append(ENCODE_LUT[np.frombuffer(s.encode("ascii", "replace"), np.uint8)])
            elif isinstance(s, (bytes, bytearray, memoryview)):
                parts.append(ENCODE_LUT[np.frombuffer(s, np.uint8)])
            elif isinstance(s, np.ndarray) and s.ndim == 1 and s.dtype.kind in "iu":
                if len(s) and (s.min() < 0 or s.max() > 4):
                    raise AlignError(
                        f"sequence {k}: a numpy sequence must hold codes 0..4 (A C G T N), "
                        f"got values {s.min()}..{s.max()}"
                    )
                parts.append(s.astype(np.uint8, copy=False))
            else:
                raise AlignError(
                    f"sequence {k}: expected str, bytes or a 1-D integer array of codes, "
                    f"got {type(s).__name__}"
                )
        offsets = np.zeros(len(parts) + 1, np.int64)
        if parts:
            np.cumsum([len(p) for p in parts], out=offsets[1:])
            codes = np.concatenate(parts) if offsets[-1] else np.zeros(0, np.uint8)
        else:
            codes = np.zeros(0, np.uint8)
        return cls(np.ascontiguousarray(codes, np.uint8), offsets)


def as_batch(seqs: Any, what: str = "sequences") -> SequenceBatch:
    """A :class:`SequenceBatch` from a batch, anything with ``codes`` and ``offsets``
    (e.g. a :class:`biometal.io.ReadChunk`), or a sequence of str/bytes/code arrays."""
    if isinstance(seqs, SequenceBatch):
        return seqs
    if hasattr(seqs, "codes") and hasattr(seqs, "offsets"):
        return SequenceBatch(np.asarray(seqs.codes), np.asarray(seqs.offsets))
    if isinstance(seqs, (str, bytes, bytearray)):
        raise AlignError(f"{what}: pass a list of sequences, not a single sequence")
    try:
        items = list(seqs)
    except TypeError:
        raise AlignError(
            f"{what}: expected a list of sequences, got {type(seqs).__name__}"
        ) from None
    return SequenceBatch.from_sequences(items)


@dataclass
class Alignments:
    """Alignments of n pairs (numpy arrays of length n; coordinates 0-based half-open).

    score: int64 alignment scores. query_start/query_end, target_start/target_end: int64
    aligned intervals (a start is -1 where unknown: no traceback). cigars: the CIGAR
    strings (traceback only, else None). mode, band: as requested.
    """

    score: np.ndarray
    query_start: np.ndarray
    query_end: np.ndarray
    target_start: np.ndarray
    target_end: np.ndarray
    cigars: list[str] | None
    mode: str
    band: int | None

    def __len__(self) -> int:
        return len(self.score)

    def to_records(self) -> list[dict[str, Any]]:
        """One dict per pair (score, coordinates, cigar)."""
        cig = self.cigars if self.cigars is not None else [None] * len(self)
        return [
            {
                "score": int(self.score[p]),
                "query_start": int(self.query_start[p]),
                "query_end": int(self.query_end[p]),
                "target_start": int(self.target_start[p]),
                "target_end": int(self.target_end[p]),
                "cigar": cig[p],
            }
            for p in range(len(self))
        ]


def align_batch(
    queries: Any,
    targets: Any,
    scoring: Scoring | None = None,
    mode: str = "local",
    band: int | None = None,
    traceback: bool = False,
    *,
    backend: str | None = None,
    threads: int | None = None,
) -> Alignments:
    """Align ``queries[p]`` against ``targets[p]`` for every pair p (see the module doc).

    ``queries``/``targets``: lists of str/bytes (encoded A=0 C=1 G=2 T=3, else N), lists of
    uint8 code arrays, a :class:`SequenceBatch` or a :class:`biometal.io.ReadChunk`; the
    same number of each, or a single target that every query is aligned against
    (``targets=[genome]``; local score-only alignment on the CPU then streams it, uncopied,
    once per group of 64 queries; n identical targets are detected and aligned the same way).
    ``scoring``: :class:`Scoring` (default match 2, mismatch -3, gap open 5, extend 2).
    ``mode``: local | global | semiglobal | extension. ``band``: None or
    a band half-width w >= 0. ``traceback``: also compute CIGARs and start coordinates.
    ``backend``: auto | metal | cpu (None: config / ``$BIOMETAL_BACKEND``). ``threads``:
    CPU threads (None: all cores).
    """
    scoring = scoring if scoring is not None else Scoring()
    if not isinstance(scoring, Scoring):
        raise AlignError(f"scoring must be a biometal.align.Scoring, got {type(scoring).__name__}")
    if mode not in MODES:
        raise AlignError(f"unknown alignment mode {mode!r}; choose one of {', '.join(MODES)}")
    if band is not None and (isinstance(band, bool) or not isinstance(band, (int, np.integer))):
        raise AlignError(f"band must be an integer >= 0 or None, got {band!r}")
    if band is not None and band < 0:
        raise AlignError(f"band must be >= 0, got {band}")
    q = as_batch(queries, "queries")
    t = as_batch(targets, "targets")
    if len(q) != len(t) and len(t) != 1:
        raise AlignError(
            f"{len(q)} queries but {len(t)} targets: they are aligned in pairs "
            "(or pass one target for all queries)"
        )
    try:
        res = _sw.align_pairs(
            q.codes,
            q.offsets,
            t.codes,
            t.offsets,
            scoring.substitution_matrix(),
            scoring.gap_open,
            scoring.gap_extend,
            mode=mode,
            band=None if band is None else int(band),
            traceback=bool(traceback),
            backend=backend,
            threads=threads,
        )
    except BackendError as exc:
        raise AlignError(str(exc)) from None
    except ValueError as exc:
        raise AlignError(str(exc)) from None
    return Alignments(
        score=res.score,
        query_start=res.query_start,
        query_end=res.query_end,
        target_start=res.target_start,
        target_end=res.target_end,
        cigars=res.cigar_strings() if traceback else None,
        mode=mode,
        band=None if band is None else int(band),
    )
