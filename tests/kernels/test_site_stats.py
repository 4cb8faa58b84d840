"""site_stats: Metal source (C++ harness) == numba twin bit for bit; both agree with
biometal.variants.sitestats (numpy/scipy, double precision) and with a naive pure-Python
reference (math.lgamma, term-by-term tails) to single-precision tolerance."""

from __future__ import annotations

import math

import numpy as np
import pytest
from biometal.kernels.site_stats import FLOAT_COLUMNS, INT_COLUMNS, site_stats
from harness import KERNELS_DIR, SKIP_REASON, build_kernel, have_cxx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from biometal.variants import sitestats as S

needs_cxx = pytest.mark.skipif(not have_cxx(), reason=SKIP_REASON)


@pytest.fixture(scope="module")
def metal_kernel():
    if not have_cxx():
        pytest.skip(SKIP_REASON)
    return build_kernel(KERNELS_DIR / "site_stats.metal", "site_stats")


def random_table(rng: np.random.Generator, n: int, max_depth: int = 80):
    """Pileup count rows (uint32[n, 24]) with mostly-ref sites, hets, hom-alts, errors."""
    counts = np.zeros((n, 24), np.uint32)
    depth = rng.integers(0, max_depth + 1, n)
    kind = rng.random(n)
    for i in range(n):
        if kind[i] < 0.6:
            p = [0.99, 0.004, 0.003, 0.003]
        elif kind[i] < 0.8:
            p = [0.5, 0.48, 0.01, 0.01]
        elif kind[i] < 0.9:
            p = [0.02, 0.96, 0.01, 0.01]
        else:
            p = rng.dirichlet([1, 1, 0.3, 0.3])
        c = rng.multinomial(depth[i], p)[rng.permutation(4)]
        fwd = rng.binomial(c, 0.5)
        counts[i, 0:4] = fwd
        counts[i, 5:9] = c - fwd
        counts[i, 4] = rng.integers(0, 3)
        counts[i, 18:22] = c * rng.integers(2, 42, 4)
    ref = rng.choice(np.array([0, 1, 2, 3, 4], np.uint8), n, p=[0.24, 0.24, 0.24, 0.24, 0.04])
    return counts, ref


def run_metal(kernel, counts, ref, theta, rho, order="forward", threads=1):
    n = len(counts)
    ints = np.zeros((n, len(INT_COLUMNS)), np.int32)
    floats = np.zeros((n, len(FLOAT_COLUMNS)), np.float32)
    kernel(
        counts.ravel().copy(), ref, n, theta, rho, ints, floats, grid=n, order=order,
        threads=threads, seed=n,
    )  # fmt: skip
    return ints, floats


# ----------------------------------------------------------------------------- references


def numpy_stats(counts: np.ndarray, ref: np.ndarray, theta: float, rho: float) -> dict:
    """The same statistics through biometal.variants.sitestats (what call_snps uses)."""
    c = counts.astype(np.int64)
    acgt = c[:, 0:4] + c[:, 5:9]
    valid = ref < 4
    r = np.where(valid, ref, 0).astype(np.int64)
    masked = acgt.copy()
    masked[np.arange(len(c)), r] = -1
    alt = masked.argmax(axis=1)
    k = np.arange(len(c))
    n_ref, n_alt = acgt[k, r], acgt[k, alt]
    depth = acgt.sum(axis=1)
    qs = c[:, 18:22]
    e_ref = S.mean_error(qs[k, r], n_ref)
    e_alt = S.mean_error(qs[k, alt], n_alt)
    e_site = S.mean_error(qs.sum(axis=1), depth)
    gl = S.genotype_log10_likelihoods(n_ref, n_alt, e_ref, e_alt)
    post = S.genotype_posteriors(gl, theta)
    gt, gq, qual = S.call_genotypes(post)
    pl = S.phred_likelihoods(gl)
    binq = S.pvalue_to_phred(S.binomial_sf(n_alt, depth, e_site / 3))
    bbq = S.pvalue_to_phred(S.betabinomial_sf(n_alt, depth, e_site / 3, rho))
    return dict(
        valid=valid, alt=alt, n_ref=n_ref, n_alt=n_alt, depth=depth, pl=pl, gt=gt, gq=gq,
        qual=qual, binq=binq, bbq=bbq, post=post,
    )  # fmt: skip


