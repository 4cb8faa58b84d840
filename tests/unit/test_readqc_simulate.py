"""Realistic sequencing errors in the simulator (issue 13, item 1) and their truth."""

from __future__ import annotations

import gzip
import hashlib

import numpy as np
import pytest

from biometal.errors import ConfigError
from biometal.simulate._seq import CODE
from biometal.simulate._sequencer import (
    PAD,
    ErrorModel,
    build_templates,
    read_error_truth,
    sequence_templates,
    simulate_pairs,
)

#: sha256 of the decompressed FASTQ files and per-read arrays of :func:`_pairs_digest`,
#: computed with the simulator as it was before the realistic-error options existed.
DIGEST_BEFORE = "d5dd2fae1deb23f3b70378d8dc184aebfe4e0c22a22e3d22bebaf609fde85f68"


def _pairs_digest(tmp_path, truth: bool = False) -> str:
    h = hashlib.sha256()
    rng = np.random.default_rng(7)
    source = np.frombuffer(b"ACGT", np.uint8)[rng.integers(0, 4, 50_000)]
    n = 3000
    start = rng.integers(0, 49_000, n)
    flen = rng.integers(80, 500, n)
    minus = rng.random(n) < 0.5
    names = [f"r{i}".encode() for i in range(n)]
    models = (ErrorModel(), ErrorModel(indel_error_rate=0.01, n_rate=0.01, sub_rate_end=0.05))
    for k, model in enumerate(models):
        a, b = tmp_path / f"a{k}.fq.gz", tmp_path / f"b{k}.fq.gz"
        t = (tmp_path / f"a{k}.truth.gz", tmp_path / f"b{k}.truth.gz") if truth else None
        res = simulate_pairs(
            source, start, flen, minus, names, 150, model, np.random.SeedSequence(11), a, b,
            truth_out=t,
        )  # fmt: skip
        for f in (a, b):
            h.update(gzip.decompress(f.read_bytes()))
        for key in sorted(res):
            h.update(res[key].tobytes())
    return h.hexdigest()


def test_defaults_byte_identical_to_before(tmp_path):
    assert _pairs_digest(tmp_path) == DIGEST_BEFORE


def test_truth_sidecar_does_not_change_reads(tmp_path):
    assert _pairs_digest(tmp_path, truth=True) == DIGEST_BEFORE
    truth = read_error_truth(tmp_path / "a1.truth.gz")
    assert len(truth.names) == 3000 and truth.sub.shape == (3000, 150)


def _batch(model: ErrorModel, n: int = 4000, length: int = 100, seed: int = 1, source=None):
    rng = np.random.default_rng(seed)
    if source is None:
        source = np.frombuffer(b"ACGT", np.uint8)[rng.integers(0, 4, 200_000)]
    start = rng.integers(0, source.size - 600, n)
    flen = np.full(n, 500)
    tpl = build_templates(source, start, flen, rng.random(n) < 0.5, "A" * 10, length + PAD)
    mu = model.quality_profile(length)
    return tpl, sequence_templates(tpl, length, model, mu, rng, flen)


def test_truth_matches_reads_and_template():
    model = ErrorModel(indel_error_rate=0.0, sub_rate_end=0.05, n_rate=0.0)
    tpl, b = _batch(model)
    length = b.seqs.shape[1]
    assert np.array_equal(b.true_base, tpl[:, :length])  # no indels: template in place
    differs = b.seqs != tpl[:, :length]
    assert np.array_equal(differs, b.sub)
    assert np.array_equal(b.sub.sum(axis=1), b.n_sub)
    assert not b.inserted.any()


def test_truth_round_trip_through_sidecar(tmp_path):
    model = ErrorModel(indel_error_rate=0.005, sub_rate_end=0.05, motif_error_factor=5.0)
    rng = np.random.default_rng(3)
    source = np.frombuffer(b"ACGT", np.uint8)[rng.integers(0, 4, 20_000)]
    n = 500
    names = [f"q{i}".encode() for i in range(n)]
    start, flen = rng.integers(0, 19_000, n), rng.integers(150, 400, n)
    r1, r2 = tmp_path / "r1.fq.gz", tmp_path / "r2.fq.gz"
    t1, t2 = tmp_path / "r1.truth.tsv.gz", tmp_path / "r2.truth.tsv"
    res = simulate_pairs(
        source, start, flen, rng.random(n) < 0.5, names, 100, model,
        np.random.SeedSequence(5), r1, r2, truth_out=(t1, t2),
    )  # fmt: skip
    for fq, tr, mate in ((r1, t1, "r1"), (r2, t2, "r2")):
        truth = read_error_truth(tr)
        lines = gzip.decompress(fq.read_bytes()).decode().splitlines()
        seqs = np.array([np.frombuffer(s.encode(), np.uint8) for s in lines[1::4]])
        assert truth.names == [x.decode() for x in names]
        assert np.array_equal(truth.sub.sum(axis=1), res[f"{mate}_n_sub"])
        assert np.all(seqs[truth.sub] != truth.true_base[truth.sub])
        assert np.all(seqs[truth.sub] != ord("N"))
        assert truth.inserted.sum() > 0
        assert np.all((truth.p_true > 0) & (truth.p_true <= 10**-0.1 + 1e-9))  # Q >= 1


