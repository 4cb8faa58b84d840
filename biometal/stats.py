"""Benchmark statistics: summaries of repeated timings and effect sizes (DESIGN.md section 5).

- :func:`summarize`: n, mean, sd (sample, ddof=1), 95% confidence interval of the mean
  (Student t), median, min, max, quartiles;
- :func:`mean_ci`: the t-based confidence interval alone;
- :func:`cohens_d`: standardised mean difference with the pooled sd;
- :func:`ratio_summary`: the ratio of two timing medians, with the range of the per-repeat
  ratios (paired, for interleaved runs);
- :func:`wilson_interval`: the 95% Wilson score interval of a proportion (accuracies).

All take sequences of floats (e.g. seconds per repeat) and return plain Python floats;
undefined quantities (an sd of one value, a CI of one value) are ``nan``, never an error.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats as _st


@dataclass(frozen=True)
class Summary:
    """Summary of repeated measurements (units of the input)."""

    n: int
    mean: float
    sd: float
    ci_low: float
    ci_high: float
    median: float
    min: float
    max: float
    q1: float
    q3: float

    def as_dict(self, prefix: str = "") -> dict[str, float | int]:
        """The fields as a dict, keys prefixed (for table columns)."""
        return {f"{prefix}{k}": v for k, v in asdict(self).items()}


def _values(x: Sequence[float]) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64).ravel()
    if a.size == 0:
        raise ValueError("no values to summarise")
    if not np.isfinite(a).all():
        raise ValueError("values must be finite")
    return a


def mean_ci(x: Sequence[float], confidence: float = 0.95) -> tuple[float, float]:
    """Two-sided confidence interval of the mean: mean +- t(n-1) * sd / sqrt(n).

    ``nan, nan`` for a single value (no spread to estimate).
    """
    a = _values(x)
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    n = a.size
    if n < 2:
        return math.nan, math.nan
    m = float(a.mean())
    half = float(_st.t.ppf(0.5 + confidence / 2, n - 1)) * float(a.std(ddof=1)) / math.sqrt(n)
    return m - half, m + half


def summarize(x: Sequence[float], confidence: float = 0.95) -> Summary:
    """n, mean, sd (ddof=1), t-based CI of the mean, median, min, max, quartiles."""
    a = _values(x)
    lo, hi = mean_ci(a, confidence)
    q1, med, q3 = (float(v) for v in np.percentile(a, [25, 50, 75]))
    return Summary(
        n=int(a.size),
        mean=float(a.mean()),
        sd=float(a.std(ddof=1)) if a.size > 1 else math.nan,
        ci_low=lo,
        ci_high=hi,
        median=med,
        min=float(a.min()),
        max=float(a.max()),
        q1=q1,
        q3=q3,
    )


def cohens_d(a: Sequence[float], b: Sequence[float]) -> float:
    """Cohen's d = (mean(a) - mean(b)) / pooled sd, the pooled sd being
    sqrt(((na-1) sa^2 + (nb-1) sb^2) / (na + nb - 2)).

    ``nan`` when either group has fewer than 2 values; ``inf`` (signed) when the means
    differ and both groups have zero spread; 0.0 when neither differs nor spreads.
    """
    x, y = _values(a), _values(b)
    if x.size < 2 or y.size < 2:
        return math.nan
    diff = float(x.mean() - y.mean())
    pooled = math.sqrt(
        ((x.size - 1) * x.var(ddof=1) + (y.size - 1) * y.var(ddof=1)) / (x.size + y.size - 2)
    )
    if pooled == 0:
        return 0.0 if diff == 0 else math.copysign(math.inf, diff)
    return diff / pooled


def ratio_summary(num: Sequence[float], den: Sequence[float]) -> dict[str, float]:
    """Ratio of medians ``median(num) / median(den)`` and the min/max of the per-repeat
    ratios ``num[k] / den[k]`` (paired: interleaved repeats of the two methods)."""
    x, y = _values(num), _values(den)
    if x.size != y.size:
        raise ValueError(f"paired ratios need equal lengths, got {x.size} and {y.size}")
    if (y <= 0).any() or (x <= 0).any():
        raise ValueError("ratios need positive values")
    r = x / y
    return {
        "ratio_of_medians": float(np.median(x) / np.median(y)),
        "ratio_min": float(r.min()),
        "ratio_max": float(r.max()),
    }


def wilson_interval(successes: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval of ``successes`` out of ``n`` (``z`` 1.96: 95%); nan when n = 0."""
    if n == 0:
        return float("nan"), float("nan")
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return float(centre - half), float(centre + half)
