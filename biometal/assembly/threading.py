"""Read threading: repeats shorter than a read resolved by the reads that span them.

A node R of the simplified graph with m >= 2 predecessors and m successors, short enough
that a read covers it with a base to spare on each side (``len(R) + 2 <= read length``), is
an unresolved repeat (two copies of a diverged repeat often share such short identical
stretches). A read that contains the last k-mer of a predecessor P and, ``len(R) - k + 2``
bases further, the first k-mer of a successor S, walks P -> R -> S. When these walks pair the
predecessors and successors one to one (each pair seen by at least ``min_support`` reads, no
read for another pairing), R is split into m copies, P_i -> R_i -> S_i, and the graph is
compacted again. The junction k-mers are looked up with the counting hash table
(:mod:`biometal.assembly.kmers`), the reads streamed in chunks.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from biometal.assembly import _kernels as K
from biometal.assembly.graph import End, Graph, revcomp
from biometal.assembly.kmers import KmerTable
from biometal.io.encoding import DECODE_LUT, encode
from biometal.io.fastx import read_fastq_chunks
from biometal.kernels.kmer_count import canonical_kmers, kmer_slots


def _candidates(g: Graph, read_len: int) -> list[int]:
    out = []
    for u, s in g.seq.items():
        if len(s) + 2 > read_len:
            continue
        pred, succ = g.pred((u, True)), g.succ((u, True))
        if len(pred) >= 2 and len(pred) == len(succ):
            if all(v != u for v, _ in pred | succ):
                out.append(u)
    return out


def _support(g: Graph, cands: list[int], reads: Sequence, chunk_reads: int, backend) -> dict:
    k = g.k
    keys: dict[str, tuple[str, End]] = {}  # oriented junction k-mer -> (L/F, node end)
    for r in cands:
        for p in g.pred((r, True)):
            keys[g.oriented(p)[-k:]] = ("L", p)
        for s in g.succ((r, True)):
            keys[g.oriented(s)[:k]] = ("F", s)
    # a pair (P end, S end) at distance len(R) - k + 2 -> R
    triples: dict[tuple[End, End, int], int] = {}
    for r in cands:
        d = len(g.seq[r]) - k + 2
        for p in g.pred((r, True)):
            for s in g.succ((r, True)):
                triples[(p, s, d)] = r
    names = list(keys)
    flat = np.concatenate([encode(x) for x in names])
    offsets = np.arange(0, len(flat) + 1, k, dtype=np.int64)
    words = canonical_kmers(flat, offsets, k, backend=backend)
    table = KmerTable.empty(k, 2 * len(names) + 2)
    K.table_put(table.keys_hi, table.keys_lo, table.counts, words.hi, words.lo,
                np.arange(1, len(names) + 1, dtype=np.uint32))  # fmt: skip
    support: dict[tuple[int, End, End], int] = defaultdict(int)
    for path in reads:
        for chunk in read_fastq_chunks(path, chunk_reads):
            w = canonical_kmers(chunk.codes, chunk.offsets, k, backend=backend)
            ids = table.lookup(w.hi, w.lo)
            hit = np.flatnonzero(ids)
            if not len(hit):
                continue
            slots = kmer_slots(chunk.offsets, k)
            read_of = np.searchsorted(slots, hit, side="right") - 1
            per_read: dict[int, list[tuple[int, str]]] = defaultdict(list)
            for h, r in zip(hit.tolist(), read_of.tolist(), strict=True):
                per_read[r].append((h - int(slots[r]), names[int(ids[h]) - 1]))
            for r, hits in per_read.items():
                if len(hits) < 2:
                    continue
                a = int(chunk.offsets[r])
                length = int(chunk.offsets[r + 1]) - a
                fwd, rev = [], []
                for pos, name in hits:
                    seq = DECODE_LUT[chunk.codes[a + pos : a + pos + k]].tobytes().decode()
                    if seq == name:
                        fwd.append((pos, keys[name]))
                    elif revcomp(seq) == name:
                        rev.append((length - k - pos, keys[name]))
                for lst in (fwd, rev):
                    ls = [(p, e) for p, (t, e) in lst if t == "L"]
                    fs = [(p, e) for p, (t, e) in lst if t == "F"]
                    for p1, e1 in ls:
                        for p2, e2 in fs:
                            rid = triples.get((e1, e2, p2 - p1))
                            if rid is not None:
                                support[(rid, e1, e2)] += 1
    return support


def thread_reads(
    g: Graph,
    reads: Sequence[str | os.PathLike],
    read_len: int,
    *,
    min_support: int = 2,
    chunk_reads: int = 8192,
    backend: str | None = None,
) -> int:
    """Split the short repeats that reads resolve (see the module doc); returns how many
    nodes were split. Compacts the graph when any was."""
    cands = _candidates(g, read_len)
    if not cands:
        return 0
    support = _support(g, cands, reads, chunk_reads, backend)
    split = 0
    for r in cands:
        preds, succs = g.pred((r, True)), g.succ((r, True))
        pairs = []
        for p in preds:
            seen = [s for s in succs if support.get((r, p, s), 0) > 0]
            if len(seen) != 1 or support[(r, p, seen[0])] < min_support:
                break
            pairs.append((p, seen[0]))
        if len(pairs) != len(preds) or len({s for _, s in pairs}) != len(succs):
            continue
        seq, cov = g.seq[r], g.cov[r]
        total = sum(support[(r, p, s)] for p, s in pairs)
        g.remove(r)
        for p, s in pairs:
            c = g.add_node(seq, cov * support[(r, p, s)] / total)
            g.add_link(p, (c, True))
            g.add_link((c, True), s)
        split += 1
    if split:
        g.compact()
    return split
