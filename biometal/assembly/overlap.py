"""Suffix-prefix overlaps of long reads (minimizer candidates verified by alignment) and the
overlap graph (contained reads removed, transitive edges reduced).

Candidates: (w, k) canonical minimizers of every read (``_kernels.minimizers``); two reads
sharing at least ``min_shared`` minimizers on one diagonal band (same relative strand,
position differences within ``band`` bp of their median) are a candidate. Verification: the
end of one read and the start of the other (the estimated overlap plus ``slack`` bp) are
aligned locally with :func:`biometal.align.align_batch` (traceback); the overlap stands when
the alignment reaches within ``slack`` bp of both ends, spans at least ``min_overlap`` bp and
has at least ``min_identity`` identity (matches / alignment columns).

An :class:`Overlap` ``(a, a_strand) -> (b, b_strand)`` says that the suffix of read a (in
orientation ``a_strand``: ``+`` as read, ``-`` reverse-complemented) from ``a_start`` matches
the prefix of read b (in orientation ``b_strand``) up to ``b_end``; coordinates are in the
oriented sequences. ``contained``: read b lies within read a (``b_end`` = its length).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from biometal.assembly import _kernels as K
from biometal.assembly.graph import revcomp
from biometal.io.encoding import encode

_CIGAR = re.compile(r"(\d+)([=XIDSM])")


@dataclass(frozen=True)
class Overlap:
    """Oriented read ``a``'s suffix from ``a_start`` over oriented read ``b``'s prefix up to
    ``b_end``; ``identity`` of the verifying alignment, ``length`` its columns."""

    a: int
    a_strand: str
    b: int
    b_strand: str
    a_start: int
    b_end: int
    identity: float
    length: int
    contained: bool = False


def _identity(cigar: str) -> tuple[float, int]:
    eq = cols = 0
    for n, op in _CIGAR.findall(cigar):
        if op == "S":
            continue
        cols += int(n)
        if op == "=":
            eq += int(n)
    return (eq / cols if cols else 0.0), cols


def _candidates(seqs: list[str], k: int, w: int, min_shared: int, band: int, max_occ: int):
    codes = [encode(s) for s in seqs]
    offsets = np.zeros(len(seqs) + 1, np.int64)
    np.cumsum([len(c) for c in codes], out=offsets[1:])
    flat = np.concatenate(codes) if codes else np.zeros(0, np.uint8)
    mins = K.minimizers(flat, offsets, k, w)  # rows: read, pos, strand, hash
    lengths = np.diff(offsets)
    groups: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    for r, p, s, h in mins.tolist():
        groups[h].append((r, p, s))
    diag: dict[tuple[int, int, int], list[int]] = defaultdict(list)
    for occ in groups.values():
        if len(occ) > max_occ:
            continue
        for i in range(len(occ)):
            ri, pi, si = occ[i]
            for j in range(len(occ)):
                rj, pj, sj = occ[j]
                if rj <= ri:
                    continue
                rel = si ^ sj
                # position of the k-mer in b's orientation relative to a
                qj = pj if rel == 0 else int(lengths[rj]) - k - pj
                diag[(ri, rj, rel)].append(qj - pi)
    out = []
    for (ri, rj, rel), ds in diag.items():
        if len(ds) < min_shared:
            continue
        med = int(np.median(ds))
        if sum(abs(d - med) <= band for d in ds) >= min_shared:
            out.append((ri, rj, rel, med))
    return out


def find_overlaps(
    reads: Sequence[str],
    *,
    k: int = 15,
    w: int = 10,
    min_shared: int = 4,
    min_overlap: int = 500,
    min_identity: float = 0.8,
    band: int = 200,
    slack: int = 100,
    max_occ: int = 50,
) -> list[Overlap]:
    """Suffix-prefix overlaps (and containments, as overlaps of the whole contained read)
    between reads (strings), each verified by alignment (see the module doc)."""
    from biometal.align import align_batch

    seqs = [s.upper() for s in reads]
    todo = []
    for ri, rj, rel, d in _candidates(seqs, k, w, min_shared, band, max_occ):
        sj = "+" if rel == 0 else "-"
        bj = seqs[rj] if rel == 0 else revcomp(seqs[rj])
        # read j (oriented) starts at -d in read i's coordinates
        if d <= 0:  # i's suffix over j's prefix
            x, y, sa, sb, start = (ri, "+"), (rj, sj), seqs[ri], bj, -d
        else:  # j's suffix over i's prefix
            x, y, sa, sb, start = (rj, sj), (ri, "+"), bj, seqs[ri], d
        inside = start + len(sb) < len(sa) - slack
        ovl = min(len(sa) - start, len(sb))
        if ovl < min_overlap:
            continue
        t0 = max(0, start - slack)
        t1 = start + len(sb) + slack if inside else len(sa)
        width = start - t0 + int(0.1 * ovl) + 50
        todo.append((x, y, sa[t0:t1], sb[: ovl + slack], t0, width, inside))
    out = []
    for x, y, target, query, t0, width, inside in todo:
        rec = align_batch([query], [target], mode="local", band=width, traceback=True)
        rec = rec.to_records()[0]
        ident, cols = _identity(rec["cigar"])
        if inside:  # all of b within a
            ends = len(query) - rec["query_end"] <= slack
        else:  # up to a's end
            ends = len(target) - rec["target_end"] <= slack
        if ident >= min_identity and cols >= min_overlap and ends and rec["query_start"] <= slack:
            out.append(
                Overlap(
                    x[0],
                    x[1],
                    y[0],
                    y[1],
                    t0 + rec["target_start"],
                    rec["query_end"],
                    round(ident, 4),
                    cols,
                    inside,
                )  # fmt: skip
            )
    return out


@dataclass
class OverlapGraph:
    """Reads as oriented nodes ``(read, '+'/'-')``; an edge ``x -> y`` with its overlap
    length for every suffix-prefix overlap, and its mirror ``y' -> x'``."""

    lengths: list[int]
    edges: dict[tuple[int, str], dict[tuple[int, str], int]] = field(default_factory=dict)
    contained: set[int] = field(default_factory=set)

    @classmethod
    def build(cls, lengths: Sequence[int], overlaps: Sequence[Overlap], slack: int = 100):
        """The graph of the overlaps; a read covered by an overlap end to end (within
        ``slack``) is contained and left out."""
        g = cls(list(lengths))
        flip = {"+": "-", "-": "+"}
        for o in overlaps:
            la, lb = g.lengths[o.a], g.lengths[o.b]
            if o.contained or o.b_end >= lb - slack:
                g.contained.add(o.b)
            elif o.a_start <= slack and la <= o.b_end + slack:
                g.contained.add(o.a)
        for o in overlaps:
            if o.a in g.contained or o.b in g.contained:
                continue
            n = o.length
            g.edges.setdefault((o.a, o.a_strand), {})[(o.b, o.b_strand)] = n
            g.edges.setdefault((o.b, flip[o.b_strand]), {})[(o.a, flip[o.a_strand])] = n
        return g

    def n_edges(self) -> int:
        return sum(len(v) for v in self.edges.values())

    def reduce(self) -> int:
        """Remove transitive edges x -> z where x -> y -> z also exists (Myers 2005);
        returns edges removed (mirrors included)."""
        drop = set()
        for x, out in self.edges.items():
            for y in out:
                for z in self.edges.get(y, {}):
                    if z in out and z != x:
                        drop.add((x, z))
        for x, z in drop:
            self.edges[x].pop(z, None)
        return len(drop)

    def paths(self) -> list[list[tuple[int, str]]]:
        """Maximal non-branching paths of oriented reads (each read in one path, one
        orientation): the layout of the contigs."""
        indeg: dict[tuple[int, str], int] = defaultdict(int)
        for out in self.edges.values():
            for y in out:
                indeg[y] += 1
        seen: set[int] = set()
        paths = []
        nodes = [(r, "+") for r in range(len(self.lengths)) if r not in self.contained]
        starts = [x for x in nodes if indeg[x] != 1] + [x for x in nodes if indeg[x] == 1]
        flip = {"+": "-", "-": "+"}
        for x in starts:
            if x[0] in seen:
                continue
            # walk back to the start while unambiguous
            cur = x
            while indeg[cur] == 1:
                back = self.edges.get((cur[0], flip[cur[1]]), {})
                if len(back) != 1:
                    break
                (p,) = back
                prev = (p[0], flip[p[1]])
                if prev[0] in seen or prev == x or len(self.edges.get(prev, {})) != 1:
                    break
                cur = prev
            path = [cur]
            seen.add(cur[0])
            while True:
                out = self.edges.get(path[-1], {})
                if len(out) != 1:
                    break
                (y,) = out
                if y[0] in seen or indeg[y] != 1:
                    break
                path.append(y)
                seen.add(y[0])
            paths.append(path)
        return paths