def _rate_after(b, motif: bytes) -> tuple[float, float]:
    codes = CODE[b.true_base]
    n, length = codes.shape
    k = len(motif)
    hit = np.zeros((n, length), bool)
    m = np.ones((n, length - k), bool)
    for i, ch in enumerate(motif):
        m &= codes[:, i : length - k + i] == CODE[ch]
    hit[:, k:] = m
    valid = ~b.inserted & (b.seqs != ord("N"))
    return b.sub[hit & valid].mean(), b.sub[~hit & valid].mean()


def test_motif_effect_present_and_qualities_blind_to_it():
    off = ErrorModel(sub_rate_start=0.005, sub_rate_end=0.02, n_rate=0.0)
    on = ErrorModel(sub_rate_start=0.005, sub_rate_end=0.02, n_rate=0.0, motif_error_factor=8.0)
    _, b_off = _batch(off, n=6000)
    tpl, b_on = _batch(on, n=6000)
    after, other = _rate_after(b_on, b"GGC")
    assert after > 5 * other, (after, other)
    a0, o0 = _rate_after(b_off, b"GGC")
    assert a0 < 2 * o0
    assert np.array_equal(b_off.quals, b_on.quals)  # reported qualities do not change
    # true probability of motif bases is 8x the quality's
    codes = CODE[b_on.true_base]
    hit = (codes[:, :-3] == 2) & (codes[:, 1:-2] == 2) & (codes[:, 2:-1] == 1)
    q = b_on.quals[:, 3:][hit].astype(float) - 33
    assert np.allclose(b_on.p_true[:, 3:][hit], np.minimum(8 * 10 ** (-q / 10), 0.75), rtol=1e-5)


def test_homopolymer_end_cycle_and_bad_cycle_effects():
    base = dict(
        sub_rate_start=0.005, sub_rate_end=0.005, quality_sd=0.0, read_quality_sd=0.0, n_rate=0.0
    )
    runs = np.frombuffer(b"AAAAAC" * 40_000, np.uint8)  # every 6th base ends a run of 5
    _, b = _batch(ErrorModel(**base, homopolymer_error_factor=10.0), source=runs, n=3000)
    _, b0 = _batch(ErrorModel(**base), source=runs, n=3000)
    codes = CODE[b.true_base]
    end = np.zeros_like(b.sub)
    end[:, 4:] = (codes[:, :-4] == codes[:, 1:-3]) & (codes[:, 1:-3] == codes[:, 2:-2])
    end[:, 4:] &= (codes[:, 2:-2] == codes[:, 3:-1]) & (codes[:, 3:-1] != codes[:, 4:])
    assert b.sub[end].mean() > 5 * b.sub[~end].mean()
    assert b0.sub[end].mean() < 2 * b0.sub[~end].mean()
    _, bc = _batch(
        ErrorModel(**base, end_error_factor=10.0, bad_cycles=(10,), bad_cycle_factor=20.0)
    )
    per_cycle = bc.sub.mean(axis=0)
    assert per_cycle[-10:].mean() > 5 * per_cycle[:10].mean()
    assert per_cycle[10] > 5 * np.median(per_cycle[:30])
    assert len(np.unique(bc.quals)) == 1  # qualities flat: the effects are invisible in them


def test_binned_and_offset_qualities():
    bins = (2, 12, 23, 37)
    _, b = _batch(ErrorModel(quality_bins=bins, n_rate=0.01))
    assert set(np.unique(b.quals - 33).tolist()) <= set(bins)
    assert len(set(np.unique(b.quals - 33).tolist())) >= 3
    _, b0 = _batch(ErrorModel(n_rate=0.01))
    _, b5 = _batch(ErrorModel(quality_offset=5, n_rate=0.01))
    assert np.array_equal(b0.seqs, b5.seqs)  # same errors: only the report moves
    not_n = b0.seqs != ord("N")
    assert np.array_equal(b5.quals[not_n].astype(int), np.minimum(b0.quals[not_n] + 5, 93 + 33))
    assert np.all(b5.quals[~not_n] == 2 + 33)
    m = ErrorModel(quality_bins=bins)
    got = m.report(np.array([0, 7, 8, 17, 18, 30, 41], np.uint8)).tolist()
    assert got == [2, 12, 12, 12, 23, 37, 37]  # nearest level, ties up


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("motif_error_factor", -1.0),
        ("motifs", ("GGX",)),
        ("homopolymer_min", 1),
        ("bad_cycles", (-1,)),
        ("quality_offset", 99),
        ("quality_bins", (30, 12)),
        ("quality_bins", (1, 12)),
    ],
)
def test_bad_realism_options_are_config_errors(key, value):
    with pytest.raises(ConfigError, match=key):
        ErrorModel(**{key: value})


def test_realism_from_config():
    from biometal.config import validate_config

    section = validate_config(
        {"simulate": {"errors": {"quality_bins": [2, 12, 23, 37], "motifs": ["ggc", "GGT"]}}}
    )["simulate"]["errors"]
    m = ErrorModel.from_config(section)
    assert m.quality_bins == (2, 12, 23, 37) and m.motifs == ("GGC", "GGT")
