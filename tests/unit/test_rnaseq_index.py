"""The k-mer index against a naive Python one (dicts of k-mer strings), its unitigs checked
base by base, and kallisto's index of the same transcriptome as an oracle for the counts."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rnaseq_helpers import (
    canonical,
    naive_index,
    related_transcripts,
    revcomp,
    unitig_seq,
    write_fasta,
)

from biometal.errors import BiometalError, ConfigError
from biometal.rnaseq.index import (
    build_index,
    index_transcriptome,
    load_index,
    read_transcripts,
    save_index,
)


def check_against_naive(seqs: list[str], k: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        index = build_index(write_fasta(Path(tmp) / "tx.fa", seqs), k)
    naive = naive_index(seqs, k)
    assert index.n_kmers == len(naive)
    assert index.names == [f"t{i}" for i in range(len(seqs))]
    assert index.lengths.tolist() == [len(s) for s in seqs]
    # every class is distinct, singletons first
    sets = [tuple(index.ec(e).tolist()) for e in range(index.n_ecs)]
    assert len(set(sets)) == len(sets)
    assert sets[: len(seqs)] == [(t,) for t in range(len(seqs))]
    for kmer, txs in naive.items():
        for strand in (kmer, revcomp(kmer)):
            e = index.lookup(strand)
            assert e >= 0 and set(index.ec(e).tolist()) == txs, (kmer, txs)
    # unitigs: consecutive k-mers of the unitig sequence, positions 0.., one class
    seen = 0
    for c in range(index.n_contigs):
        useq = unitig_seq(index, c)
        assert len(useq) == index.contig_len[c] + k - 1
        classes = {index.lookup(useq[p : p + k]) for p in range(index.contig_len[c])}
        assert classes == {int(index.contig_ec[c])}
        seen += int(index.contig_len[c])
    assert seen == len(naive)  # every k-mer is in exactly one unitig


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 6), k=st.sampled_from([3, 5, 7, 9]))
def test_index_equals_naive_index(seed: int, n: int, k: int) -> None:
    check_against_naive(related_transcripts(seed, n, 60, n_rate=0.02), k)


def test_index_of_palindromes_and_repeats() -> None:
    # a transcript and its reverse complement share every canonical k-mer; a tandem repeat
    # makes cycles in the graph
    a = "ACGTTGCAAGGCTTACCGATAGGCATCGATTACG"
    seqs = [a, revcomp(a), "ACGACGACGACGACGACGACGACG", "AAAAAAAAAAAAAAAAAAA", a + "TTTT" + a]
    for k in (3, 5, 7, 11):
        check_against_naive(seqs, k)


def test_unitigs_are_maximal(tmp_path: Path) -> None:
    """Two neighbouring unitigs could not be joined: a branch or a class change between."""
    seqs = related_transcripts(11, 8, 80)
    k = 5
    index = build_index(write_fasta(tmp_path / "tx.fa", seqs), k)
    naive = naive_index(seqs, k)

    def succ(seq: str) -> list[str]:
        return [seq[1:] + b for b in "ACGT" if canonical(seq[1:] + b) in naive]

    def pred(seq: str) -> list[str]:
        return [b + seq[:-1] for b in "ACGT" if canonical(b + seq[:-1]) in naive]

    for c in range(index.n_contigs):
        useq = unitig_seq(index, c)
        last = useq[-k:]
        nxt = succ(last)
        if len(nxt) == 1 and len(pred(nxt[0])) == 1 and canonical(nxt[0]) != canonical(last):
            e_last, e_next = index.lookup(last), index.lookup(nxt[0])
            # the only allowed reasons to stop: class change, or a cycle back to the start
            assert e_last != e_next or canonical(nxt[0]) == canonical(useq[:k]), (c, useq)


def test_save_load_roundtrip(tmp_path: Path) -> None:
    seqs = related_transcripts(3, 5, 50)
    index = build_index(write_fasta(tmp_path / "tx.fa", seqs), 7)
    size = save_index(index, tmp_path / "idx.npz")
    assert size == (tmp_path / "idx.npz").stat().st_size
    again = load_index(tmp_path / "idx.npz")
    assert again.k == 7 and again.names == index.names
    for name in ("table", "contig_len", "contig_ec", "useq", "uoff", "ec_off", "ec_tx"):
        np.testing.assert_array_equal(getattr(again, name), getattr(index, name))
    assert not list(tmp_path.glob(".*tmp*"))


def test_index_transcriptome_writes_stats(tmp_path: Path) -> None:
    seqs = related_transcripts(5, 10, 200)
    stats = index_transcriptome(
        write_fasta(tmp_path / "tx.fa", seqs), tmp_path / "i.npz", tmp_path / "i.json", k=11
    )
    assert stats["kmers"] == len(naive_index(seqs, 11))
    assert stats["self_check_pairs"] > 0 and stats["size_bytes"] > 0


def test_transcriptome_errors(tmp_path: Path) -> None:
    (tmp_path / "dup.fa").write_text(">a\nACGTACGTAC\n>b\nACGT\n>a x\nGGGG\n")
    with pytest.raises(BiometalError, match=r"duplicate transcript name 'a' \(records 1 and 3\)"):
        read_transcripts(tmp_path / "dup.fa")
    (tmp_path / "empty.fa").write_text("")
    with pytest.raises(BiometalError, match="no transcripts"):
        build_index(tmp_path / "empty.fa", 31)
    (tmp_path / "short.fa").write_text(">a\nACGT\n")
    with pytest.raises(BiometalError, match="no transcript has a 31-mer"):
        build_index(tmp_path / "short.fa", 31)
    for bad in (30, 33, 1, "31"):
        with pytest.raises(ConfigError, match="rnaseq.k"):
            build_index(tmp_path / "short.fa", bad)
    with pytest.raises(BiometalError, match="not found"):
        load_index(tmp_path / "missing.npz")
    (tmp_path / "junk.npz").write_bytes(b"not an npz")
    with pytest.raises(BiometalError, match="not a biometal k-mer index"):
        load_index(tmp_path / "junk.npz")


@pytest.mark.skipif(shutil.which("kallisto") is None, reason="kallisto not installed")
def test_kmer_and_unitig_counts_match_kallisto(tmp_path: Path) -> None:
    """kallisto's de Bruijn graph of the same transcripts: same k-mers, same contigs."""
    from biometal.simulate import simulate_transcriptome

    fasta = tmp_path / "tx.fa"
    simulate_transcriptome(tmp_path / "a.gtf", fasta, n_genes=80, seed=3)
    index = build_index(fasta, 31)
    out = subprocess.run(
        ["kallisto", "index", "-k", "31", "-i", str(tmp_path / "k.idx"), str(fasta)],
        capture_output=True,
        text=True,
        check=True,
    )
    m = re.search(r"has (\d+) contigs and contains (\d+) k-mers", out.stderr + out.stdout)
    assert m, out.stderr
    assert index.n_kmers == int(m.group(2))
    assert index.n_contigs == int(m.group(1))
