"""Paired-end repeat resolution: contigs joined through the repeats their mates span.

Read threading (:mod:`biometal.assembly.threading`) splits repeats shorter than a read; a
read pair spans more: the insert. This module joins two contigs whose mates say they follow
each other, through the one path of the graph that fits the insert size between them (as
velvet's Pebble or SPAdes' paired repeat resolution do, with the path the pairs choose
instead of a scaffold gap):

1. **placement**: the k-mers of every node within ``window`` bp of either end are indexed
   (distinct k-mers only) and every read is placed by its first k-mer hit that a second
   hit confirms (the ``place_reads`` loop of :mod:`biometal.assembly._kernels`, numba);
   **anchors** are the nodes of at least ``anchor_len`` bp whose k-mer coverage is below
   ``max_cov_ratio`` times the assembly's depth (the length-weighted median coverage): the
   unique contigs;
2. **the insert size distribution**: from the pairs whose mates face each other on one
   anchor (its histogram, smoothed);
3. **links**: a pair with mates on two anchors links their ends that the mates point to, with
   the span ``d1 + d2`` (each mate's distance from its first base to its anchor's end): the
   gap between the two ends is ``insert - span``. A pair with one mate on an anchor and the
   other on any node **supports** that node from the anchor's end;
4. **joins**: an end whose links go to one other end (at least ``min_support`` pairs and
   ``dominance`` times the second end's), and that end's links back to it, are joined when
   the graph has paths from one to the other no longer than the longest insert allows and
   one of them explains the spans best: the log-likelihood of the implied inserts ``span +
   gap`` under the insert histogram (truncated where the mates could not both be placed)
   beats every other path's by ``margin`` nats and puts at least 90% of them inside the
   histogram's 0.1-99.9% range. Paths as likely as each other (copies of a repeat of the
   same length) or too many to list: the search is repeated through supported nodes only
   (and nodes of fewer than ``min_place`` k-mers, too short to place a read), and of paths
   still tied, the one whose own nodes the pairs support (``min_support`` pairs and
   ``dominance`` times any other's) is taken. The new node is the first anchor, the path
   and the second anchor; the anchors go, the path's nodes stay for the repeat's other
   copies (those left without any link go too).

A collapsed repeat is never an anchor (coverage) and a repeat's flank links to every copy's
other flank only through it, so its ends never pass the dominance test: joins follow the
pairs, never a guess. Returns counts for the run's statistics.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from biometal.assembly import _kernels as K
from biometal.assembly.graph import End, Graph
from biometal.assembly.kmers import KmerTable
from biometal.io.encoding import encode
from biometal.io.mates import mate_chunks
from biometal.kernels.kmer_count import kmer_slots


@dataclass
class PairLinks:
    """Mates placed on the graph: ``inserts`` (same-anchor insert sizes), ``links``:
    (end, end) -> spans (the two anchor ends the mates point to, the smaller first) and
    ``support``: anchor end -> {node end: pairs} (pairs with one mate on the anchor, pointing
    out of that end, and the other on the node, read in the orientation a path from the
    anchor end would enter it)."""

    inserts: np.ndarray
    links: dict[tuple[End, End], list[int]] = field(default_factory=dict)
    support: dict[End, dict[End, int]] = field(default_factory=dict)
    pairs: int = 0
    placed: int = 0


def depth(g: Graph, min_len: int = 500) -> float:
    """The assembly's depth: the length-weighted median k-mer coverage of nodes of at least
    ``min_len`` bp (all nodes when none is that long)."""
    nodes = [u for u in g.seq if len(g.seq[u]) >= min_len] or list(g.seq)
    if not nodes:
        return 0.0
    cov = np.asarray([g.cov[u] for u in nodes])
    w = np.asarray([len(g.seq[u]) for u in nodes], dtype=np.float64)
    order = np.argsort(cov)
    acc = np.cumsum(w[order])
    return float(cov[order][np.searchsorted(acc, acc[-1] / 2)])


def anchors(g: Graph, min_len: int, max_cov_ratio: float = 1.5) -> list[int]:
    """Unique contigs: nodes of at least ``min_len`` bp with coverage below
    ``max_cov_ratio`` times :func:`depth`."""
    d = depth(g)
    return [u for u, s in g.seq.items() if len(s) >= min_len and g.cov[u] < max_cov_ratio * d]


def unique_kmer_table(
    parts: Sequence[str], owner: Sequence[int], starts: Sequence[int], k: int
) -> tuple[KmerTable, np.ndarray, np.ndarray, np.ndarray]:
    """The k-mers that occur once among ``parts`` (a k-mer in two places places no read):
    a table mapping each to 1 + its index into the returned (owner, position, canonical)
    arrays; part ``i``'s k-mer at offset ``j`` has owner ``owner[i]`` and position
    ``starts[i] + j``."""
    codes = np.concatenate([encode(p) for p in parts]) if parts else np.zeros(0, np.uint8)
    offsets = np.zeros(len(parts) + 1, np.int64)
    np.cumsum([len(p) for p in parts], out=offsets[1:])
    slots = kmer_slots(offsets, k)
    hi, lo, canon = K.oriented_words(codes, offsets, slots, k)
    n_pos = np.diff(slots)
    knode = np.repeat(np.asarray(owner, np.int64), n_pos)
    kpos = np.concatenate([np.arange(n) + a for n, a in zip(n_pos, starts, strict=True)]
                          or [np.zeros(0, np.int64)]).astype(np.int64)  # fmt: skip
    ok = hi != K.EMPTY
    hi, lo, canon, knode, kpos = hi[ok], lo[ok], canon[ok], knode[ok], kpos[ok]
    order = np.lexsort((lo, hi))
    h, low = hi[order], lo[order]
    dup = np.zeros(len(order) + 1, bool)
    dup[1:-1] = (h[1:] == h[:-1]) & (low[1:] == low[:-1])
    keep = np.sort(order[~(dup[:-1] | dup[1:])])
    table = KmerTable.empty(k, 2 * len(keep) + 2)
    K.table_put(table.keys_hi, table.keys_lo, table.counts, hi[keep], lo[keep],
                np.arange(1, len(keep) + 1, dtype=np.uint32))  # fmt: skip
    return table, knode[keep], kpos[keep], canon[keep]


def _index(
    g: Graph, nodes: list[int], window: int
) -> tuple[KmerTable, np.ndarray, np.ndarray, np.ndarray]:
    k = g.k
    parts, starts, owner = [], [], []
    for u in nodes:
        s = g.seq[u]
        spans = [(0, len(s))] if len(s) <= 2 * window else [(0, window), (len(s) - window, len(s))]
        for a, b in spans:
            parts.append(s[a:b])
            starts.append(a)
            owner.append(u)
    return unique_kmer_table(parts, owner, starts, k)


def place_pairs(
    g: Graph,
    r1: str | os.PathLike,
    r2: str | os.PathLike,
    anchor_nodes: list[int],
    *,
    window: int = 1000,
    chunk_reads: int = 8192,
) -> PairLinks:
    """Place both mates of every pair on the graph (see the module doc, steps 1-3)."""
    k = g.k
    table, knode, kpos, kcanon = _index(g, list(g.seq), window)
    length = np.zeros(max(g.seq, default=-1) + 1, np.int64)
    for u, seq in g.seq.items():
        length[u] = len(seq)
    is_anchor = np.zeros(len(length) + 1, bool)
    is_anchor[anchor_nodes] = True
    inserts = []
    links: dict[tuple[End, End], list[int]] = defaultdict(list)
    support: dict[End, dict[End, int]] = defaultdict(lambda: defaultdict(int))
    n_pairs = n_placed = 0
    for c1, c2 in mate_chunks(r1, r2, chunk_reads):
        ends = []
        for c in (c1, c2):
            node, fwd, coord = K.place_reads(c.codes, c.offsets, k, table.keys_hi,
                                             table.keys_lo, table.counts, knode, kpos,
                                             kcanon, 3)  # fmt: skip
            # distance from the mate's first base to the end it points to
            dist = np.where(fwd, length[np.maximum(node, 0)] - coord, coord + 1)
            ends.append((node, fwd, dist))
        (n1, f1, d1), (n2, f2, d2) = ends
        n_pairs += len(c1)
        both = (n1 >= 0) & (n2 >= 0)
        n_placed += int(both.sum())
        a1, a2 = is_anchor[n1], is_anchor[n2]
        same = both & a1 & (n1 == n2) & (f1 != f2)
        ins = d1[same] + d2[same] - length[n1[same]]
        inserts.append(ins[ins > 0])
        for i in np.flatnonzero(both & (n1 != n2) & (a1 | a2)).tolist():
            a, b = (int(n1[i]), bool(f1[i])), (int(n2[i]), bool(f2[i]))
            if a1[i] and a2[i]:
                links[(a, b) if a < b else (b, a)].append(int(d1[i] + d2[i]))
            if a1[i]:
                support[a][(b[0], not b[1])] += 1
            if a2[i]:
                support[b][(a[0], not a[1])] += 1
    ins = np.concatenate(inserts) if inserts else np.zeros(0, np.int64)
    return PairLinks(ins, dict(links), {e: dict(v) for e, v in support.items()}, n_pairs,
                     n_placed)  # fmt: skip


@dataclass
class InsertModel:
    """The insert size histogram (smoothed, pseudo-counted) as log-probabilities."""

    logp: np.ndarray
    lo: int
    hi: int
    median: float
    sd: float

    @classmethod
    def fit(cls, inserts: np.ndarray, bandwidth: float = 5.0) -> InsertModel | None:
        if len(inserts) < 100:
            return None
        ins = np.asarray(inserts, np.int64)
        top = int(np.quantile(ins, 0.999)) + 1
        ins = ins[ins <= top]
        hist = np.bincount(ins, minlength=2 * top + 1).astype(np.float64)
        x = np.arange(-int(4 * bandwidth), int(4 * bandwidth) + 1)
        kern = np.exp(-0.5 * (x / bandwidth) ** 2)
        smooth = np.convolve(hist, kern / kern.sum(), mode="same") + 1e-3
        mad = float(np.median(np.abs(ins - np.median(ins))))
        return cls(np.log(smooth / smooth.sum()), int(np.quantile(ins, 0.001)), top,
                   float(np.median(ins)), 1.4826 * mad)  # fmt: skip

    def loglik(self, spans: np.ndarray, gap: int, floor: int) -> float:
        """Log-likelihood of the inserts ``spans + gap``, given inserts >= ``gap + floor``."""
        x = np.asarray(spans) + gap
        if (x < 0).any() or (x >= len(self.logp)).any():
            return -np.inf
        tail = np.exp(self.logp[max(0, gap + floor) :]).sum()
        return float(self.logp[x].sum() - len(x) * np.log(tail)) if tail > 0 else -np.inf

    def inside(self, spans: np.ndarray, gap: int) -> float:
        x = np.asarray(spans) + gap
        return float(((x >= self.lo) & (x <= self.hi)).mean())


def find_paths(
    g: Graph,
    src: End,
    dst: End,
    max_gap: int,
    *,
    allowed=None,
    max_paths: int = 32,
    max_steps: int = 20000,
) -> list[tuple[int, list[End]]] | None:
    """Paths from the outgoing end ``src`` to ``dst`` (its node read in orientation
    ``dst[1]``): (gap, intermediate ends), gap = bases between src's last base and dst's
    first (``-(k - 1)`` when adjacent), at most ``max_gap``; the anchors themselves are not
    crossed, nor ends for which ``allowed(end)`` is false. None when there are more than
    ``max_paths`` or the search takes more than ``max_steps`` steps."""
    k1 = g.k - 1
    out: list[tuple[int, list[End]]] = []
    stack: list[tuple[End, int, tuple[End, ...]]] = [(src, -k1, ())]
    steps = 0
    while stack:
        cur, gap, path = stack.pop()
        for e in g.succ(cur):
            steps += 1
            if steps > max_steps:
                return None
            if e == dst:
                out.append((gap, list(path)))
                if len(out) > max_paths:
                    return None
            elif e[0] not in (src[0], dst[0]) and (allowed is None or allowed(e)):
                ng = gap + len(g.seq[e[0]]) - k1
                if ng <= max_gap:
                    stack.append((e, ng, (*path, e)))
    return out


def join(g: Graph, a: End, path: list[End], b: End) -> int:
    """Replace the outgoing end ``a``, ``path`` and ``b`` (read in orientation b[1]) by one
    node; returns it. Path nodes left without any link are removed."""
    k1 = g.k - 1
    seq = g.oriented(a) + "".join(g.oriented(e)[k1:] for e in path) + g.oriented(b)[k1:]
    na, nb = g.nk(a[0]), g.nk(b[0])
    cov = (g.cov[a[0]] * na + g.cov[b[0]] * nb) / (na + nb)
    pred = [p for p in g.pred(a) if p[0] not in (a[0], b[0])]
    succ = [s for s in g.succ(b) if s[0] not in (a[0], b[0])]
    n = g.add_node(seq, cov)
    for p in pred:
        g.add_link(p, (n, True))
    for s in succ:
        g.add_link((n, True), s)
    g.remove(a[0])
    g.remove(b[0])
    for u, _ in path:
        if u in g.seq and not g.links[(u, True)] and not g.links[(u, False)]:
            g.remove(u)
    return n


def _choose(paths, model, spans, floor, sup, margin, min_support, dominance):
    """(the path the spans choose, None) or (None, "no_path" | "ambiguous")."""
    if paths is None:
        return None, "ambiguous"
    scored = sorted(((model.loglik(spans, gap, floor), gap, p) for gap, p in paths),
                    key=lambda t: -t[0])  # fmt: skip
    scored = [t for t in scored if np.isfinite(t[0]) and model.inside(spans, t[1]) >= 0.9]
    if not scored:
        return None, "no_path"
    tied = [p for ll, _, p in scored if ll > scored[0][0] - margin]
    if len(tied) == 1:
        return tied[0], ""
    # equally long paths: the one whose own nodes the pairs land on
    common = set.intersection(*(set(p) for p in tied))
    ranked = sorted(((sum(sup(e) for e in set(p) - common), i) for i, p in enumerate(tied)),
                    reverse=True)  # fmt: skip
    if ranked[0][0] >= min_support and ranked[0][0] >= dominance * ranked[1][0]:
        return tied[ranked[0][1]], ""
    return None, "ambiguous"


def resolve_pairs(
    g: Graph,
    r1: str | os.PathLike,
    r2: str | os.PathLike,
    *,
    anchor_len: int = 0,
    max_cov_ratio: float = 1.5,
    window: int = 1000,
    min_support: int = 3,
    dominance: float = 4.0,
    margin: float = 10.0,
    min_place: int = 8,
    chunk_reads: int = 8192,
) -> dict:
    """Join the contigs the pairs order (see the module doc). ``anchor_len`` 0: 2k.
    Returns {"pairs", "placed", "insert_median", "insert_sd", "links", "joins",
    "ambiguous", "no_path"}; compacts the graph when it joined any."""
    k = g.k
    nodes = anchors(g, anchor_len or 2 * k, max_cov_ratio)
    if not nodes:
        return {"pairs": 0, "placed": 0, "links": 0, "joins": 0, "ambiguous": 0,
                "no_path": 0, "insert_median": 0.0, "insert_sd": 0.0}  # fmt: skip
    pl = place_pairs(g, r1, r2, nodes, window=window, chunk_reads=chunk_reads)
    model = InsertModel.fit(pl.inserts)
    stats = {"pairs": pl.pairs, "placed": pl.placed, "links": len(pl.links), "joins": 0,
             "ambiguous": 0, "no_path": 0, "insert_median": model.median if model else 0.0,
             "insert_sd": round(model.sd, 1) if model else 0.0}  # fmt: skip
    if model is None:
        return stats
    per_end: dict[End, dict[End, int]] = defaultdict(dict)
    for (x, y), spans in pl.links.items():
        per_end[x][y] = per_end[y][x] = len(spans)

    def best(x: End) -> End | None:
        ranked = sorted(per_end.get(x, {}).items(), key=lambda t: -t[1])
        if not ranked or ranked[0][1] < min_support:
            return None
        if len(ranked) > 1 and ranked[0][1] < dominance * ranked[1][1]:
            return None
        return ranked[0][0]

    pending = []
    for (x, y), spans in pl.links.items():
        if x != y and x[0] != y[0] and best(x) == y and best(y) == x:
            pending.append((len(spans), x, y, np.asarray(spans)))
    pending.sort(key=lambda t: -t[0])
    alias: dict[End, End] = {}

    def current(e: End) -> End:
        while e in alias:
            e = alias[e]
        return e

    floor = 2 * (k + 1)
    for _, x, y, spans in pending:
        a, b0 = current(x), current(y)
        if a[0] == b0[0] or a[0] not in g.seq or b0[0] not in g.seq:
            continue
        b = (b0[0], not b0[1])  # entered reading towards its far end

        def sup(e: End, x=x, y=y) -> int:  # pairs from either anchor that land on e
            return pl.support.get(x, {}).get(e, 0) + pl.support.get(y, {}).get((e[0], not e[1]), 0)

        max_gap = model.hi - int(spans.min())
        path, why = _choose(find_paths(g, a, b, max_gap), model, spans, floor, sup, margin,
                            min_support, dominance)  # fmt: skip
        if path is None and why == "ambiguous":  # only nodes the pairs reach (or too short)
            seen = find_paths(
                g, a, b, max_gap, allowed=lambda e: g.nk(e[0]) < min_place or sup(e) > 0
            )
            path, why = _choose(seen, model, spans, floor, sup, margin, min_support, dominance)
        if path is None:
            stats[why] += 1
            continue
        n = join(g, a, path, b)
        alias[(a[0], not a[1])] = (n, False)
        alias[b] = (n, True)
        stats["joins"] += 1
    if stats["joins"]:
        g.compact()
    return stats
