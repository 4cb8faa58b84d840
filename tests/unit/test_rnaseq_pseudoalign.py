"""Pseudoalignment against a naive one (intersection of every k-mer's transcript set), and the
EM against a naive numpy EM."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rnaseq_helpers import naive_index, related_transcripts, revcomp, write_fasta

from biometal.io import ReadChunk
from biometal.io.encoding import encode
from biometal.rnaseq.em import (
    CHANGE_LIMIT,
    MIN_ROUNDS,
    REL_CHANGE,
    effective_lengths,
    normal_fragment_pmf,
    run_em,
    tpm_from_counts,
)
from biometal.rnaseq.index import build_index
from biometal.rnaseq.pseudoalign import ECRegistry, pseudoalign
from biometal.simulate.transcriptome import effective_lengths as sim_effective_lengths

# ----------------------------------------------------------------------------- helpers


def chunk(reads: list[str]) -> ReadChunk:
    codes = encode("".join(reads)) if reads else np.zeros(0, np.uint8)
    off = np.zeros(len(reads) + 1, np.int64)
    np.cumsum([len(r) for r in reads], out=off[1:])
    return ReadChunk(codes, np.zeros_like(codes), off)


def naive_class(reads: list[str], naive: dict[str, set[int]], k: int) -> set[int]:
    """Intersection of the transcript sets of every k-mer of the reads found in the index."""
    out: set[int] | None = None
    for r in reads:
        for i in range(len(r) - k + 1):
            w = r[i : i + k]
            if not set(w) <= set("ACGT"):
                continue
            txs = naive.get(min(w, revcomp(w)))
            if txs is not None:
                out = set(txs) if out is None else out & txs
    return out or set()


def classes_of(registry: ECRegistry, ec: np.ndarray) -> list[set[int]]:
    off, tx = registry.csr()
    return [set(tx[off[e] : off[e + 1]].tolist()) if e >= 0 else set() for e in ec.tolist()]


def cut_reads(seqs, rng, n, read_len, frag_len, error_rate=0.0):
    """Pairs cut from random transcripts: (mate1, mate2 reverse strand, transcript)."""
    out = []
    for _ in range(n):
        t = int(rng.integers(len(seqs)))
        s = seqs[t]
        f = min(frag_len, len(s))
        a = int(rng.integers(0, len(s) - f + 1))
        frag = s[a : a + f]
        if rng.random() < 0.5:
            frag = revcomp(frag)
        m1, m2 = frag[:read_len], revcomp(frag)[:read_len]
        if error_rate:
            m1, m2 = (
                "".join(rng.choice(list("ACGTN")) if rng.random() < error_rate else c for c in m)
                for m in (m1, m2)
            )
        out.append((m1, m2, t))
    return out


# ----------------------------------------------------------------------------- pseudoalignment


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), k=st.sampled_from([5, 7, 9]), paired=st.booleans())
def test_error_free_reads_get_the_exact_intersection(seed: int, k: int, paired: bool) -> None:
    """Skipping along unitigs looks at fewer k-mers but must give the same class."""
    seqs = related_transcripts(seed, 6, 80)
    with tempfile.TemporaryDirectory() as tmp:
        index = build_index(write_fasta(Path(tmp) / "tx.fa", seqs), k)
    naive = naive_index(seqs, k)
    rng = np.random.default_rng(seed)
    pairs = cut_reads(seqs, rng, 60, 30, 45)
    registry = ECRegistry(index)
    ec, _ = pseudoalign(
        index,
        registry,
        chunk([p[0] for p in pairs]),
        chunk([p[1] for p in pairs]) if paired else None,
    )
    got = classes_of(registry, ec)
    for (m1, m2, t), g in zip(pairs, got, strict=True):
        want = naive_class([m1, m2] if paired else [m1], naive, k)
        assert g == want, (m1, m2, g, want)
        if len(m1) >= k:
            assert t in g


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), k=st.sampled_from([7, 9, 11]))
def test_reads_with_errors_get_a_superset_of_the_intersection(seed: int, k: int) -> None:
    """With errors, windows holding a differing base are skipped (kallisto looks them up and
    may hit an unrelated class by chance): the class is that of a subset of the k-mers, so a
    superset of the exhaustive intersection, and equal to it whenever that is not empty and
    no skipped window was a chance hit."""
    seqs = related_transcripts(seed, 6, 120)
    with tempfile.TemporaryDirectory() as tmp:
        index = build_index(write_fasta(Path(tmp) / "tx.fa", seqs), k)
    naive = naive_index(seqs, k)
    rng = np.random.default_rng(seed)
    pairs = cut_reads(seqs, rng, 60, 40, 60, error_rate=0.03)
    registry = ECRegistry(index)
    ec, _ = pseudoalign(index, registry, chunk([p[0] for p in pairs]), chunk([p[1] for p in pairs]))
    for (m1, m2, _), g in zip(pairs, classes_of(registry, ec), strict=True):
        want = naive_class([m1, m2], naive, k)
        if want:
            assert g >= want, (m1, m2, g, want)


def test_new_classes_are_registered_once(tmp_path: Path) -> None:
    """x is in t0, t1, t3 and y in t1, t2, t3; no k-mer is in exactly {t1, t3}, so a pair
    with one mate in x and one in y makes a class that is not in the index."""
    x, y, p, q = (
        "ACGTTGCAAGGCTTACCGAT",
        "GGCATCGATTACGTTAGCCA",
        "TTGACCAGTAGCATGCAAGT",
        "CAGTCCATGAGGATCCTTAC",
    )
    seqs = [x + p, x + y, y + q, x + q + y]
    index = build_index(write_fasta(tmp_path / "tx.fa", seqs), 7)
    assert {1, 3} not in [set(index.ec(e).tolist()) for e in range(index.n_ecs)]
    m1 = [x[:15], x[2:18], y[:12]]
    m2 = [revcomp(y[3:18]), revcomp(y[:16]), revcomp(x[4:20])]
    registry = ECRegistry(index)
    ec, _ = pseudoalign(index, registry, chunk(m1), chunk(m2))
    assert classes_of(registry, ec) == [{1, 3}] * 3
    assert ec[0] == ec[1] == ec[2] == index.n_ecs and registry.n_new == 1
    ec2, _ = pseudoalign(index, registry, chunk(m1), chunk(m2))
    assert ec2.tolist() == ec.tolist() and registry.n_new == 1


def test_fragment_lengths_of_pairs_on_one_transcript(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    seqs = ["".join(rng.choice(list("ACGT"), size=600)) for _ in range(3)]
    index = build_index(write_fasta(tmp_path / "tx.fa", seqs), 15)
    pairs = cut_reads(seqs, rng, 50, 40, 200)
    ec, flen = pseudoalign(
        index, ECRegistry(index), chunk([p[0] for p in pairs]), chunk([p[1] for p in pairs])
    )
    assert ec.tolist() == [p[2] for p in pairs]
    assert (flen == 200).all()


def test_short_reads_and_n_are_unaligned(tmp_path: Path) -> None:
    seqs = related_transcripts(2, 4, 60)
    index = build_index(write_fasta(tmp_path / "tx.fa", seqs), 9)
    reads = ["", "ACG", "N" * 40, seqs[0][:8] + "N" + seqs[0][9:17]]
    ec, flen = pseudoalign(index, ECRegistry(index), chunk(reads))
    assert ec.tolist() == [-1, -1, -1, -1]
    assert (flen == -1).all()


# ----------------------------------------------------------------------------- EM


def naive_em(ecs: list[list[int]], counts, eff, max_rounds=10_000):
    """kallisto's EM written out with numpy, same stopping rule and zeroing."""
    n = len(eff)
    alpha = np.full(n, 1.0 / n)
    w = 1.0 / np.asarray(eff, float)
    rounds = 0
    for it in range(max_rounds):
        nxt = np.zeros(n)
        for txs, c in zip(ecs, counts, strict=True):
            if c == 0:
                continue
            txs = np.asarray(txs)
            if len(txs) == 1:
                nxt[txs[0]] += c
                continue
            p = alpha[txs] * w[txs]
            if p.sum() > 0:
                nxt[txs] += c * p / p.sum()
        big = nxt > CHANGE_LIMIT
        changed = np.sum(np.abs(nxt[big] - alpha[big]) / nxt[big] > REL_CHANGE)
        alpha = nxt
        rounds = it + 1
        if changed == 0 and it > MIN_ROUNDS:
            break
    alpha[alpha < 1e-8] = 0
    return alpha, rounds


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_tx=st.integers(1, 12), n_ec=st.integers(1, 25))
def test_em_equals_naive_em(seed: int, n_tx: int, n_ec: int) -> None:
    rng = np.random.default_rng(seed)
    ecs = [[t] for t in range(n_tx)]
    for _ in range(n_ec):
        size = int(rng.integers(1, n_tx + 1))
        ecs.append(sorted(rng.choice(n_tx, size=size, replace=False).tolist()))
    counts = rng.integers(0, 50, size=len(ecs)) * (rng.random(len(ecs)) < 0.7)
    eff = rng.uniform(1, 2000, size=n_tx)
    off = np.zeros(len(ecs) + 1, np.int64)
    np.cumsum([len(e) for e in ecs], out=off[1:])
    res = run_em(off, np.concatenate(ecs).astype(np.int32), counts, eff)
    want, rounds = naive_em(ecs, counts, eff)
    np.testing.assert_allclose(res.est_counts, want, rtol=1e-9, atol=1e-12)
    assert res.rounds == rounds
    assert res.est_counts.sum() == pytest.approx(counts.sum())
    np.testing.assert_allclose(res.tpm, tpm_from_counts(want, eff), rtol=1e-9, atol=1e-9)


def test_em_splits_a_shared_class_by_the_unique_evidence() -> None:
    # t0 has 100 unique fragments, t1 has 300, both 100 shared; equal lengths -> 25/75 split
    off = np.array([0, 1, 2, 4])
    tx = np.array([0, 1, 0, 1], np.int32)
    res = run_em(off, tx, np.array([100, 300, 100]), np.array([500.0, 500.0]))
    np.testing.assert_allclose(res.est_counts, [125, 375], rtol=1e-3)
    np.testing.assert_allclose(res.tpm, [250_000, 750_000], rtol=1e-3)
    assert res.converged


def test_effective_lengths_match_the_simulator() -> None:
    lengths = np.array([1, 50, 200, 250, 300, 999, 1000, 5000])
    pmf = normal_fragment_pmf(250, 40, 999)
    np.testing.assert_allclose(
        effective_lengths(lengths, pmf), sim_effective_lengths(lengths, 250, 40), rtol=1e-9
    )
    assert (effective_lengths(lengths, pmf) >= 1).all()
