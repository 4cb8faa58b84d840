"""The exact k-mer classifier against a naive Python reference."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from biometal.io.fastx import ReadChunk
from biometal.ml.kmer_classify import KmerClassifier, encode

COMP = str.maketrans("ACGT", "TGCA")


def _canon(s: str) -> str:
    r = s.translate(COMP)[::-1]
    return min(s, r)


def _naive_index(genomes: dict[str, list[str]], k: int) -> dict[str, int]:
    owner: dict[str, set] = {}
    classes = sorted(genomes)
    for i, g in enumerate(classes):
        for seq in genomes[g]:
            for j in range(len(seq) - k + 1):
                km = seq[j : j + k]
                if "N" not in km:
                    owner.setdefault(_canon(km), set()).add(i)
    return {km: (next(iter(s)) if len(s) == 1 else -1) for km, s in owner.items()}


def _naive_classify(index, read: str, k: int, n: int, min_hits: int = 1) -> int:
    hits = [0] * n
    for j in range(len(read) - k + 1):
        km = read[j : j + k]
        if "N" in km:
            continue
        v = index.get(_canon(km))
        if v is not None and v >= 0:
            hits[v] += 1
    best = max(hits)
    if best < min_hits or best == 0 or hits.count(best) > 1:
        return -1
    return hits.index(best)


def _fasta(tmp_path, genomes):
    lines = []
    for g, seqs in genomes.items():
        for j, s in enumerate(seqs):
            lines += [f">{g}_c{j + 1}", s]
    p = tmp_path / "g.fa"
    p.write_text("\n".join(lines) + "\n")
    return p


def _chunk(reads):
    codes = np.concatenate([encode(r) for r in reads]) if reads else np.zeros(0, np.uint8)
    off = np.cumsum([0, *map(len, reads)]).astype(np.int64)
    return ReadChunk(codes, np.zeros_like(codes), off)


dna = st.text("ACGT", min_size=0, max_size=60)
dna_n = st.text("ACGTN", min_size=0, max_size=40)


@settings(max_examples=40, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["gA", "gB", "gC"]), st.lists(dna, min_size=1, max_size=2), min_size=1
    ),
    st.lists(dna_n, min_size=1, max_size=8),
    st.integers(3, 9),
    st.integers(1, 3),
)
def test_classifier_matches_naive(tmp_path_factory, genomes, reads, k, min_hits):
    tmp = tmp_path_factory.mktemp("kc")
    # reads built partly from the genomes so that there are hits
    src = [s for seqs in genomes.values() for s in seqs if len(s) > k]
    reads = reads + [s[: len(s) // 2 + k] for s in src] + [s.translate(COMP)[::-1] for s in src]
    clf = KmerClassifier.build(_fasta(tmp, genomes), k=k)
    index = _naive_index(genomes, k)
    assert clf.classes == sorted(genomes)
    assert len(clf.keys) == len(index) and clf.n_shared == sum(v < 0 for v in index.values())
    got = clf.classify(_chunk(reads), min_hits=min_hits)
    want = [_naive_classify(index, r, k, len(clf.classes), min_hits) for r in reads]
    assert got.tolist() == want


def test_k31_on_random_genomes(tmp_path):
    rng = np.random.default_rng(0)
    genomes = {f"genome{i}": ["".join(rng.choice(list("ACGT"), 3000))] for i in range(3)}
    shared = genomes["genome0"][0][:500]
    genomes["genome1"][0] = shared + genomes["genome1"][0]  # 500 bp shared region
    clf = KmerClassifier.build(_fasta(tmp_path, genomes), k=31)
    naive = _naive_index(genomes, 31)
    assert clf.n_shared == sum(v < 0 for v in naive.values()) >= 500 - 31 + 1
    reads = [genomes["genome2"][0][100:250], shared[100:250], genomes["genome1"][0][1000:1150]]
    assert clf.classify(_chunk(reads)).tolist() == [2, -1, 1]
    clf.save(tmp_path / "idx.npz")
    again = KmerClassifier.load(tmp_path / "idx.npz")
    assert again.classes == clf.classes and np.array_equal(again.keys, clf.keys)
    with pytest.raises(Exception, match="not a k-mer classifier"):
        KmerClassifier.load(tmp_path / "g.fa")