def naive_tail_phred(k: int, n: int, p: float, rho: float | None) -> float:
    """-10 log10 P(X >= k), pmf terms from math.lgamma summed one by one (doubles)."""
    if k == 0:
        return 0.0
    terms = []
    for i in range(k, n + 1):
        lc = math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1)
        if rho is None:
            terms.append(lc + i * math.log(p) + (n - i) * math.log1p(-p))
        else:
            a, b = p * (1 - rho) / rho, (1 - p) * (1 - rho) / rho
            lb = math.lgamma(i + a) + math.lgamma(n - i + b) - math.lgamma(n + a + b)
            terms.append(lc + lb - (math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)))
    m = max(terms)
    log_sf = m + math.log(sum(math.exp(t - m) for t in terms))
    return min(max(-10 * log_sf / math.log(10), 0.0), 3000.0)


def naive_row(row: list[int], ref: int, theta: float, rho: float) -> tuple[list, list]:
    """One position, pure Python: (ints as INT_COLUMNS, floats as FLOAT_COLUMNS)."""
    acgt = [row[b] + row[5 + b] for b in range(4)]
    depth = sum(acgt)
    if ref > 3:
        return [4, 0, 0, depth, 0, 0, 0, 0, 0, 0], [0.0, 0.0, 0.0]
    others = [b for b in range(4) if b != ref]
    alt = max(others, key=lambda b: (acgt[b], -b))

    def err(qsum: int, count: int) -> float:
        q = qsum / count if count else 20.0
        return min(max(10 ** (-q / 10), 1e-6), 0.75)

    nr, na = acgt[ref], acgt[alt]
    er, ea, es = err(row[18 + ref], nr), err(row[18 + alt], na), err(sum(row[18:22]), depth)
    het = lambda e: math.log10(0.5 * (1 - e) + 0.5 * e / 3)  # noqa: E731
    gl = [
        nr * math.log10(1 - er) + na * math.log10(ea / 3),
        nr * het(er) + na * het(ea),
        nr * math.log10(er / 3) + na * math.log10(1 - ea),
    ]
    pl = [round(-10 * (g - max(gl))) for g in gl]
    lp = [g + math.log10(pr) for g, pr in zip(gl, [1 - 1.5 * theta, theta, theta / 2], strict=True)]
    gt = max(range(3), key=lambda g: (lp[g], -g))

    def lse(xs: list[float]) -> float:
        m = max(xs)
        return m + math.log10(sum(10 ** (x - m) for x in xs))

    total = lse(lp)
    gq = min(99, round(-10 * (lse([x for g, x in enumerate(lp) if g != gt]) - total)))
    qual = min(-10 * (lp[0] - total), 3000.0)
    ints = [alt, nr, na, depth, *pl, gt, gq, min(99, pl[1], pl[2])]
    floats = [
        qual,
        naive_tail_phred(na, depth, es / 3, None),
        naive_tail_phred(na, depth, es / 3, rho),
    ]
    return ints, floats


def close_phred(got: np.ndarray, want: np.ndarray, what: str) -> None:
    np.testing.assert_allclose(got, want, rtol=2e-3, atol=0.05, err_msg=what)


# ----------------------------------------------------------------------------- tests


@needs_cxx
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 300),
    max_depth=st.sampled_from([0, 3, 30, 200, 1500]),
    theta=st.sampled_from([0.001, 0.01, 0.2]),
    rho=st.sampled_from([0.001, 0.02, 0.3, 0.9]),
)
def test_metal_equals_numba_bit_for_bit(metal_kernel, seed, n, max_depth, theta, rho):
    counts, ref = random_table(np.random.default_rng(seed), n, max_depth)
    ints, floats = run_metal(metal_kernel, counts, ref, theta, rho, order="shuffle", threads=3)
    for threads in (1, 2):
        got = site_stats(counts, ref, theta=theta, rho=rho, backend="cpu", threads=threads)
        np.testing.assert_array_equal(got.ints, ints)
        np.testing.assert_array_equal(got.floats.view(np.uint32), floats.view(np.uint32))


