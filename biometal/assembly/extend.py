"""Contig ends extended by the reads anchored on them.

A contig of the graph ends where its last (k-1)-mer branches (the start of a repeat copy)
or where the solid k-mers stop (the end of a sequence, a coverage gap). The reads that
overlap a branching end by at least two of its k-mers come from that one place when the
contig is unique (an anchor, :func:`biometal.assembly.pairs.anchors`), so the bases they
carry past the end are that copy's continuation, whatever the repeat: each branching
**anchor end** is extended as far as those reads reach (at most a read length minus k
bases). Dead ends stay: the few reads past them are as often adapter read-through (the
same adapter in every such read: a consensus of junk) as sequence.

1. **placement**: the k-mers of the last ``window`` bases of every anchor end (read out of
   the end) are indexed, distinct k-mers only, and every read is placed by its first k-mer
   hit that a second confirms (the ``place_reads`` loop of
   :mod:`biometal.assembly._kernels`, as :mod:`biometal.assembly.pairs` places mates);
   a placed read's bases past the end are its **overhang**;
2. **the walk**: from the end, the graph's successors are followed while the overhangs
   choose one: the successor whose new bases most overhangs carry exactly (over the part
   they reach), at least one and ``dominance`` times as many as carry the next successor or
   contradict this one (a tandem repeat's cycle may be walked again, up to ``window``
   bases; another anchor stops the walk: joins are :mod:`biometal.assembly.pairs`' task);
3. **consensus**: past the walk (or where the reads contradict it, as where simplification
   removed a copy's variant), column by column, the base that at least ``min_support``
   overhangs carry and ``dominance`` times as many as any other base; a read drops out at
   its second disagreement (an indel shifts the rest of it);
4. **support**: the extension (walk, then consensus) is cut at its first base that no read
   carries or that ``dominance`` times fewer reads carry than contradict.

An extended end keeps its links when the extension is the walk, ending at a node's end
(the links of that node's end carry over), and loses them otherwise (the new bases overlap
the repeat's nodes by more than k - 1); the repeat's nodes stay for its other copies. The
new k-mers are not counted in the contig's coverage. Returns counts for the statistics.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from biometal.assembly import _kernels as K
from biometal.assembly.graph import End, Graph, revcomp
from biometal.assembly.kmers import KmerTable
from biometal.assembly.pairs import anchors, unique_kmer_table
from biometal.io.encoding import DECODE_LUT, encode
from biometal.io.fastx import read_fastq_chunks

_RC = np.array([3, 2, 1, 0, 4], np.uint8)


def _index(tails: list[str], k: int) -> tuple[KmerTable, np.ndarray, np.ndarray, np.ndarray]:
    """Distinct k-mers of the tails: table -> 1 + index into (tail id, start, canonical)."""
    return unique_kmer_table(tails, range(len(tails)), [0] * len(tails), k)


def overhangs(
    g: Graph,
    ends: list[End],
    reads: Sequence[str | os.PathLike],
    window: int,
    *,
    chunk_reads: int = 8192,
) -> list[list[np.ndarray]]:
    """Per end: the codes of every placed read past the end (read out of it)."""
    k = g.k
    tails = [g.oriented(e)[-window:] for e in ends]
    tail_len = np.asarray([len(t) for t in tails], np.int64)
    table, owner, pos, canon = _index(tails, k)
    out: list[list[np.ndarray]] = [[] for _ in ends]
    for path in reads:
        for c in read_fastq_chunks(path, chunk_reads):
            node, fwd, coord = K.place_reads(c.codes, c.offsets, k, table.keys_hi,
                                             table.keys_lo, table.counts, owner, pos,
                                             canon, 3)  # fmt: skip
            length = np.diff(c.offsets)
            hit = node >= 0
            # the read's bases past the tail's last base
            last = np.where(fwd, coord + length - 1, coord)  # tail coord of the far end
            for r in np.flatnonzero(hit & (last >= tail_len[np.maximum(node, 0)])).tolist():
                i = int(node[r])
                seq = c.codes[c.offsets[r] : c.offsets[r + 1]]
                if fwd[r]:
                    start = int(tail_len[i] - coord[r])
                else:  # the reverse complement covers coord - length + 1 .. coord
                    seq = _RC[np.minimum(seq[::-1], 4)]
                    start = int(tail_len[i] - (coord[r] - length[r] + 1))
                if 0 <= start < len(seq):
                    out[i].append(seq[start:])
    return out


def consensus(reads: list[np.ndarray], min_support: int = 2, dominance: float = 2.0) -> str:
    """The overhangs' consensus (see the module doc, step 2); '' when none."""
    if len(reads) < min_support:
        return ""
    n = max(len(r) for r in reads)
    mat = np.full((len(reads), n), 5, np.uint8)
    for j, r in enumerate(reads):
        mat[j, : len(r)] = r
    miss = np.zeros(len(reads), np.int64)
    out = []
    for col in range(n):
        b = mat[:, col]
        live = (b < 5) & (miss < 2)
        counts = np.bincount(b[live], minlength=5)[:4]
        top = int(counts.argmax())
        second = np.sort(counts)[-2]
        if counts[top] < min_support or counts[top] < dominance * second:
            break
        out.append(top)
        miss += live & (b != top)
    return DECODE_LUT[np.asarray(out, np.uint8)].tobytes().decode() if out else ""


