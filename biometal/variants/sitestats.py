"""Per-site statistics of the caller, vectorised over sites (numpy/scipy).

Error model. A base of Phred quality q is wrong with probability ``e = 10**(-q/10)`` and a
wrong base is any of the three others with equal probability. Per site and allele the
pileup keeps the count and the sum of qualities; the error rate of an allele's bases is
taken at their mean quality (:func:`phred_to_error`), a geometric mean of the per-base
error rates. Indels use one configured error rate per read.

Tests (one-sided, "more alt reads than error explains"):

- :func:`binomial_sf`: ``P(X >= k)``, ``X ~ Binomial(n, e/3)``: alt reads as errors
  towards one specific base, ``e`` the site's mean base error rate.
- :func:`betabinomial_sf`: the same under overdispersed errors, ``X ~ BetaBinomial(n, a,
  b)`` with mean ``e/3`` and intra-site correlation ``rho`` (``a = m (1-rho)/rho``,
  ``b = (1-m)(1-rho)/rho``, ``m = e/3``): errors that cluster at a site (context-specific
  errors, mapping artefacts) make high alt counts likelier than the binomial allows.

Diploid genotype likelihoods (:func:`genotype_log10_likelihoods`) for 0/0, 0/1, 1/1 from
``n_ref`` reads showing the reference allele (error ``e_ref``) and ``n_alt`` the alternative
(``e_alt``); reads showing a third allele have the same likelihood under all three
genotypes and cancel. ``P(read shows allele a | genotype g1/g2) = (P(a|g1) + P(a|g2)) / 2``
with ``P(a|a) = 1 - e`` and ``P(a|b) = e/3`` (indels: ``e`` instead of ``e/3``).
Posteriors use the prior ``P(0/1) = theta``, ``P(1/1) = theta/2``, ``P(0/0) = 1 - 1.5
theta`` (:func:`genotype_posteriors`); QUAL is ``-10 log10 P(0/0 | data)``; GQ is
``-10 log10 (1 - P(called genotype | data))``, capped at 99; PL are the phred-scaled
likelihoods normalised to the best genotype.
"""

from __future__ import annotations

import numpy as np

from biometal._startup import scipy_special_ufuncs

# scipy's compiled functions without scipy.special's package import (~0.1 CPU s of a short
# job, biometal._startup); _binom_sf is what scipy.stats.binom.sf calls (importing
# scipy.stats costs ~0.4 CPU s).
_ufuncs = scipy_special_ufuncs()
betaln = _ufuncs.betaln
_binom_sf = getattr(_ufuncs, "_binom_sf", None)  # None: another scipy, the public one

LN10 = np.log(10.0)
#: smallest error rate used (Phred 60): keeps logs finite for quality-93 bases.
MIN_ERROR = 1e-6
MAX_PHRED = 3000.0


def logsumexp(a: np.ndarray, axis: int = -1, keepdims: bool = False) -> np.ndarray:
    """``log(sum(exp(a)))`` along ``axis`` of a real array: ``scipy.special.logsumexp``'s
    computation (scipy 1.15+: the largest terms taken out of the sum, ``log1p`` of the
    rest), bit for bit (tests/unit/test_gvcf_stats.py), without importing scipy.special."""
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 0:
        a = a.reshape(1)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if a.size == 0:
            shape = list(a.shape)
            shape[axis] = 1
            out = np.full(shape, -np.inf)
        else:
            out_inf = np.log(np.sum(np.exp(a), axis=axis, keepdims=True))
            a_max = np.max(a, axis=axis, keepdims=True)
            is_max = a == a_max
            m = np.sum(is_max, axis=axis, keepdims=True, dtype=np.float64)
            s = np.sum(np.exp(np.where(is_max, -np.inf, a) - a_max), axis=axis, keepdims=True)
            s = np.where(s == 0, s, s / m)
            sign = np.sign(s + 1) * np.sign(m)
            s = np.where(s < -1, -s - 2, s)
            out = np.log1p(s) + np.log(np.abs(m)) + a_max
            out[sign < 0] = np.nan
            out = np.where(np.isfinite(out), out, out_inf)
    out = out if keepdims else np.squeeze(out, axis=axis)
    return out[()] if out.ndim == 0 else out


