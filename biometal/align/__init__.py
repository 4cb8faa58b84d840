"""Pairwise alignment: Smith-Waterman, Needleman-Wunsch, semiglobal and extension, banded,
affine gaps, CIGAR traceback, on batches of pairs (:func:`align_batch`).

- :class:`Scoring`: match/mismatch or a substitution matrix; gap of length k costs
  ``gap_open + (k - 1) * gap_extend`` (parasail's convention).
- :func:`align_batch` -> :class:`Alignments` (scores, coordinates, CIGARs).
- :func:`score_cigar`, :func:`parse_cigar`, :func:`cigar_spans`: CIGAR utilities.
- :mod:`biometal.align.bench`: the benchmark against parasail (``python -m
  biometal.align.bench --headline``).
"""

from biometal.align.cigar import cigar_spans, parse_cigar, score_cigar
from biometal.align.core import MODES, Alignments, SequenceBatch, align_batch, as_batch
from biometal.align.scoring import AlignError, Scoring

__all__ = [
    "MODES",
    "AlignError",
    "Alignments",
    "Scoring",
    "SequenceBatch",
    "align_batch",
    "as_batch",
    "cigar_spans",
    "parse_cigar",
    "score_cigar",
]
