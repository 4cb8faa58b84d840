"""Per-site statistics against scipy and brute-force references."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy import stats

from biometal.variants import sitestats as S


@given(n=st.integers(0, 200), k=st.integers(-2, 210), p=st.floats(1e-6, 0.5))
@example(n=178, k=162, p=0.01171875)  # the far tail, found by hypothesis in CI
@example(n=93, k=58, p=3.388050247203934e-06)
@settings(max_examples=200, deadline=None)
def test_binomial_sf_is_the_upper_tail(n, k, p):
    k = min(k, n + 1)
    expected = 1.0 if k <= 0 else sum(stats.binom.pmf(i, n, p) for i in range(k, n + 1))
    got = S.binomial_sf(np.array([k]), np.array([n]), np.array([p]))[0]
    if expected > 1e-280:
        assert got == pytest.approx(expected, rel=1e-9, abs=1e-300)
    else:
        # below ~1e-280 scipy's binom.sf (Boost's ibeta; binomial_sf is it bit for bit)
        # loses digits: against the exact rational tail, n=178 k=162 p=3/256 is 2.4e-9 off
        # at 2.9e-291 and n=93 k=58 p=3.39e-6 7% off at 2.6e-292 (0.3 on the phred scale,
        # where the tests are capped at 3000): compared on the phred scale there
        assert got <= 1e-279
        if expected > 0 and got > 0:
            assert -10 * math.log10(got) == pytest.approx(-10 * math.log10(expected), abs=0.5)


@given(
    n=st.integers(1, 150), k=st.integers(0, 150), p=st.floats(1e-4, 0.3), rho=st.floats(1e-3, 0.5)
)
@settings(max_examples=150, deadline=None)
def test_betabinomial_sf_matches_scipy_parametrisation(n, k, p, rho):
    k = min(k, n)
    a = p * (1 - rho) / rho
    b = (1 - p) * (1 - rho) / rho
    pmf = stats.betabinom.pmf(np.arange(k, n + 1), n, a, b)
    expected = 1.0 if k <= 0 else pmf.sum()
    got = S.betabinomial_sf(np.array([k]), np.array([n]), np.array([p]), rho)[0]
    assert got == pytest.approx(expected, rel=1e-3, abs=1e-300)  # scipy sf vs pmf sum, far tails
    # mean and overdispersion are what the parametrisation promises
    mean, var = stats.betabinom.stats(n, a, b, moments="mv")
    assert mean == pytest.approx(n * p)
    assert var == pytest.approx(n * p * (1 - p) * (1 + (n - 1) * rho))


def test_betabinomial_is_more_conservative_and_tends_to_binomial():
    n, k, p = np.array([40]), np.array([6]), np.array([0.01])
    binom = S.binomial_sf(k, n, p)[0]
    assert S.betabinomial_sf(k, n, p, 0.05)[0] > binom
    assert S.betabinomial_sf(k, n, p, 1e-8)[0] == pytest.approx(binom, rel=1e-4)
    with pytest.raises(ValueError):
        S.betabinomial_sf(k, n, p, 0.0)


def brute_force_gl(n_ref, n_alt, e_ref, e_alt, snp=True):
    """Product over reads of P(read | genotype), each read on its own (log10)."""
    div = 3.0 if snp else 1.0
    reads = [("R", e_ref)] * n_ref + [("A", e_alt)] * n_alt
    out = []
    for g in (("R", "R"), ("R", "A"), ("A", "A")):
        total = 0.0
        for allele, e in reads:
            p = sum((1 - e) if h == allele else e / div for h in g) / 2
            total += math.log10(p)
        out.append(total)
    return out


@pytest.mark.parametrize(
    ("n_ref", "n_alt", "e_ref", "e_alt"),
    [
        (10, 0, 0.01, 0.01),
        (7, 6, 0.001, 0.05),
        (0, 12, 0.02, 0.002),
        (30, 2, 0.05, 0.05),
        (1, 1, 1e-5, 0.3),
    ],
)
@pytest.mark.parametrize("snp", [True, False])
def test_genotype_likelihoods_brute_force(n_ref, n_alt, e_ref, e_alt, snp):
    gl = S.genotype_log10_likelihoods(
        np.array([n_ref]), np.array([n_alt]), np.array([e_ref]), np.array([e_alt]), snp=snp
    )[0]
    np.testing.assert_allclose(gl, brute_force_gl(n_ref, n_alt, e_ref, e_alt, snp), rtol=1e-10)


def test_posteriors_gq_qual_pl():
    gl = S.genotype_log10_likelihoods(
        np.array([10, 0, 15, 30]), np.array([10, 20, 0, 2]), np.full(4, 0.01), np.full(4, 0.01)
    )
    post = S.genotype_posteriors(gl, 0.001)
    np.testing.assert_allclose((10.0**post).sum(axis=1), 1.0)
    prior = S.log10_priors(0.001)
    manual = gl + prior
    manual = manual - np.log10((10.0**manual).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(post, manual, atol=1e-12)
    gt, gq, qual = S.call_genotypes(post)
    assert gt.tolist() == [1, 2, 0, 0]
    p = 10.0**post
    for i in range(4):
        wrong = 1 - p[i, gt[i]]
        assert gq[i] == min(99, round(-10 * math.log10(wrong))) if wrong > 0 else gq[i] == 99
        if p[i, 0] > 0:
            assert qual[i] == pytest.approx(min(-10 * math.log10(p[i, 0]), 3000.0), rel=1e-9)
    pl = S.phred_likelihoods(gl)
    assert (pl.min(axis=1) == 0).all()
    np.testing.assert_array_equal(pl, np.rint(-10 * (gl - gl.max(axis=1, keepdims=True))))


def test_mean_error_and_phred():
    e = S.mean_error(np.array([300, 0]), np.array([10, 0]))
    assert e[0] == pytest.approx(1e-3) and e[1] == pytest.approx(1e-2)  # default Q20
    assert S.pvalue_to_phred(np.array([1e-3, 0.0, 1.0])).tolist() == [30.0, 3000.0, 0.0]


def test_vectorised_equals_scalar():
    rng = np.random.default_rng(0)
    n_ref, n_alt = rng.integers(0, 40, 50), rng.integers(0, 40, 50)
    e_ref, e_alt = rng.uniform(1e-4, 0.1, 50), rng.uniform(1e-4, 0.1, 50)
    vec = S.genotype_log10_likelihoods(n_ref, n_alt, e_ref, e_alt)
    for i, j in itertools.product(range(50), [0]):
        del j
        one = S.genotype_log10_likelihoods(
            n_ref[i : i + 1], n_alt[i : i + 1], e_ref[i : i + 1], e_alt[i : i + 1]
        )
        np.testing.assert_array_equal(vec[i], one[0])
