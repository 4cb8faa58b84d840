"""The index build's unitig placements and k-mer graph against naive Python ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rnaseq_helpers import (
    canonical,
    naive_index,
    related_transcripts,
    revcomp,
    unitig_seq,
    write_fasta,
)

from biometal.rnaseq import _kernels
from biometal.rnaseq.index import build_index, read_transcripts


@pytest.mark.parametrize(("seed", "k"), [(1, 5), (2, 7), (5, 9), (9, 31)])
def test_placements_are_every_traversal_of_a_unitig_start(tmp_path: Path, seed: int, k: int):
    """Each record is a transcript window holding the unitig's first k-mer (on the strand the
    record says); every such window has one record; records in transcript order per unitig."""
    seqs = related_transcripts(seed, 6, 120 if k < 31 else 300, n_rate=0.02)
    index = build_index(write_fasta(tmp_path / "tx.fa", seqs), k)
    for c in range(index.n_contigs):
        first = unitig_seq(index, c)[:k]
        want = []
        for t, s in enumerate(seqs):
            for i in range(len(s) - k + 1):
                w = s[i : i + k]
                if canonical(w) == canonical(first):
                    want.append((t, i, 1 if w == first else 0))
        lo, hi = index.pl_off[c], index.pl_off[c + 1]
        got = list(
            zip(
                index.pl_tx[lo:hi].tolist(),
                index.pl_pos[lo:hi].tolist(),
                index.pl_fw[lo:hi].tolist(),
                strict=True,
            )
        )
        assert got == want, c


def test_neighbours_match_a_naive_graph(tmp_path: Path) -> None:
    k = 7
    seqs = related_transcripts(4, 5, 100, n_rate=0.02)
    names, codes, offsets = read_transcripts(write_fasta(tmp_path / "tx.fa", seqs))
    naive = naive_index(seqs, k)
    kmers, _ = _kernels.transcript_kmers(codes, offsets, k)
    uniq = np.unique(kmers)
    table = _kernels.build_table(uniq, 1 << 12)
    cnt, node, nstr = _kernels.neighbours(uniq, table, k)
    dec = {0: "A", 1: "C", 2: "G", 3: "T"}
    for x, km in enumerate(uniq.tolist()):
        fw = "".join(dec[(km >> (2 * (k - 1 - j))) & 3] for j in range(k))
        assert fw == canonical(fw) and fw in naive
        for o in range(2):
            seq = fw if o == 0 else revcomp(fw)
            succ = [seq[1:] + b for b in "ACGT" if canonical(seq[1:] + b) in naive]
            assert cnt[x, o] == len(succ)
            if len(succ) == 1:
                y = int(node[x, o])
                assert canonical(succ[0]) == canonical(
                    "".join(dec[(int(uniq[y]) >> (2 * (k - 1 - j))) & 3] for j in range(k))
                )
                assert nstr[x, o] == (0 if succ[0] == canonical(succ[0]) else 1)
