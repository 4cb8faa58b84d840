"""Alignment scoring: match/mismatch or a substitution matrix, and affine gap penalties.

Gap convention (parasail's, checked against parasail 1.3.4 in tests/unit/test_align.py):
``gap_open`` and ``gap_extend`` are positive penalties and a gap of length k costs
``gap_open + (k - 1) * gap_extend``; the same numbers passed to ``parasail.sw_*(s1, s2,
gap_open, gap_extend, matrix)`` give the same scores. ``gap_open == gap_extend`` is a
linear gap penalty of ``gap_open`` per residue.

Residues are the project's codes A=0 C=1 G=2 T=3 N=4 (any other letter is N). With
match/mismatch scoring, N scores like any other letter: N-N is a match, N-A a mismatch,
exactly as ``parasail.matrix_create("ACGTN", match, mismatch)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from biometal.errors import BiometalError


class AlignError(BiometalError, ValueError):
    """Invalid alignment input or parameters (one-line message)."""


@dataclass(frozen=True)
class Scoring:
    """Scores of an alignment.

    match, mismatch: substitution scores (mismatch usually negative), used when ``matrix``
        is None; N counts as a fifth letter (N-N = match).
    gap_open, gap_extend: positive penalties; a gap of length k costs
        ``gap_open + (k - 1) * gap_extend``. Need ``1 <= gap_open`` and
        ``0 <= gap_extend <= gap_open``.
    matrix: optional substitution matrix over A C G T N (5x5) or A C G T (4x4; N then scores
        the matrix minimum against everything), as nested sequences or a numpy array.
    """

    match: int = 2
    mismatch: int = -3
    gap_open: int = 5
    gap_extend: int = 2
    matrix: Any = field(default=None, compare=False)

    def __post_init__(self) -> None:
        for name in ("match", "mismatch", "gap_open", "gap_extend"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise AlignError(f"Scoring.{name} must be an integer, got {v!r}")
        if not 1 <= self.gap_open <= 2**14:
            raise AlignError(f"Scoring.gap_open must be in 1..16384, got {self.gap_open}")
        if not 0 <= self.gap_extend <= self.gap_open:
            raise AlignError(
                f"Scoring.gap_extend must be in 0..gap_open ({self.gap_open}), "
                f"got {self.gap_extend}"
            )
        if self.matrix is not None:
            m = np.asarray(self.matrix)
            if m.shape not in ((5, 5), (4, 4)) or m.dtype.kind not in "iu":
                raise AlignError(
                    f"Scoring.matrix must be a 5x5 (ACGTN) or 4x4 (ACGT) integer matrix, "
                    f"got shape {m.shape} dtype {m.dtype}"
                )
            if np.abs(m.astype(np.int64)).max() > 2**14:
                raise AlignError("Scoring.matrix entries must lie within +-16384")
            m = m.astype(np.int64)
            m.setflags(write=False)
            object.__setattr__(self, "matrix", m)
        elif max(abs(self.match), abs(self.mismatch)) > 2**14:
            raise AlignError("Scoring.match/mismatch must lie within +-16384")

    def substitution_matrix(self) -> np.ndarray:
        """int64[5, 5] scores over the codes A C G T N (row: query, column: target)."""
        if self.matrix is None:
            m = np.full((5, 5), self.mismatch, np.int64)
            np.fill_diagonal(m, self.match)
            return m
        if self.matrix.shape == (5, 5):
            return self.matrix.copy()
        m = np.full((5, 5), int(self.matrix.min()), np.int64)
        m[:4, :4] = self.matrix
        return m

    def gap_cost(self, length: int) -> int:
        """Penalty (positive) of one gap of ``length`` residues: open + (length-1)*extend."""
        return 0 if length <= 0 else self.gap_open + (length - 1) * self.gap_extend