def hom_ref_table(rng: np.random.Generator, n: int, n_keys: int) -> tuple[np.ndarray, np.ndarray]:
    """Mostly positions whose reads all show REF, from ``n_keys`` (count, quality sum)
    pairs (the numba twin's memo hits), among ALT positions, REF code 4, positions without
    reads and odd rows (an ALT quality sum without ALT reads: no memo)."""
    counts = np.zeros((n, 24), np.uint32)
    ref = rng.integers(0, 4, n).astype(np.uint8)
    k = rng.integers(0, 40, n_keys)
    q = k * rng.integers(2, 42, n_keys) + rng.integers(0, 5, n_keys) * (k > 0)
    pick = rng.integers(0, n_keys, n)
    fwd = rng.integers(0, k[pick] + 1)
    rows = np.arange(n)
    counts[rows, ref] = fwd
    counts[rows, 5 + ref] = k[pick] - fwd
    counts[rows, 18 + ref] = q[pick]
    some = rng.random(n)
    alt_rows = np.flatnonzero(some < 0.08)
    other = (ref[alt_rows] + rng.integers(1, 4, len(alt_rows))) % 4
    counts[alt_rows, other] = rng.integers(1, 6, len(alt_rows))
    counts[alt_rows, 18 + other] = 30 * counts[alt_rows, other]
    odd = np.flatnonzero((some >= 0.08) & (some < 0.1))
    counts[odd, 18 + (ref[odd] + 1) % 4] = 7
    ref[(some >= 0.1) & (some < 0.12)] = 4
    return counts, ref


def assert_memo_is_plain_loop(counts: np.ndarray, ref: np.ndarray) -> None:
    """site_stats' numba twin (its memos; 1 and 2 threads) gives the values of the
    per-position code run on every position, bit for bit, at two (theta, rho)."""
    from biometal.kernels.site_stats_cpu import _one
    from numba import njit

    @njit
    def plain(counts, ref, theta, rho, iout, fout):
        for g in range(counts.shape[0]):
            _one(counts, ref, g, theta, rho, iout, fout)

    for theta, rho in ((0.001, 0.02), (0.2, 0.5)):
        ints = np.zeros((len(ref), len(INT_COLUMNS)), np.int32)
        floats = np.zeros((len(ref), len(FLOAT_COLUMNS)), np.float32)
        plain(counts, ref, np.float32(theta), np.float32(rho), ints, floats)
        for threads in (1, 2):
            got = site_stats(counts, ref, theta=theta, rho=rho, backend="cpu", threads=threads)
            np.testing.assert_array_equal(got.ints, ints)
            np.testing.assert_array_equal(got.floats.view(np.uint32), floats.view(np.uint32))


@pytest.mark.parametrize("n_keys", [5, 200, 5000])
def test_memo_is_the_plain_loop(n_keys):
    """The numba twin's memo of hom-ref positions (per chunk, 1 or 2 threads; 5000 keys
    overfill a chunk's table) gives the values computed position by position."""
    assert_memo_is_plain_loop(*hom_ref_table(np.random.default_rng(n_keys), 20_000, n_keys))


