"""Calibration metrics of base qualities, scored against known errors.

A quality is a claim about an error probability ``p = 10**(-Q/10)``; it is scored against
whether each base really is an error (the simulator's truth, or a mismatch to the
reference at a non-variant site), never against another quality.

- :func:`calibration_curve`: bases binned by predicted Q (1-Q bins by default): per bin the
  predicted Q (of the mean predicted p), the empirical Q of the observed error fraction
  (``(errors + 0.5) / (bases + 1)``, so an error-free bin has a finite Q) and the counts.
- :func:`expected_calibration_error`: ``sum_bins bases * |Q_predicted - Q_empirical| /
  total`` in Phred units.
- :func:`log_loss`: mean binary cross-entropy (nats per base).
- :func:`true_q_error`: mean absolute difference and Pearson correlation between predicted
  and true Phred scores, where the true per-base error probability is known (simulation).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Phred scores are capped here (an empirical Q above it is not measurable on test sets).
Q_CAP = 60.0
_EPS = 1e-12


def _q(p: np.ndarray) -> np.ndarray:
    return np.minimum(-10.0 * np.log10(np.clip(p, 10 ** (-Q_CAP / 10), 1.0)), Q_CAP)


def _check(p_error: np.ndarray, error: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(p_error, dtype=np.float64).ravel()
    e = np.asarray(error, dtype=bool).ravel()
    if p.shape != e.shape:
        raise ValueError(f"p_error has {p.size} values but error has {e.size}")
    if p.size == 0:
        raise ValueError("no bases to score")
    if np.any(~np.isfinite(p)) or np.any((p < 0) | (p > 1)):
        raise ValueError("p_error must hold probabilities in [0, 1]")
    return p, e


def calibration_curve(
    p_error: np.ndarray, error: np.ndarray, bins: np.ndarray | int | None = None
) -> pd.DataFrame:
    """Reliability table of predicted error probabilities (float [n]) vs errors (bool [n]).

    ``bins``: edges in Q units, or a bin width in Q (default 1). Columns: ``q_lo``,
    ``q_hi`` (bin edges), ``predicted_q``, ``empirical_q``, ``bases``, ``errors``; empty
    bins are left out.
    """
    p, e = _check(p_error, error)
    q = _q(p)
    if bins is None or np.ndim(bins) == 0:
        width = 1.0 if bins is None else float(bins)
        edges = np.arange(0.0, Q_CAP + width, width)
    else:
        edges = np.asarray(bins, dtype=np.float64)
    idx = np.clip(np.searchsorted(edges, q, side="right") - 1, 0, edges.size - 2)
    nb = edges.size - 1
    bases = np.bincount(idx, minlength=nb)
    errors = np.bincount(idx, weights=e, minlength=nb)
    psum = np.bincount(idx, weights=p, minlength=nb)
    used = bases > 0
    b, er, ps = bases[used], errors[used], psum[used]
    return pd.DataFrame(
        {
            "q_lo": edges[:-1][used],
            "q_hi": edges[1:][used],
            "predicted_q": _q(ps / b),
            "empirical_q": _q((er + 0.5) / (b + 1.0)),
            "bases": b.astype(np.int64),
            "errors": er.astype(np.int64),
        }
    )


def expected_calibration_error(
    p_error: np.ndarray, error: np.ndarray, bins: np.ndarray | int | None = None
) -> float:
    """Bases-weighted mean ``|Q_predicted - Q_empirical|`` over predicted-Q bins (Phred)."""
    curve = calibration_curve(p_error, error, bins)
    w = curve["bases"].to_numpy(np.float64)
    gap = np.abs(curve["predicted_q"].to_numpy() - curve["empirical_q"].to_numpy())
    return float((w * gap).sum() / w.sum())


def log_loss(p_error: np.ndarray, error: np.ndarray) -> float:
    """Mean binary cross-entropy of ``p_error`` for the labels ``error`` (nats per base)."""
    p, e = _check(p_error, error)
    p = np.clip(p, _EPS, 1 - _EPS)
    return float(-np.mean(np.where(e, np.log(p), np.log1p(-p))))


def true_q_error(p_error: np.ndarray, p_true: np.ndarray) -> tuple[float, float]:
    """``(MAE, Pearson r)`` between predicted and true Phred scores (capped at ``Q_CAP``)."""
    qa = _q(np.asarray(p_error, dtype=np.float64).ravel())
    qb = _q(np.asarray(p_true, dtype=np.float64).ravel())
    if qa.shape != qb.shape or qa.size == 0:
        raise ValueError(f"need equal, non-empty arrays, got {qa.size} and {qb.size}")
    mae = float(np.mean(np.abs(qa - qb)))
    r = float(np.corrcoef(qa, qb)[0, 1]) if qa.std() > 0 and qb.std() > 0 else float("nan")
    return mae, r
