"""Count-matrix loops (biometal.rnaseq._matrix_kernels) against the library's numpy/BLAS steps.

The numba kernels and the same loops run by the interpreter must equal
:func:`biometal.rnaseq.matrices.cpm` / ``tpm`` / ``np.log2(x + 1)`` / ``pca`` (scores up to
the sign of each component), on random negative-binomial count matrices.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from biometal.rnaseq import _matrix_kernels as mk
from biometal.rnaseq.matrices import cpm, pca, tpm
from biometal.rnaseq.scaling_figures import fit_cost, paper_scale_figures, projection


def _counts(seed: int, genes: int, samples: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    mu = rng.lognormal(3.0, 2.0, size=genes)[:, None] * rng.uniform(0.5, 2.0, size=samples)
    counts = rng.negative_binomial(5, 5 / (5 + mu)).astype(np.float64)
    lengths = rng.integers(200, 20_000, size=genes).astype(np.float64)
    return counts, lengths


shapes = st.tuples(st.integers(0, 2**31), st.integers(1, 300), st.integers(1, 40))


@settings(max_examples=40, deadline=None)
@given(shapes)
def test_normalisation_kernels_equal_numpy(shape):
    counts, lengths = _counts(*shape)
    if shape[2] > 1:
        counts[:, 0] = 0.0  # an empty sample stays all zero
    ref_cpm = cpm(counts)
    np.testing.assert_allclose(mk.cpm(counts), ref_cpm, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(mk.tpm(counts, lengths), tpm(counts, lengths), rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(mk.log2p1(ref_cpm), np.log2(ref_cpm + 1.0), rtol=1e-12, atol=1e-12)
    small = counts[:20]
    np.testing.assert_allclose(mk.cpm_loops(small), cpm(small), rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(
        mk.tpm_loops(small, lengths[:20]), tpm(small, lengths[:20]), rtol=1e-12, atol=1e-9
    )


def test_cpm_and_tpm_definitions():
    counts = np.array([[1.0, 0.0], [3.0, 0.0]])
    np.testing.assert_array_equal(cpm(counts), [[250_000.0, 0.0], [750_000.0, 0.0]])
    np.testing.assert_allclose(tpm(counts, np.array([1.0, 3.0])), [[5e5, 0.0], [5e5, 0.0]])
    assert (cpm(counts).sum(axis=0) == [1e6, 0.0]).all()


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31), st.integers(3, 700), st.integers(2, 30))
def test_gram_equals_blas(seed, genes, samples):
    counts, _ = _counts(seed, genes, samples)
    x = np.log2(cpm(counts) + 1.0)
    xc = x - x.mean(axis=1, keepdims=True)
    np.testing.assert_allclose(mk.gram(x), xc.T @ xc, rtol=1e-9, atol=1e-8)


def _same_up_to_sign(a: np.ndarray, b: np.ndarray, rtol: float) -> None:
    for j in range(a.shape[1]):
        sign = 1.0 if np.dot(a[:, j], b[:, j]) >= 0 else -1.0
        np.testing.assert_allclose(a[:, j], sign * b[:, j], rtol=rtol, atol=rtol * np.abs(b).max())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pca_gram_equals_library_pca(seed):
    counts, _ = _counts(seed, 2_000, 60)
    # two groups of samples, so the leading components are well separated
    counts[:200, :30] *= 8
    x = np.log2(cpm(counts) + 1.0)
    scores, ratio = mk.pca_gram(x, 10)
    ref_scores, ref_ratio = pca(pd.DataFrame(x), 10)
    assert scores.shape == (60, 10)
    np.testing.assert_allclose(ratio, ref_ratio, rtol=1e-8, atol=1e-12)
    _same_up_to_sign(scores, ref_scores, 1e-6)
    # the interpreter runs the same loops (a smaller matrix: it is slow)
    small = x[:150, :12]
    s2, r2 = mk.pca_gram(small, 3, compiled=False)
    ref2, rr2 = pca(pd.DataFrame(small), 3)
    np.testing.assert_allclose(r2, rr2, rtol=1e-8)
    _same_up_to_sign(s2, ref2, 1e-6)


def test_fit_and_projection():
    pairs = np.array([1e6, 2e6, 5e6, 10e6] * 2)
    runs = pd.DataFrame(
        {
            "tool": ["t"] * 8,
            "pairs": pairs,
            "cpu_s": 2.0 + 3e-6 * pairs + np.tile([0.1, -0.1], 4),
            "wall_s": 3.0 + 4e-6 * pairs,
            "peak_rss_mib": 100.0,
        }
    )
    fit = fit_cost(runs).iloc[0]
    assert fit["a_cpu_s"] == pytest.approx(2.0, abs=0.2)
    assert fit["b_cpu_us_per_pair"] == pytest.approx(3.0, abs=0.05)
    assert fit["a_se"] > 0 and fit["b_se"] > 0
    assert fit["rss_slope_mib_per_10m_pairs"] == pytest.approx(0.0, abs=1e-9)
    proj = projection(
        fit_cost(runs), runs, {"plain_bytes_per_pair": 500.0, "gzip6_ratio": 3.0}, 50, 10.0, 8
    )
    plain = proj[proj["input"] == "10 GB plain"].iloc[0]
    assert plain["pairs_per_sample"] == pytest.approx(2e7)
    per = fit["a_cpu_s"] + fit["b_cpu_us_per_pair"] * 20
    assert plain["hours_1_core"] == pytest.approx(50 * per / 3600)
    assert plain["hours_8_cores"] == pytest.approx(7 * per / 3600)
    assert plain["peak_rss_gib_8_cores"] == pytest.approx(8 * 100 / 1024)


def test_figures_from_the_tables(tmp_path):
    pairs = np.array([1e6, 2e6, 5e6] * 2)
    runs = pd.DataFrame(
        {
            "tool": ["biometal"] * 3 + ["kallisto"] * 3,
            "pairs": pairs,
            "cpu_s": 1.0 + 2e-6 * pairs + np.array([0.1, -0.1, 0.0, 0.2, 0.0, -0.1]),
            "wall_s": 2.0 + 3e-6 * pairs,
            "peak_rss_mib": [700.0, 701.0, 700.5, 30.0, 30.0, 30.1],
        }
    )
    runs.to_csv(tmp_path / "runs.tsv", sep="\t", index=False)
    fit_cost(runs).to_csv(tmp_path / "fit.tsv", sep="\t", index=False)
    matrix = pd.DataFrame(
        {
            "step": ["cpm", "cpm", "pca", "pca"],
            "impl": ["numpy", "python", "numpy", "python"],
            "threads": 1,
            "seconds": [0.1, 10.0, 1.0, 100.0],
            "cpu_seconds": [0.1, 10.0, 1.0, 100.0],
            "extrapolated": [False, True, False, True],
        }
    )
    matrix.to_csv(tmp_path / "m.tsv", sep="\t", index=False)
    out = [tmp_path / "a.png", tmp_path / "b.png"]
    paper_scale_figures(tmp_path / "runs.tsv", tmp_path / "fit.tsv", tmp_path / "m.tsv", *out)
    for png in out:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
