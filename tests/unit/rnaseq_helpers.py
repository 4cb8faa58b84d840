"""Shared helpers of the RNA-seq unit tests: naive references and tiny transcriptomes."""

from __future__ import annotations

from pathlib import Path

import numpy as np

COMP = str.maketrans("ACGT", "TGCA")


def revcomp(s: str) -> str:
    return s.translate(COMP)[::-1]


def canonical(s: str) -> str:
    return min(s, revcomp(s))


def naive_index(seqs: list[str], k: int) -> dict[str, set[int]]:
    """canonical k-mer -> transcripts containing it (windows with a non-ACGT base skipped)."""
    out: dict[str, set[int]] = {}
    for t, s in enumerate(seqs):
        for i in range(len(s) - k + 1):
            w = s[i : i + k]
            if set(w) <= set("ACGT"):
                out.setdefault(canonical(w), set()).add(t)
    return out


def write_fasta(path: Path, seqs: list[str]) -> Path:
    path.write_text("".join(f">t{i} desc\n{s}\n" for i, s in enumerate(seqs)))
    return path


def related_transcripts(draw_seed: int, n: int, length: int, n_rate: float = 0.0) -> list[str]:
    """Transcripts that share segments (exons) with each other, some with N."""
    rng = np.random.default_rng(draw_seed)
    exons = ["".join(rng.choice(list("ACGT"), size=rng.integers(8, 40))) for _ in range(6)]
    seqs = []
    for _ in range(n):
        pick = rng.choice(len(exons), size=rng.integers(1, 4), replace=True)
        s = "".join(exons[i] for i in pick)
        s += "".join(rng.choice(list("ACGT"), size=rng.integers(0, length)))
        if n_rate:
            s = "".join("N" if rng.random() < n_rate else c for c in s)
        seqs.append(s)
    return seqs


def unitig_seq(index, c: int) -> str:
    codes = index.useq[index.uoff[c] : index.uoff[c + 1]]
    return "".join("ACGT"[x] for x in codes)
