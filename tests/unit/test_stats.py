"""biometal.stats against numpy/scipy references."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as st_ref

from biometal import stats

floats = st.floats(min_value=1e-3, max_value=1e3, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(st.lists(floats, min_size=2, max_size=30))
def test_summarize_matches_numpy_and_scipy(x):
    s = stats.summarize(x)
    a = np.array(x)
    assert s.n == len(x)
    assert s.mean == pytest.approx(a.mean())
    assert s.sd == pytest.approx(a.std(ddof=1))
    assert s.median == pytest.approx(np.median(a))
    assert (s.min, s.max) == (a.min(), a.max())
    assert s.q1 == pytest.approx(np.percentile(a, 25)) and s.q3 == pytest.approx(
        np.percentile(a, 75)
    )
    if a.std() > 0:
        lo, hi = st_ref.t.interval(0.95, len(a) - 1, loc=a.mean(), scale=st_ref.sem(a))
        assert (s.ci_low, s.ci_high) == (pytest.approx(lo), pytest.approx(hi))
    else:
        assert s.ci_low == pytest.approx(s.mean) and s.ci_high == pytest.approx(s.mean)


def test_known_values():
    x = [1.0, 2.0, 3.0, 4.0]
    s = stats.summarize(x)
    assert s.mean == 2.5 and s.sd == pytest.approx(math.sqrt(5 / 3))
    half = st_ref.t.ppf(0.975, 3) * math.sqrt(5 / 3) / 2
    assert stats.mean_ci(x) == (pytest.approx(2.5 - half), pytest.approx(2.5 + half))
    lo, hi = stats.mean_ci(x, 0.5)
    assert hi - lo < 2 * half


def test_single_value_has_no_spread():
    s = stats.summarize([2.0])
    assert s.n == 1 and s.mean == s.median == 2.0
    assert math.isnan(s.sd) and math.isnan(s.ci_low) and math.isnan(s.ci_high)
    assert math.isnan(stats.cohens_d([1.0], [1.0, 2.0]))


@settings(max_examples=60, deadline=None)
@given(st.lists(floats, min_size=2, max_size=20), st.lists(floats, min_size=2, max_size=20))
def test_cohens_d_pooled_sd(a, b):
    x, y = np.array(a), np.array(b)
    pooled = math.sqrt(
        ((len(x) - 1) * x.var(ddof=1) + (len(y) - 1) * y.var(ddof=1)) / (len(x) + len(y) - 2)
    )
    d = stats.cohens_d(a, b)
    if pooled > 1e-9:
        assert d == pytest.approx((x.mean() - y.mean()) / pooled)
        assert stats.cohens_d(b, a) == pytest.approx(-d)


def test_cohens_d_textbook_and_degenerate():
    # equal sizes and sds: d = difference / sd
    a = [1.0, 2.0, 3.0]
    b = [3.0, 4.0, 5.0]
    assert stats.cohens_d(a, b) == pytest.approx(-2.0)
    assert stats.cohens_d([1.0, 1.0], [1.0, 1.0]) == 0.0
    assert stats.cohens_d([2.0, 2.0], [1.0, 1.0]) == math.inf


def test_ratio_summary():
    r = stats.ratio_summary([2.0, 4.0, 6.0], [1.0, 1.0, 2.0])
    assert r["ratio_of_medians"] == 4.0 and r["ratio_min"] == 2.0 and r["ratio_max"] == 4.0
    with pytest.raises(ValueError, match="equal lengths"):
        stats.ratio_summary([1.0], [1.0, 2.0])


def test_bad_input():
    with pytest.raises(ValueError, match="no values"):
        stats.summarize([])
    with pytest.raises(ValueError, match="finite"):
        stats.summarize([1.0, float("nan")])
    with pytest.raises(ValueError, match="confidence"):
        stats.mean_ci([1.0, 2.0], 1.5)