def phred_to_error(mean_q: np.ndarray) -> np.ndarray:
    """Error probability of Phred ``mean_q`` (float array), clipped to [1e-6, 0.75]."""
    return np.clip(10.0 ** (-np.asarray(mean_q, dtype=np.float64) / 10.0), MIN_ERROR, 0.75)


def mean_error(qsum: np.ndarray, count: np.ndarray, default_q: float = 20.0) -> np.ndarray:
    """Error rate at the mean quality ``qsum / count``; ``default_q`` where count is 0."""
    qsum = np.asarray(qsum, dtype=np.float64)
    count = np.asarray(count, dtype=np.float64)
    q = np.divide(qsum, count, out=np.full(qsum.shape, float(default_q)), where=count > 0)
    return phred_to_error(q)


def binomial_sf(k: np.ndarray, n: np.ndarray, p: np.ndarray) -> np.ndarray:
    """``P(X >= k)`` for ``X ~ Binomial(n, p)`` (1 where k <= 0)."""
    k = np.asarray(k)
    if _binom_sf is None:  # pragma: no cover
        from scipy import stats

        return np.where(k <= 0, 1.0, stats.binom.sf(k - 1, n, p))
    # scipy.stats.binom.sf(k - 1, n, p) without importing scipy.stats: the same checks
    # (n a whole number >= 0, 0 <= p <= 1, else NaN; 1 below the support, 0 above it)
    # and the same function inside (tests/unit/test_gvcf_stats.py: equal bit for bit)
    x, n, p = np.broadcast_arrays(k - 1, np.asarray(n), np.asarray(p))
    good = (n >= 0) & (n == np.round(n)) & (p >= 0) & (p <= 1)
    out = np.zeros(x.shape, dtype=np.float64)
    out[~good | np.isnan(x)] = np.nan
    out[((x < 0) | np.isneginf(x)) & good] = 1.0
    sel = good & (x >= 0) & (x < n) & np.isfinite(x)
    if sel.any():
        out[sel] = np.clip(_binom_sf(np.floor(x[sel]), n[sel], p[sel]), 0, 1)
    return np.where(k <= 0, 1.0, out)


