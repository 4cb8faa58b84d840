"""biometal.assembly end to end: the example assembler on simulated reads (QUAST-style
evaluation against the simulated reference, the repeats' ceiling), the evaluation's
misassembly and error counts on constructed contigs, long-read overlaps and the overlap
graph, peers on the same reads where installed."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest

import biometal.assembly.example_assembler as example
from biometal.assembly.evaluate import evaluate_contigs, read_sequences, repeat_ceiling
from biometal.assembly.example_assembler import (
    LINE_COUNT,
    AssemblyParams,
    assemble_files,
    auto_threshold,
    choose_k,
)
from biometal.assembly.graph import read_gfa, revcomp
from biometal.assembly.overlap import OverlapGraph, find_overlaps
from biometal.assembly.peers import run_assembler
from biometal.assembly.simulate import simulate_assembly_data
from biometal.errors import ConfigError


@pytest.fixture(scope="module")
def sim(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("asm")
    files = {n: d / n for n in ("ref.fa", "rep.bed", "R1.fq.gz", "R2.fq.gz")}
    simulate_assembly_data(
        files["ref.fa"], files["rep.bed"], files["R1.fq.gz"], files["R2.fq.gz"],
        length=60_000, coverage=40, seed=7,
    )  # fmt: skip
    return files


def test_line_count_is_stated():
    n = len(Path(example.__file__).read_text().splitlines())
    assert n == LINE_COUNT and n <= 300


def test_assembler_reaches_the_repeat_ceiling(sim, tmp_path):
    stats = assemble_files(
        [sim["R1.fq.gz"], sim["R2.fq.gz"]], tmp_path / "a.fa", tmp_path / "a.gfa",
        tmp_path / "a.json", AssemblyParams(min_contig=500),
    )  # fmt: skip
    assert json.loads((tmp_path / "a.json").read_text())["k"] == stats["k"]
    assert stats["k"] in range(31, 64, 2) and stats["threshold"] >= 2
    steps = stats["steps"]
    assert steps[0]["step"] == "unitigs" and steps[-1]["nodes"] <= steps[0]["nodes"]
    ev = evaluate_contigs(tmp_path / "a.fa", sim["ref.fa"])
    ceiling = repeat_ceiling(sim["ref.fa"], stats["k"], sim["rep.bed"])
    assert ev["misassemblies"] == 0 and ev["genome_fraction"] > 90
    assert ev["mismatches_per_100kb"] < 50
    assert ev["nga50"] >= 0.9 * ceiling["kmer_ceiling"]
    g = read_gfa(tmp_path / "a.gfa")
    assert g.k == stats["k"] and sum(len(s) >= 500 for s in g.seq.values()) == ev["contigs"]


def test_auto_k_and_threshold():
    hist = [0, 10000, 900, 80, 30, 40, 100, 300, 600, 900, 1000, 800, 400, 100, 10, 0]
    assert auto_threshold(hist) == 2  # valley 4, but depth 10 // 8 = 1 -> 2
    assert choose_k(hist, 150, min_depth=8) == 55  # 10 * (150 - 55 + 1) / 120 >= 8
    assert choose_k([0, 100, 10, 1, 0, 0], 150) == 31  # no coverage peak


def test_bad_parameters_are_config_errors(sim, tmp_path):
    with pytest.raises(ConfigError, match="k: expected"):
        assemble_files([sim["R1.fq.gz"]], tmp_path / "x.fa", params=AssemblyParams(k=64))
    with pytest.raises(ConfigError, match="low_cov_ratio"):
        assemble_files([sim["R1.fq.gz"]], tmp_path / "x.fa",
                       params=AssemblyParams(low_cov_ratio=2.0))  # fmt: skip
    assert not (tmp_path / "x.fa").exists()


def _fasta(path: Path, seqs: list[str]) -> Path:
    path.write_text("".join(f">c{i}\n{s}\n" for i, s in enumerate(seqs)))
    return path


def test_evaluation_counts_misassemblies_and_errors(tmp_path):
    rng = random.Random(3)
    genome = "".join(rng.choice("ACGT") for _ in range(40_000))
    ref = _fasta(tmp_path / "ref.fa", [genome])
    chimera = genome[1000:6000] + genome[20000:25000]  # relocation
    inverted = genome[30000:33000] + revcomp(genome[34000:37000])  # inversion
    snps = list(genome[8000:18000])
    for p in range(500, 10000, 1000):  # 10 substitutions in 10 kb
        snps[p] = "A" if snps[p] != "A" else "C"
    ev = evaluate_contigs(_fasta(tmp_path / "c.fa", [chimera, inverted, "".join(snps)]), ref)
    assert ev["contigs"] == 3 and ev["misassemblies"] == 2
    assert abs(ev["nga50"] - 5000) <= 10  # blocks: 10k, 5k, 5k, 3k, 3k (+- a few bp)
    assert ev["mismatches_per_100kb"] == pytest.approx(10 / 26000 * 1e5, rel=0.05)
    assert ev["genome_fraction"] == pytest.approx(100 * 26000 / 40000, abs=0.5)
    perfect = evaluate_contigs(_fasta(tmp_path / "p.fa", [genome]), ref)
    assert perfect["nga50"] == 40000 and perfect["misassemblies"] == 0


def test_repeat_ceiling_from_the_repeat_table(tmp_path):
    rng = random.Random(4)
    rep = "".join(rng.choice("ACGT") for _ in range(300))
    parts = ["".join(rng.choice("ACGT") for _ in range(n)) for n in (5000, 8000, 3000)]
    ref = _fasta(tmp_path / "r.fa", [parts[0] + rep + parts[1] + rep + parts[2]])
    (tmp_path / "r.bed").write_text("c0\t5000\t5300\tRF1\t0\t+\nc0\t13300\t13600\tRF1\t0\t+\n")
    c = repeat_ceiling(ref, 31, tmp_path / "r.bed")
    # pieces 8000, 5000, 3000 of 16.6 kb: NG50 5000; unitigs keep k-1 repeat bases a side
    assert c["repeat_ceiling"] == 5000
    assert 5000 <= c["kmer_ceiling"] <= 5000 + 2 * 30


def _noisy(rng, s: str, e: float = 0.03) -> str:
    out = []
    for c in s:
        r = rng.random()
        if r < e / 3:
            continue
        if r < 2 * e / 3:
            out.append(rng.choice("ACGT"))
        elif r < e:
            c = rng.choice("ACGT")
        out.append(c)
    return "".join(out)


def test_long_read_overlaps_and_overlap_graph():
    rng = random.Random(1)
    genome = "".join(rng.choice("ACGT") for _ in range(30_000))
    reads, truth, pos = [], [], 0
    while pos < len(genome) - 3000:
        s = genome[pos : pos + rng.randint(3000, 5000)]
        minus = rng.random() < 0.5
        reads.append(_noisy(rng, revcomp(s) if minus else s))
        truth.append((pos, pos + len(s)))
        pos += rng.randint(1000, 2000)
    overlaps = find_overlaps(reads)
    found = {(min(o.a, o.b), max(o.a, o.b)) for o in overlaps}
    expected = {
        (i, j)
        for i in range(len(truth))
        for j in range(i + 1, len(truth))
        if min(truth[i][1], truth[j][1]) - max(truth[i][0], truth[j][0]) >= 700
    }
    assert expected <= found  # every true overlap of 700+ bp is found
    for o in overlaps:  # and every overlap found is true, with ~3% error identity
        i, j = sorted((o.a, o.b))
        assert min(truth[i][1], truth[j][1]) - max(truth[i][0], truth[j][0]) > 300
        assert 0.85 < o.identity < 0.99
    g = OverlapGraph.build([len(r) for r in reads], overlaps)
    g.reduce()
    paths = g.paths()
    assert len(paths) == 1  # one layout through every read that is not contained
    assert {r for r, _ in paths[0]} | g.contained == set(range(len(reads)))


@pytest.mark.parametrize("tool", ["minia", "velvet"])
def test_peers_run_on_the_same_reads(sim, tmp_path, tool):
    exe = {"minia": "minia", "velvet": "velveth"}[tool]
    if shutil.which(exe) is None:
        pytest.skip(f"{exe} not installed")
    run = run_assembler(tool, sim["R1.fq.gz"], sim["R2.fq.gz"], tmp_path / "c.fa",
                        tmp_path / "work", k=31)  # fmt: skip
    assert run["cpu_s"] > 0 and run["max_rss_mb"] > 1
    ev = evaluate_contigs(tmp_path / "c.fa", sim["ref.fa"])
    assert ev["genome_fraction"] > 80


ECOLI = Path("/usr/share/spades/test_dataset")  # Debian spades: real Illumina reads


def test_real_reads_assemble_into_the_reference(tmp_path):
    """SPAdes' E. coli test reads (1 kb of MG1655): one contig, the reference itself (the
    end extension adds nothing past a sequence's end that its reads do not carry)."""
    if not (ECOLI / "ecoli_1K_1.fq.gz").exists():
        pytest.skip("spades test_dataset not installed")
    reads = [ECOLI / "ecoli_1K_1.fq.gz", ECOLI / "ecoli_1K_2.fq.gz"]
    assemble_files(reads, tmp_path / "a.fa", None, None, AssemblyParams(min_contig=200))
    ((_, contig),) = read_sequences(tmp_path / "a.fa")
    ((_, ref),) = read_sequences(ECOLI / "reference_1K.fa.gz")
    assert contig in (ref, revcomp(ref))