def supported(ext: str, reads: list[np.ndarray], dominance: float = 2.0) -> int:
    """How many bases of ``ext`` the reads carry: each base needs a read with it and
    ``dominance`` times as many as without it (a read drops out at its second
    disagreement)."""
    if not ext or not reads:
        return 0
    want = encode(ext)
    mat = np.full((len(reads), len(want)), 5, np.uint8)
    for j, r in enumerate(reads):
        m = min(len(r), len(want))
        mat[j, :m] = r[:m]
    miss = np.zeros(len(reads), np.int64)
    for col in range(len(want)):
        b = mat[:, col]
        live = (b < 5) & (miss < 2)
        yes = int((live & (b == want[col])).sum())
        if yes < 1 or yes < dominance * (int(live.sum()) - yes):
            return col
        miss += live & (b != want[col])
    return len(want)


def _walk(g: Graph, end: End, reads: list[np.ndarray], is_anchor, max_len: int, dominance: float):
    """The graph path out of ``end`` the reads choose, at most ``max_len`` bases (a tandem
    repeat's cycle may be walked more than once): (sequence past the end, last end)."""
    k1 = g.k - 1
    seq, cur = "", end
    while len(seq) < max_len:
        cands = sorted(g.succ(cur))
        match, miss = [], []
        for c in cands:
            new = encode(g.oriented(c)[k1:])
            off, n, bad = len(seq), 0, 0
            for r in reads:
                m = min(len(r) - off, len(new))
                if m > 0:
                    ok = bool((r[off : off + m] == new[:m]).all())
                    n, bad = n + ok, bad + (not ok)
            match.append(n)
            miss.append(bad)
        if not cands:
            break
        order = sorted(range(len(cands)), key=lambda i: -match[i])
        i = order[0]
        second = match[order[1]] if len(cands) > 1 else 0
        if match[i] < 1 or match[i] < dominance * max(second, miss[i]):
            break  # no read reaches it, the reads disagree, or do not decide a branch
        cur = cands[i]
        if is_anchor(cur[0]):  # another contig: joins are the pairs' business
            break
        seq += g.oriented(cur)[k1:]
    return seq, cur


def extend_ends(
    g: Graph,
    reads: Sequence[str | os.PathLike],
    read_len: int,
    *,
    anchor_len: int = 0,
    max_cov_ratio: float = 1.5,
    min_support: int = 2,
    dominance: float = 2.0,
    chunk_reads: int = 8192,
) -> dict:
    """Extend every branching anchor end by its reads (see the module doc).
    ``anchor_len`` 0: 2k; the window is ``read_len`` bases. Returns {"ends" (branching
    anchor ends), "extended", "bases"}."""
    k = g.k
    window = max(read_len, k + 1)
    nodes = anchors(g, anchor_len or 2 * k, max_cov_ratio)
    anchor_set = set(nodes)
    # dead ends stay (see the module doc)
    ends = [(u, s) for u in nodes for s in (True, False) if g.succ((u, s))]
    stats = {"ends": len(ends), "extended": 0, "bases": 0}
    if not ends:
        return stats
    per_end = overhangs(g, ends, reads, window, chunk_reads=chunk_reads)
    plans = []
    for (u, s), ov in zip(ends, per_end, strict=True):
        walk, last = _walk(g, (u, s), ov, anchor_set.__contains__, window, dominance)
        cons = consensus(ov, min_support, dominance)
        same = next((i for i, (a, b) in enumerate(zip(walk, cons, strict=False)) if a != b), None)
        ext = walk + cons[len(walk) :] if same is None else walk[:same]
        ext = ext[: supported(ext, ov, dominance)]
        if ext:
            succ = set(g.succ(last)) if ext == walk else set()
            plans.append(((u, s), ext, succ))
    for (u, s), ext, succ in plans:
        for v, t in list(g.links[(u, s)]):  # the new bases overlap these by more than k - 1
            g.links[(u, s)].discard((v, t))
            g.links[(v, not t)].discard((u, not s))
        g.seq[u] = g.seq[u] + ext if s else revcomp(ext) + g.seq[u]  # coverage as counted
        for v in succ:  # the walk ends at a node's end: its links carry over
            if v[0] in g.seq and v[0] != u:
                g.add_link((u, s), v)
        stats["extended"] += 1
        stats["bases"] += len(ext)
    return stats