def alt_table(rng: np.random.Generator, n: int, n_keys: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions with ALT reads drawn from ``n_keys`` configurations (REF code; each base's
    read count and quality sum: a second and third ALT base, ties between them, sums of
    2^31 and more among them), each row splitting its counts between the strands at
    random and with random values in the columns site_stats does not read."""
    ref_k = rng.integers(0, 4, n_keys).astype(np.uint8)
    k = rng.integers(0, 12, (n_keys, 4))
    k[rng.random(n_keys) < 0.3, :] //= 4  # zeros and ties
    q = k * rng.integers(2, 42, (n_keys, 4)) + rng.integers(0, 3, (n_keys, 4))
    big = rng.random(n_keys) < 0.02
    q[big, 0] += 1 << 31
    pick = rng.integers(0, n_keys, n)
    counts = rng.integers(0, 9, (n, 24)).astype(np.uint32)
    fwd = rng.integers(0, k[pick] + 1)
    counts[:, 0:4] = fwd
    counts[:, 5:9] = k[pick] - fwd
    counts[:, 18:22] = q[pick]
    return counts, ref_k[pick]


@pytest.mark.parametrize("n_keys", [20, 500, 8000])
def test_alt_memo_is_the_plain_loop(n_keys):
    """The numba twin's memo of positions with ALT reads (8000 keys overfill it) gives the
    values computed position by position."""
    assert_memo_is_plain_loop(*alt_table(np.random.default_rng(n_keys), 30_000, n_keys))


@needs_cxx
def test_metal_equals_numba_on_hom_ref_runs(metal_kernel):
    """The same with the Metal source through the harness (it has no memo)."""
    counts, ref = hom_ref_table(np.random.default_rng(7), 6000, 300)
    ints, floats = run_metal(metal_kernel, counts, ref, 0.001, 0.02, order="shuffle", threads=3)
    for threads in (1, 2):
        got = site_stats(counts, ref, theta=0.001, rho=0.02, backend="cpu", threads=threads)
        np.testing.assert_array_equal(got.ints, ints)
        np.testing.assert_array_equal(got.floats.view(np.uint32), floats.view(np.uint32))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    max_depth=st.sampled_from([0, 5, 40, 300]),
    theta=st.sampled_from([0.001, 0.05]),
    rho=st.sampled_from([0.02, 0.5]),
)
def test_numba_matches_naive_reference(seed, max_depth, theta, rho):
    counts, ref = random_table(np.random.default_rng(seed), 25, max_depth)
    got = site_stats(counts, ref, theta=theta, rho=rho, backend="cpu")
    for i in range(len(counts)):
        want_i, want_f = naive_row(counts[i].astype(int).tolist(), int(ref[i]), theta, rho)
        g = got.ints[i].tolist()
        assert g[:4] == want_i[:4], (i, g, want_i)
        assert max(abs(x - y) for x, y in zip(g[4:7], want_i[4:7], strict=True)) <= 1
        assert abs(g[8] - want_i[8]) <= 1 or g[7] != want_i[7]
        assert abs(g[9] - want_i[9]) <= 1
        close_phred(got.floats[i], np.array(want_f), f"row {i}: {counts[i]} ref {ref[i]}")


def test_equals_the_numpy_sitestats_path():
    """At every position, the kernel's statistics are those of biometal.variants.sitestats."""
    theta, rho = 0.001, 0.02
    counts, ref = random_table(np.random.default_rng(7), 4000, 120)
    got = site_stats(counts, ref, theta=theta, rho=rho, backend="cpu")
    want = numpy_stats(counts, ref, theta, rho)
    v = want["valid"]
    col = got.column
    np.testing.assert_array_equal(col("alt")[v], want["alt"][v])
    np.testing.assert_array_equal(col("alt")[~v], 4)
    for name in ("n_ref", "n_alt", "depth"):
        np.testing.assert_array_equal(col(name)[v], want[name][v], err_msg=name)
    assert np.abs(got.pl[v] - want["pl"][v]).max() <= 1
    # genotypes agree except at near-ties of the posterior (float32 vs float64)
    srt = np.sort(want["post"], axis=1)
    clear = v & (srt[:, 2] - srt[:, 1] > 1e-3)
    np.testing.assert_array_equal(col("gt")[clear], want["gt"][clear])
    assert np.abs(col("gq")[clear] - want["gq"][clear]).max() <= 1
    ref_gq = np.minimum(99, want["pl"][:, 1:].min(axis=1))
    assert np.abs(col("ref_gq")[v] - ref_gq[v]).max() <= 1
    close_phred(col("qual")[v], want["qual"][v], "QUAL")
    close_phred(col("binomq")[v], want["binq"][v], "BINOMQ")
    close_phred(col("bbq")[v], want["bbq"][v], "BBQ")
    # the table exercises every case
    assert (col("gt")[v] == 1).sum() > 100 and (col("gt")[v] == 2).sum() > 100
    assert (col("binomq")[v] > 100).sum() > 100 and (col("n_alt")[v] == 0).sum() > 100


def test_hom_ref_confidence_grows_with_depth():
    counts = np.zeros((4, 24), np.uint32)
    for i, d in enumerate((0, 2, 10, 40)):
        counts[i, 0] = d
        counts[i, 18] = 30 * d
    got = site_stats(counts, np.zeros(4, np.uint8), backend="cpu")
    gq = got.column("ref_gq").tolist()
    assert gq[0] == 0 and gq[0] < gq[1] < gq[2] <= gq[3] == 99
    assert got.column("gt").tolist() == [0, 0, 0, 0]


def test_dispatch_rejects_bad_inputs():
    counts = np.zeros((3, 24), np.uint32)
    with pytest.raises(ValueError, match="counts must be"):
        site_stats(np.zeros((3, 5), np.uint32), np.zeros(3, np.uint8), backend="cpu")
    with pytest.raises(ValueError, match="ref must be"):
        site_stats(counts, np.zeros(2, np.uint8), backend="cpu")
    with pytest.raises(ValueError, match="theta"):
        site_stats(counts, np.zeros(3, np.uint8), theta=0.7, backend="cpu")
    with pytest.raises(ValueError, match="rho"):
        site_stats(counts, np.zeros(3, np.uint8), rho=0.0, backend="cpu")
    empty = site_stats(np.zeros((0, 24), np.uint32), np.zeros(0, np.uint8), backend="cpu")
    assert empty.ints.shape == (0, 10) and empty.floats.shape == (0, 3)
