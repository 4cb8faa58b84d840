"""Transcript abundances from equivalence-class counts: kallisto's EM with effective lengths.

Model: a fragment of class ``e`` comes from transcript ``t in e`` with probability
proportional to ``alpha_t / efflen_t`` (``alpha_t``: expected fragments of ``t``). One round::

    alpha'_t = sum_e count_e * (alpha_t / efflen_t) / sum_{u in e} (alpha_u / efflen_u)

Singleton classes give their count straight to their transcript. Start: ``alpha = 1 / n``.
Stop (kallisto's rule) after at least ``min_rounds`` rounds once no transcript with
``alpha > change_limit`` changed by more than ``rel_change`` (relative), or after
``max_rounds``. Then ``alpha < zero_limit`` is set to 0 (kallisto: 1e-8).

Outputs: ``est_counts = alpha``, ``TPM_t = 1e6 * (alpha_t / efflen_t) / sum_u (alpha_u /
efflen_u)``.

Effective length (the simulator's and kallisto's definition, see
:mod:`biometal.simulate.transcriptome`): ``efflen_t = len_t - E[f | f <= len_t] + 1``, floored
at 1, for the fragment-length distribution ``f`` (estimated from the pairs, or a rounded
normal of the given mean and sd for single-end reads).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: kallisto's EM constants (EMAlgorithm.h).
MAX_ROUNDS = 10_000
MIN_ROUNDS = 50
CHANGE_LIMIT = 1e-2
REL_CHANGE = 1e-2
ZERO_LIMIT = 1e-8


@dataclass(frozen=True)
class EMResult:
    """est_counts float64[n_tx], tpm float64[n_tx], rounds run, converged or hit the cap."""

    est_counts: np.ndarray
    tpm: np.ndarray
    rounds: int
    converged: bool


def run_em(
    ec_off: np.ndarray,
    ec_tx: np.ndarray,
    counts: np.ndarray,
    eff_lengths: np.ndarray,
    *,
    max_rounds: int = MAX_ROUNDS,
    min_rounds: int = MIN_ROUNDS,
    change_limit: float = CHANGE_LIMIT,
    rel_change: float = REL_CHANGE,
    zero_limit: float = ZERO_LIMIT,
) -> EMResult:
    """Estimated counts and TPM per transcript from class counts (see the module docstring).

    ``ec_off`` int64[n_ec+1] / ``ec_tx`` int32: classes as CSR; ``counts`` float or int
    [n_ec]; ``eff_lengths`` float64[n_tx] (> 0).
    """
    n_tx = len(eff_lengths)
    eff = np.asarray(eff_lengths, dtype=np.float64)
    if n_tx == 0:
        return EMResult(np.zeros(0), np.zeros(0), 0, True)
    if (eff <= 0).any():
        raise ValueError("effective lengths must be > 0")
    from biometal.rnaseq._kernels import em_rounds  # numba: loaded with the quantifier

    alpha, rounds, converged = em_rounds(
        np.asarray(ec_off, np.int64),
        np.asarray(ec_tx, np.int32),
        np.asarray(counts, np.float64),
        1.0 / eff,
        n_tx,
        int(max_rounds),
        int(min_rounds),
        float(change_limit),
        float(rel_change),
    )
    alpha[alpha < zero_limit] = 0.0
    return EMResult(alpha, tpm_from_counts(alpha, eff), int(rounds), bool(converged))


def tpm_from_counts(est_counts: np.ndarray, eff_lengths: np.ndarray) -> np.ndarray:
    """``1e6 * (c / efflen) / sum(c / efflen)`` (all zeros when there are no counts)."""
    rate = np.asarray(est_counts, np.float64) / np.asarray(eff_lengths, np.float64)
    total = rate.sum()
    return rate * (1e6 / total) if total > 0 else np.zeros_like(rate)


def normal_fragment_pmf(mean: float, sd: float, max_len: int) -> np.ndarray:
    """P(f) for f = 0..max_len of a rounded normal (f >= 1), the single-end default."""
    f = np.arange(max_len + 1, dtype=np.float64)
    pmf = (f == max(1, round(mean))).astype(np.float64) if sd == 0 else (
        np.exp(-0.5 * ((f - mean) / sd) ** 2)
    )  # fmt: skip
    pmf[0] = 0.0
    total = pmf.sum()
    if not total > 0:  # e.g. a mean far above max_len: every modelled length underflows
        from biometal.errors import BiometalError

        raise BiometalError(
            f"fragment length mean {mean:g} sd {sd:g}: no length in 1..{max_len} bp has any "
            f"probability; fragments longer than {max_len} bp are not modelled (as kallisto)"
        )
    return pmf / total


def effective_lengths(lengths: np.ndarray, fragment_pmf: np.ndarray) -> np.ndarray:
    """``len - E[f | f <= len] + 1`` floored at 1, for ``fragment_pmf`` over f = 0..F-1.

    Lengths >= F use the whole distribution (kallisto's MAX_FRAG_LEN cap).
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    pmf = np.asarray(fragment_pmf, dtype=np.float64)
    cdf = np.cumsum(pmf)
    cm = np.cumsum(pmf * np.arange(pmf.size))
    idx = np.minimum(lengths, pmf.size - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_trunc = np.where(cdf[idx] > 0, cm[idx] / np.where(cdf[idx] > 0, cdf[idx], 1), lengths)
    return np.maximum(lengths - mean_trunc + 1.0, 1.0)
