"""biometal.variants.sitestats computes scipy.stats' binomial tail and beta-binomial log-pmf
without importing scipy.stats (it costs every gVCF / calling job ~0.4 CPU s): the results
equal scipy.stats' bit for bit, edge cases (k <= 0, k > n, n = 0, bad p) included."""

from __future__ import annotations

import numpy as np
from scipy import stats

from biometal.variants import sitestats as S


def _same(got: np.ndarray, want: np.ndarray) -> None:
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_array_equal(got.view(np.int64), want.view(np.int64))  # bit for bit


def test_binomial_sf_is_scipys_bit_for_bit():
    rng = np.random.default_rng(5)
    n = rng.integers(0, 400, 20_000)
    k = rng.integers(-3, 420, n.size)
    p = 10.0 ** rng.uniform(-7, 0, n.size)
    p[:50] = [0.0, 1.0, 1.5, -0.1, np.nan] * 10  # bad or edge p
    want = np.where(k <= 0, 1.0, stats.binom.sf(k - 1, n, p))
    _same(S.binomial_sf(k, n, p), want)
    # float counts, a fractional n (NaN), broadcasting a scalar p
    kf, nf = k.astype(float), n.astype(float)
    nf[:10] += 0.5
    _same(S.binomial_sf(kf, nf, 0.01), np.where(kf <= 0, 1.0, stats.binom.sf(kf - 1, nf, 0.01)))
    _same(S.binomial_sf(3, 10, 0.2), np.where(3 <= 0, 1.0, stats.binom.sf(2, 10, 0.2)))


def test_betabinomial_terms_are_scipys_bit_for_bit():
    rng = np.random.default_rng(6)
    n = rng.integers(0, 300, 20_000)
    k = (rng.uniform(size=n.size) * (n + 1)).astype(np.int64)  # 0 <= k <= n
    a = 10.0 ** rng.uniform(-6, 2, n.size)
    b = 10.0 ** rng.uniform(-2, 4, n.size)
    _same(S._betabinom_logpmf(k, n, a, b), stats.betabinom.logpmf(k, n, a, b))


def test_betabinomial_sf_is_the_sum_of_scipys_terms():
    """The tail as sitestats sums it, from scipy's own log-pmf (the previous code)."""
    rng = np.random.default_rng(7)
    n = rng.integers(0, 120, 500)
    k = rng.integers(-2, 130, n.size)
    p = 10.0 ** rng.uniform(-5, -0.5, n.size)
    rho = 0.02
    got = S.betabinomial_sf(k, n, p, rho)
    pc = np.clip(p, 1e-12, 1 - 1e-12)
    a, b = pc * (1 - rho) / rho, (1 - pc) * (1 - rho) / rho
    want = np.ones(n.size)
    for j in range(n.size):
        if k[j] > 0:
            i = np.arange(k[j], n[j] + 1)
            pmf = np.exp(stats.betabinom.logpmf(i, np.full(i.size, n[j]), a[j], b[j]))
            want[j] = min(np.add.reduce(pmf), 1.0) if i.size else 0.0
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)


def test_logsumexp_is_scipys_bit_for_bit():
    """sitestats.logsumexp replaces scipy.special.logsumexp (whose package import costs a
    short job ~0.1 CPU s): same values, bit for bit, ties and infinities included."""
    from scipy.special import logsumexp

    rng = np.random.default_rng(8)
    a = rng.normal(0, 30, (5_000, 3))
    a[:200, 1] = a[:200, 0]  # ties of the largest term
    a[200:400, 2] = -np.inf
    a[400:450] = -np.inf  # all -inf
    a[450:460, 0] = np.inf
    a[460:470, 1] = np.nan
    a[470:480] = [-1e308, -1e308, 1e308]
    a[480:500] = np.round(a[480:500])
    with np.errstate(all="ignore"):  # scipy's subtraction overflows at +-1e308 (so do we)
        for axis in (-1, 0, 1):
            for keep in (False, True):
                want = logsumexp(a, axis=axis, keepdims=keep)
                _same(S.logsumexp(a, axis=axis, keepdims=keep), want)
    _same(S.logsumexp(a[:, :2], axis=1), logsumexp(a[:, :2], axis=1))
    _same(S.logsumexp(a[7]), logsumexp(a[7], axis=-1))
    _same(S.logsumexp(np.zeros((4, 0)), axis=1), logsumexp(np.zeros((4, 0)), axis=1))
