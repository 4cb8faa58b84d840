"""CIGAR strings of the alignments: parsing, lengths and re-scoring.

Ops (SAM, extended): ``=`` match, ``X`` mismatch, ``I`` query residue against a gap
(insertion to the target), ``D`` target residue against a gap (deletion from the target),
``S`` soft clip (unaligned query residues at the ends of a local alignment). The CIGAR of
a semiglobal/extension alignment covers only the aligned part of the target (its free
ends are the target start/end coordinates, not ``D`` runs).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from biometal.align.scoring import AlignError, Scoring

_RUN = re.compile(r"(\d+)([=XIDS])")


def parse_cigar(cigar: str) -> list[tuple[int, str]]:
    """``"3S5=1X2I"`` -> ``[(3, "S"), (5, "="), (1, "X"), (2, "I")]``."""
    runs = [(int(n), op) for n, op in _RUN.findall(cigar)]
    if "".join(f"{n}{op}" for n, op in runs) != cigar:
        raise AlignError(f"not a CIGAR of =XIDS runs: {cigar!r}")
    return runs


def cigar_spans(cigar: str) -> tuple[int, int, int]:
    """(query residues consumed including soft clips, query residues aligned, target residues
    aligned) by a CIGAR."""
    q_all = q_aln = t_aln = 0
    for n, op in parse_cigar(cigar):
        if op in "=XI":
            q_aln += n
        if op in "=XD":
            t_aln += n
        if op in "=XIS":
            q_all += n
    return q_all, q_aln, t_aln


def score_cigar(
    cigar: str,
    query: Sequence[int] | np.ndarray,
    target: Sequence[int] | np.ndarray,
    scoring: Scoring,
    query_start: int = 0,
    target_start: int = 0,
) -> int:
    """Score of the alignment a CIGAR describes, recomputed from the residues.

    ``query``/``target``: codes (0..4) of the whole sequences; the aligned part starts at
    ``query_start`` (after any leading soft clip) and ``target_start``. Each ``=``/``X``
    must agree with the residues. A run of k ``I`` or ``D`` costs ``gap_open + (k-1) *
    gap_extend`` (adjacent runs of the same op count as one gap). Raises AlignError when the
    CIGAR does not fit the sequences.
    """
    m = scoring.substitution_matrix()
    q = np.asarray(query)
    t = np.asarray(target)
    runs = parse_cigar(cigar)
    # merge adjacent runs of the same op (one gap)
    merged: list[tuple[int, str]] = []
    for n, op in runs:
        if merged and merged[-1][1] == op:
            merged[-1] = (merged[-1][0] + n, op)
        else:
            merged.append((n, op))
    i, j, total = int(query_start), int(target_start), 0
    for k, (n, op) in enumerate(merged):
        if op == "S":
            if 0 < k < len(merged) - 1:
                raise AlignError(f"soft clip inside the CIGAR {cigar!r}")
            continue
        if op in "=X":
            if i + n > len(q) or j + n > len(t):
                raise AlignError(f"CIGAR {cigar!r} runs past the end of the sequences")
            qa = q[i : i + n].astype(np.int64)
            ta = t[j : j + n].astype(np.int64)
            same = qa == ta
            if (op == "=" and not same.all()) or (op == "X" and same.any()):
                raise AlignError(f"CIGAR {cigar!r}: a {op!r} run does not fit the residues")
            total += int(m[qa, ta].sum())
            i += n
            j += n
        elif op == "I":
            total -= scoring.gap_cost(n)
            i += n
        else:  # D
            total -= scoring.gap_cost(n)
            j += n
    if i > len(q) or j > len(t):
        raise AlignError(f"CIGAR {cigar!r} runs past the end of the sequences")
    return total
