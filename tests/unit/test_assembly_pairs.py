"""Paired-end repeat resolution (biometal.assembly.pairs) in the example assembler: a genome
with a two-copy repeat longer than a read but shorter than the insert (single-read threading
cannot split it, the pairs can), one longer than the insert (nothing may join across it),
QUAST-style evaluation against the reference, and the insert size the pairs measure."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from biometal.assembly.evaluate import evaluate_contigs
from biometal.assembly.example_assembler import AssemblyParams, assemble_files
from biometal.assembly.graph import Graph
from biometal.assembly.pairs import InsertModel, find_paths, join
from biometal.simulate._sequencer import ErrorModel, simulate_pairs

INSERT, SD, READ = 350, 30, 150


def _genome(rng: random.Random, repeat: int) -> tuple[str, int]:
    """U1 R U2 R U3: unique stretches of 6-8 kb around two exact copies of a repeat."""
    rand = lambda n: "".join(rng.choice("ACGT") for _ in range(n))  # noqa: E731
    rep = rand(repeat)
    parts = [rand(n) for n in (7000, 6000, 8000)]
    return parts[0] + rep + parts[1] + rep + parts[2], repeat


def _data(d: Path, genome: str, seed: int, coverage: float = 40.0) -> dict[str, Path]:
    d.mkdir(parents=True, exist_ok=True)
    files = {n: d / n for n in ("ref.fa", "R1.fq.gz", "R2.fq.gz", "single.fq")}
    files["ref.fa"].write_text(f">chr\n{genome}\n")
    rng = np.random.default_rng(seed)
    n = int(coverage * len(genome) / (2 * READ))
    flen = np.clip(np.rint(rng.normal(INSERT, SD, n)).astype(np.int64), READ, None)
    start = rng.integers(0, len(genome) - flen + 1)
    source = np.frombuffer(genome.encode(), np.uint8)
    simulate_pairs(source, start, flen, rng.random(n) < 0.5, [f"p{i}".encode() for i in range(n)],
                   READ, ErrorModel(), np.random.SeedSequence(seed), files["R1.fq.gz"],
                   files["R2.fq.gz"])  # fmt: skip
    import gzip

    with open(files["single.fq"], "wb") as out:  # the same reads as one file: no pairs
        for mate in ("R1.fq.gz", "R2.fq.gz"):
            out.write(gzip.open(files[mate]).read())
    return files


@pytest.fixture(scope="module")
def short_repeat(tmp_path_factory) -> dict[str, Path]:
    genome, _ = _genome(random.Random(11), 250)  # a read < 250 bp < the insert
    return _data(tmp_path_factory.mktemp("pairs"), genome, 5)


def _assemble(reads: list[Path], out: Path) -> dict:
    return assemble_files(reads, out / "a.fa", None, None, AssemblyParams(min_contig=500))


def test_single_reads_leave_the_repeat_pairs_resolve_it(short_repeat, tmp_path):
    f = short_repeat
    genome = len(f["ref.fa"].read_text().split("\n")[1])
    (tmp_path / "s").mkdir()
    single = _assemble([f["single.fq"]], tmp_path / "s")
    ev_single = evaluate_contigs(tmp_path / "s" / "a.fa", f["ref.fa"])
    assert single["pairs"] == {}  # one file: mates are single reads
    assert ev_single["misassemblies"] == 0
    assert ev_single["contigs"] >= 3 and ev_single["nga50"] < 0.5 * genome  # cut at R

    (tmp_path / "p").mkdir()
    paired = _assemble([f["R1.fq.gz"], f["R2.fq.gz"]], tmp_path / "p")
    ev = evaluate_contigs(tmp_path / "p" / "a.fa", f["ref.fa"])
    assert paired["pairs"]["joins"] >= 2
    assert abs(paired["pairs"]["insert_median"] - INSERT) <= 10  # the simulated insert
    assert abs(paired["pairs"]["insert_sd"] - SD) <= 8
    assert ev["misassemblies"] == 0 and ev["mismatches_per_100kb"] < 20
    assert ev["contigs"] == 1 and ev["nga50"] >= 0.99 * genome  # U1 R U2 R U3 in one piece
    assert [s["step"] for s in paired["steps"][-2:]] == ["pairs", "extend"]


def test_repeat_longer_than_the_insert_is_not_joined(tmp_path):
    genome, _ = _genome(random.Random(12), 700)  # no pair reaches across 700 bp
    f = _data(tmp_path / "d", genome, 6)
    stats = _assemble([f["R1.fq.gz"], f["R2.fq.gz"]], tmp_path)
    ev = evaluate_contigs(tmp_path / "a.fa", f["ref.fa"])
    assert stats["pairs"]["joins"] == 0 and ev["misassemblies"] == 0
    assert ev["contigs"] >= 3  # U1, U2, U3 stay apart (the repeat between them unresolved)


def test_paths_and_join_on_a_small_graph():
    # a -> r -> b and c -> r -> d (r a repeat node), k = 5 (4-base overlaps)
    g = Graph(5)
    a, r, b = g.add_node("ACGTTACGA", 10), g.add_node("ACGATTTTGC", 20), g.add_node("TTGCAGGT", 10)
    c, d = g.add_node("GGGGACGA", 10), g.add_node("TTGCCCAA", 10)
    for x, y in ((a, r), (r, b), (c, r), (r, d)):
        g.add_link((x, True), (y, True))
    paths = find_paths(g, (a, True), (b, True), max_gap=100)
    assert paths == [(10 - 2 * 4, [(r, True)])]  # the gap: r's bases between a and b
    assert find_paths(g, (a, True), (b, True), max_gap=1) == []
    n = join(g, (a, True), paths[0][1], (b, True))
    assert g.seq[n] == "ACGTTACGATTTTGCAGGT" and r in g.seq  # r stays for c -> r -> d
    assert g.succ((r, True)) == {(d, True)} and g.pred((r, True)) == {(c, True)}


def test_insert_model_rejects_impossible_gaps():
    rng = np.random.default_rng(1)
    m = InsertModel.fit(rng.normal(INSERT, SD, 5000).round().astype(np.int64))
    assert abs(m.median - INSERT) < 3 and abs(m.sd - SD) < 3
    spans = rng.normal(INSERT - 100, SD, 20).round().astype(np.int64)  # true gap 100
    assert m.loglik(spans, 100, 0) > m.loglik(spans, 0, 0) + 10
    assert m.inside(spans, 100) >= 0.9 > m.inside(spans, 400)
    assert InsertModel.fit(np.arange(50)) is None  # too few pairs to trust
