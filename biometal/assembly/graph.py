"""The compacted de Bruijn graph: unitigs with coverage, tips, bubbles, chaining, GFA 1.

Nodes are sequences (unitigs, later contigs) with a k-mer count ``nk = len - k + 1`` and a
mean k-mer coverage ``cov``. Links are bidirected with a (k-1)-base overlap: ``(u, su) ->
(v, sv)`` says u read forward (su True) or reverse-complemented is followed by v read in
orientation sv; every link is stored with its mirror ``(v, not sv) -> (u, not su)``.

Simplification (each step returns how many nodes it removed; :meth:`Graph.stats` gives the
size after it): :meth:`clip_tips` (short dead-end branches), :meth:`pop_bubbles` (two
single-node paths between the same two nodes, of similar length: the lower-coverage one
goes), :meth:`compact` (chains of unitigs without branches become one node: contig
chaining).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from biometal.assembly import _kernels as K
from biometal.assembly.kmers import KmerTable, check_graph_k
from biometal.io.atomic import atomic_path
from biometal.io.encoding import DECODE_LUT

End = tuple[int, bool]
_COMP = str.maketrans("ACGTN", "TGCAN")


def revcomp(seq: str) -> str:
    """Reverse complement of an ACGTN string."""
    return seq.translate(_COMP)[::-1]


def n50(lengths: list[int] | np.ndarray, genome: int | None = None) -> int:
    """N50 of lengths (NG50 when ``genome`` is given: half of ``genome`` instead of the
    total); 0 when they never reach it."""
    lens = sorted((int(x) for x in lengths), reverse=True)
    half = (sum(lens) if genome is None else genome) / 2
    acc = 0
    for x in lens:
        acc += x
        if acc >= half:
            return x
    return 0


@dataclass
class Graph:
    """A bidirected sequence graph with (k-1)-base overlaps (see the module doc)."""

    k: int
    seq: dict[int, str] = field(default_factory=dict)
    cov: dict[int, float] = field(default_factory=dict)
    links: dict[End, set[End]] = field(default_factory=dict)
    _next: int = 0

    # ---- construction -------------------------------------------------------------------
    @classmethod
    def from_table(cls, table: KmerTable) -> Graph:
        """The compacted de Bruijn graph of every k-mer in ``table`` (its unitigs); ``table.k``
        must be odd (:func:`~biometal.assembly.kmers.check_graph_k`)."""
        k = check_graph_k(table.k)
        codes, offsets, csum, nk, first, last, uid = K.compact(
            table.keys_hi, table.keys_lo, table.counts, k
        )
        g = cls(k)
        text = DECODE_LUT[codes].tobytes().decode("ascii")
        for i in range(len(nk)):
            g.add_node(text[offsets[i] : offsets[i + 1]], float(csum[i]) / float(nk[i]))
        for u, su, v, sv in K.unitig_links(
            table.keys_hi, table.keys_lo, table.counts, uid, first, last, k
        ):
            g.add_link((int(u), bool(su)), (int(v), bool(sv)))
        return g

    def add_node(self, seq: str, cov: float) -> int:
        i = self._next
        self._next += 1
        self.seq[i] = seq
        self.cov[i] = cov
        self.links[(i, True)] = set()
        self.links[(i, False)] = set()
        return i

    def add_link(self, a: End, b: End) -> None:
        """Link a -> b and its mirror."""
        self.links[a].add(b)
        self.links[(b[0], not b[1])].add((a[0], not a[1]))

    def remove(self, u: int) -> None:
        for s in (True, False):
            for v, t in self.links.pop((u, s)):
                if v != u:
                    self.links[(v, not t)].discard((u, not s))
        del self.seq[u], self.cov[u]

    # ---- queries ------------------------------------------------------------------------
    def succ(self, e: End) -> set[End]:
        return self.links[e]

    def pred(self, e: End) -> set[End]:
        return {(v, not t) for v, t in self.links[(e[0], not e[1])]}

    def oriented(self, e: End) -> str:
        return self.seq[e[0]] if e[1] else revcomp(self.seq[e[0]])

    def nk(self, u: int) -> int:
        return len(self.seq[u]) - self.k + 1

    def __len__(self) -> int:
        return len(self.seq)

    def n_links(self) -> int:
        return sum(len(v) for v in self.links.values()) // 2

    def stats(self) -> dict[str, int]:
        """nodes, links, total length (bp), N50 (bp) and longest node (bp)."""
        lens = [len(s) for s in self.seq.values()]
        return {
            "nodes": len(lens),
            "links": self.n_links(),
            "total_bp": sum(lens),
            "n50": n50(lens),
            "max_bp": max(lens, default=0),
        }

    # ---- simplification ------------------------------------------------------------------
    def _chain(self, u: int, seen: set[int]) -> list[End]:
        start: End = (u, True)
        cur = start
        while True:  # back to the chain start
            p = self.pred(cur)
            if len(p) != 1:
                break
            (q,) = p
            if q[0] == u or len(self.succ(q)) != 1 or q[0] in seen:
                break
            cur = q
            if cur == start:
                break
        chain = [cur]
        members = {cur[0]}
        while True:
            s = self.succ(chain[-1])
            if len(s) != 1:
                break
            (n,) = s
            if n[0] in members or n[0] in seen or len(self.pred(n)) != 1:
                break
            chain.append(n)
            members.add(n[0])
        return chain

    def compact(self) -> int:
        """Merge every non-branching chain of nodes into one node; returns nodes removed."""
        before = len(self)
        seen: set[int] = set()
        chains = []
        for u in list(self.seq):
            if u in seen:
                continue
            chain = self._chain(u, seen)
            seen.update(v for v, _ in chain)
            chains.append(chain)
        if all(len(c) == 1 for c in chains):
            return 0
        k1 = self.k - 1
        new = Graph(self.k, _next=0)
        enter: dict[End, End] = {}
        for chain in chains:
            parts = [self.oriented(chain[0])]
            weight = self.cov[chain[0][0]] * self.nk(chain[0][0])
            for e in chain[1:]:
                parts.append(self.oriented(e)[k1:])
                weight += self.cov[e[0]] * self.nk(e[0])
            seq = "".join(parts)
            c = new.add_node(seq, weight / (len(seq) - k1))
            enter[chain[0]] = (c, True)
            last = chain[-1]
            enter[(last[0], not last[1])] = (c, False)
        for chain in chains:
            c = enter[chain[0]][0]
            last, first = chain[-1], chain[0]
            for src, ends in (
                (True, self.succ(last)),
                (False, self.succ((first[0], not first[1]))),
            ):
                for e in ends:
                    if e in enter:
                        new.links[(c, src)].add(enter[e])
        self.seq, self.cov, self.links, self._next = new.seq, new.cov, new.links, new._next
        return before - len(self)

    def clip_tips(self, max_len: int | None = None) -> int:
        """Remove nodes shorter than ``max_len`` bases (default 2k) with no link on one side
        and a link on the other, until none is left; then compact. Returns nodes removed."""
        max_len = 2 * self.k if max_len is None else max_len
        removed = 0
        while True:
            tips = [
                u
                for u, s in self.seq.items()
                if len(s) < max_len
                and (len(self.links[(u, True)]) == 0) != (len(self.links[(u, False)]) == 0)
            ]
            if not tips:
                break
            for u in tips:
                if u in self.seq:
                    self.remove(u)
                    removed += 1
            self.compact()
        return removed

    def pop_bubbles(self, max_len: int | None = None, max_diff: float = 0.1) -> int:
        """Pop simple bubbles: among nodes linked only from the same end (u, su) and only to
        the same end (w, sw), no longer than ``max_len`` bases (default 5k), those within
        max(k // 2, ``max_diff`` * its length) bases of the best-covered one's length are
        removed (it stays). Then compact. Returns nodes removed."""
        max_len = 5 * self.k if max_len is None else max_len
        removed = 0
        for u in list(self.seq):
            for su in (True, False):
                if u not in self.seq or len(self.links[(u, su)]) < 2:
                    continue
                groups: dict[End, list[int]] = {}
                for v, sv in self.links[(u, su)]:
                    if v == u or len(self.seq[v]) > max_len:
                        continue
                    out = self.succ((v, sv))
                    if len(out) != 1 or len(self.pred((v, sv))) != 1:
                        continue
                    (w,) = out
                    if w[0] not in (u, v):
                        groups.setdefault(w, []).append(v)
                for members in groups.values():
                    if len(members) < 2:
                        continue
                    members.sort(key=lambda x: (-self.cov[x], x))
                    best = len(self.seq[members[0]])
                    for v in members[1:]:
                        if abs(len(self.seq[v]) - best) <= max(self.k // 2, max_diff * best):
                            self.remove(v)
                            removed += 1
        if removed:
            self.compact()
        return removed

    def remove_low_coverage(self, ratio: float = 0.1, max_len: int | None = None) -> int:
        """Remove nodes shorter than ``max_len`` (default 2k) whose coverage is below
        ``ratio`` times that of their best-covered neighbour (erroneous connections); then
        compact. Returns nodes removed."""
        max_len = 2 * self.k if max_len is None else max_len
        weak = []
        for u, s in self.seq.items():
            if len(s) >= max_len:
                continue
            nb = [v for e in ((u, True), (u, False)) for v, _ in self.links[e] if v != u]
            if nb and self.cov[u] < ratio * max(self.cov[v] for v in nb):
                weak.append(u)
        for u in weak:
            self.remove(u)
        if weak:
            self.compact()
        return len(weak)

    # ---- output -------------------------------------------------------------------------
    def contigs(self, min_len: int = 0) -> Iterator[tuple[str, str, float]]:
        """(name, sequence, coverage) of nodes of at least ``min_len`` bp, longest first."""
        order = sorted(self.seq, key=lambda u: (-len(self.seq[u]), u))
        for i, u in enumerate(x for x in order if len(self.seq[x]) >= min_len):
            yield f"contig_{i + 1}", self.seq[u], self.cov[u]

    def write_fasta(self, path: str | os.PathLike, min_len: int = 0, width: int = 60) -> int:
        """Contigs FASTA (``>contig_N len=... cov=...``), atomically; returns contigs written."""
        n = 0
        with atomic_path(path) as tmp, open(tmp, "w") as fh:
            for name, seq, cov in self.contigs(min_len):
                fh.write(f">{name} len={len(seq)} cov={cov:.1f}\n")
                for i in range(0, len(seq), width):
                    fh.write(seq[i : i + width] + "\n")
                n += 1
        return n

    def write_gfa(self, path: str | os.PathLike) -> None:
        """GFA 1: ``S`` lines (LN, KC = k-mer count sum, dp = mean coverage) and one ``L``
        line per link (overlap (k-1)M), atomically."""
        names = {u: f"utg{u}" for u in self.seq}
        sign = {True: "+", False: "-"}
        with atomic_path(path) as tmp, open(tmp, "w") as fh:
            fh.write(f"H\tVN:Z:1.0\tKM:i:{self.k}\n")
            for u, s in self.seq.items():
                kc = round(self.cov[u] * self.nk(u))
                fh.write(f"S\t{names[u]}\t{s}\tLN:i:{len(s)}\tKC:i:{kc}\tdp:f:{self.cov[u]:.2f}\n")
            for (u, su), ends in self.links.items():
                for v, sv in ends:
                    if (u, su, v, sv) <= (v, not sv, u, not su):
                        fh.write(
                            f"L\t{names[u]}\t{sign[su]}\t{names[v]}\t{sign[sv]}\t{self.k - 1}M\n"
                        )


def read_gfa(path: str | os.PathLike) -> Graph:
    """A GFA 1 file written by :meth:`Graph.write_gfa` (S and L lines; k from the header's
    ``KM:i`` tag, else from the links' overlap)."""
    seqs: dict[str, tuple[str, float]] = {}
    links = []
    k = 0
    with open(path) as fh:
        for line in fh:
            f = line.rstrip("\n").split("\t")
            if f[0] == "H":
                k = next((int(x[5:]) for x in f[1:] if x.startswith("KM:i:")), k)
            elif f[0] == "S":
                dp = next((float(x[5:]) for x in f[3:] if x.startswith("dp:f:")), 0.0)
                seqs[f[1]] = (f[2], dp)
            elif f[0] == "L":
                links.append((f[1], f[2] == "+", f[3], f[4] == "+"))
                k = k or int(f[5].rstrip("M")) + 1
    g = Graph(k)
    ids = {name: g.add_node(s, c) for name, (s, c) in seqs.items()}
    for a, sa, b, sb in links:
        g.add_link((ids[a], sa), (ids[b], sb))
    return g