def _betabinom_logpmf(k: np.ndarray, n: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``scipy.stats.betabinom.logpmf`` for ``0 <= k <= n`` (whole numbers), ``a, b > 0``:
    the same expression (without importing scipy.stats)."""
    k = np.floor(k)
    combiln = -np.log(n + 1) - betaln(n - k + 1, k + 1)
    return combiln + betaln(k + a, n - k + b) - betaln(a, b)


def betabinomial_sf(k: np.ndarray, n: np.ndarray, p: np.ndarray, rho: float) -> np.ndarray:
    """``P(X >= k)`` for a beta-binomial with mean ``p`` and intra-class correlation ``rho``.

    ``rho`` -> 0 is the binomial; ``rho`` must be in (0, 1). The tail is summed term by
    term from the log-pmf (``scipy.stats.betabinom.sf`` loses about 3 digits in far
    tails); cost is the number of terms, ``sum(n - k + 1)``.
    """
    if not 0.0 < rho < 1.0:
        raise ValueError(f"rho must be in (0, 1), got {rho}")
    k = np.atleast_1d(np.asarray(k, dtype=np.int64))
    n = np.atleast_1d(np.asarray(n, dtype=np.int64))
    p = np.clip(np.atleast_1d(np.asarray(p, dtype=np.float64)), 1e-12, 1 - 1e-12)
    k, n, p = np.broadcast_arrays(k, n, p)
    a = p * (1.0 - rho) / rho
    b = (1.0 - p) * (1.0 - rho) / rho
    out = np.ones(k.shape, dtype=np.float64)
    lo = np.maximum(k, 0)
    terms = np.where(k > 0, np.maximum(n - lo + 1, 0), 0)
    tail = k > 0
    out[tail & (terms == 0)] = 0.0
    sel = np.flatnonzero(terms > 0)
    if len(sel):
        m = terms[sel]
        group = np.repeat(np.arange(len(sel)), m)
        starts = np.concatenate([[0], np.cumsum(m)[:-1]])
        i = lo[sel][group] + (np.arange(int(m.sum())) - starts[group])
        pmf = np.exp(_betabinom_logpmf(i, n[sel][group], a[sel][group], b[sel][group]))
        out[sel] = np.minimum(np.add.reduceat(pmf, starts), 1.0)
    return out


def pvalue_to_phred(p: np.ndarray) -> np.ndarray:
    """``-10 log10 p``, capped at 3000 (p = 0)."""
    p = np.asarray(p, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.minimum(-10.0 * np.log10(np.maximum(p, 0.0)), MAX_PHRED)


def genotype_log10_likelihoods(
    n_ref: np.ndarray,
    n_alt: np.ndarray,
    e_ref: np.ndarray,
    e_alt: np.ndarray,
    *,
    snp: bool = True,
) -> np.ndarray:
    """log10 P(reads | g) for g = 0/0, 0/1, 1/1: float64[m, 3].

    ``snp``: a wrong read shows a specific other allele with probability ``e/3`` (bases);
    with ``snp=False`` (indels) with probability ``e``.
    """
    n_ref = np.asarray(n_ref, dtype=np.float64)
    n_alt = np.asarray(n_alt, dtype=np.float64)
    e_ref = np.clip(np.asarray(e_ref, dtype=np.float64), MIN_ERROR, 0.75)
    e_alt = np.clip(np.asarray(e_alt, dtype=np.float64), MIN_ERROR, 0.75)
    div = 3.0 if snp else 1.0
    ref_ok, ref_err = np.log10(1.0 - e_ref), np.log10(e_ref / div)
    alt_ok, alt_err = np.log10(1.0 - e_alt), np.log10(e_alt / div)
    ref_het = np.log10(0.5 * (1.0 - e_ref) + 0.5 * e_ref / div)
    alt_het = np.log10(0.5 * (1.0 - e_alt) + 0.5 * e_alt / div)
    gl = np.empty(n_ref.shape + (3,), dtype=np.float64)
    gl[..., 0] = n_ref * ref_ok + n_alt * alt_err
    gl[..., 1] = n_ref * ref_het + n_alt * alt_het
    gl[..., 2] = n_ref * ref_err + n_alt * alt_ok
    return gl


def log10_priors(theta: float) -> np.ndarray:
    """log10 prior of 0/0, 0/1, 1/1 for heterozygosity ``theta``."""
    if not 0.0 < theta < 0.5:
        raise ValueError(f"theta must be in (0, 0.5), got {theta}")
    return np.log10(np.array([1.0 - 1.5 * theta, theta, theta / 2.0]))


def genotype_posteriors(gl: np.ndarray, theta: float) -> np.ndarray:
    """Posterior log10 P(g | reads), float64[m, 3], from log10 likelihoods ``gl``."""
    lp = (np.asarray(gl) + log10_priors(theta)) * LN10
    return (lp - logsumexp(lp, axis=-1, keepdims=True)) / LN10


def phred_likelihoods(gl: np.ndarray) -> np.ndarray:
    """PL: ``round(-10 (gl - max gl))`` as int64[m, 3] (0 for the likeliest genotype)."""
    gl = np.asarray(gl, dtype=np.float64)
    return np.rint(-10.0 * (gl - gl.max(axis=-1, keepdims=True))).astype(np.int64)


def call_genotypes(log10_post: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(genotype index 0/1/2, GQ int, QUAL float) from log10 posteriors [m, 3].

    GQ = -10 log10(1 - P(best)), capped at 99; QUAL = -10 log10 P(0/0), capped at 3000.
    """
    post = np.asarray(log10_post, dtype=np.float64)
    best = post.argmax(axis=-1)
    # 1 - P(best) = sum of the other two, computed in log space (no cancellation)
    others = np.where(np.arange(3) == best[..., None], -np.inf, post) * LN10
    log_wrong = logsumexp(others, axis=-1) / LN10
    gq = np.minimum(99, np.rint(-10.0 * log_wrong)).astype(np.int64)
    qual = np.minimum(-10.0 * post[..., 0], MAX_PHRED)
    return best, gq, qual
