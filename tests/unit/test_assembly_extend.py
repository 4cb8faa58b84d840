"""Contig ends extended by the reads anchored on them (biometal.assembly.extend): a genome
with a diverged tandem array between two unique stretches, reads with the error model's
errors; the unique contigs must grow into the array, and every extended contig must still
be the genome's sequence (the simulated reference is the oracle)."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from biometal.assembly.example_assembler import AssemblyParams, auto_threshold, simplify
from biometal.assembly.extend import consensus, extend_ends, supported
from biometal.assembly.graph import Graph, revcomp
from biometal.assembly.kmers import count_fastq
from biometal.io.encoding import encode
from biometal.simulate._sequencer import ErrorModel, simulate_pairs

READ, K = 150, 31


def _genome(rng: random.Random) -> str:
    """X, 20 copies of a 57 bp unit with a substitution in every third copy, Y."""
    rand = lambda n: "".join(rng.choice("ACGT") for _ in range(n))  # noqa: E731
    unit = rand(57)
    copies = []
    for i in range(20):
        u = list(unit)
        if i % 3 == 0:
            p = rng.randrange(57)
            u[p] = rng.choice([b for b in "ACGT" if b != u[p]])
        copies.append("".join(u))
    return rand(5000) + "".join(copies) + rand(5000)


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict:
    d: Path = tmp_path_factory.mktemp("extend")
    genome = _genome(random.Random(3))
    rng = np.random.default_rng(9)
    n = int(40 * len(genome) / (2 * READ))
    flen = np.clip(np.rint(rng.normal(350, 40, n)).astype(np.int64), READ, None)
    start = rng.integers(0, len(genome) - flen + 1)
    source = np.frombuffer(genome.encode(), np.uint8)
    reads = [d / "R1.fq.gz", d / "R2.fq.gz"]
    simulate_pairs(source, start, flen, rng.random(n) < 0.5, [f"p{i}".encode() for i in range(n)],
                   READ, ErrorModel(), np.random.SeedSequence(9), *reads)  # fmt: skip
    return {"genome": genome, "reads": reads}


def _graph(reads) -> Graph:
    table = count_fastq(reads, K)
    g = Graph.from_table(table.solid(auto_threshold(table.histogram(100))))
    simplify(g, AssemblyParams(k=K))
    return g


def test_unique_contigs_grow_into_the_tandem_array(data):
    genome, reads = data["genome"], data["reads"]
    g = _graph(reads)
    before = {u: s for u, s in g.seq.items() if len(s) >= 1000}
    assert len(before) >= 2  # X and Y, cut at the array
    stats = extend_ends(g, reads, READ)
    assert stats["extended"] >= 2 and stats["bases"] > 0
    grown = 0
    for u, old in before.items():
        new = g.seq[u]
        assert old in new  # the old contig, extended at either end
        assert new in genome or revcomp(new) in genome  # the oracle: the genome itself
        grown += len(new) - len(old)
        if len(new) > len(old):  # an extended end keeps no link it would overlap wrongly
            k1 = g.k - 1
            for s in (True, False):
                for v in g.succ((u, s)):
                    assert g.oriented((u, s))[-k1:] == g.oriented(v)[:k1]
    assert grown >= 60  # into the array, past where the graph branches


def test_consensus_stops_where_the_reads_disagree():
    reads = [encode(x) for x in ("ACGTAC", "ACGTAG", "ACGTTT", "ACGAAA")]
    assert consensus(reads, min_support=2) == "ACGTA"  # then C/G/T/A: one read each
    assert consensus(reads[:2], min_support=2) == "ACGTA"  # C vs G: neither 2x the other
    assert consensus(reads[:1], min_support=2) == ""  # one read is not enough
    assert supported("ACGTAC", reads) == 5  # the 6th base: 1 read with it, 3 without
    assert supported("ACGTTT", reads[2:3]) == 6  # a graph path one read carries
    assert supported("ACGA", reads[:2]) == 3
