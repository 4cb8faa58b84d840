"""overlap_count: Metal source (through the C++ harness) == numba twin == naive O(n*m)
reference, exactly.

Random interval sets on many contigs (keyed ``contig << 36 | pos`` as biometal.regions does),
with touching, nested, duplicated and zero-length intervals and targets longer than a
contig's other intervals; the Metal kernel runs on one and on several std::threads in
shuffled order. The naive reference compares contigs explicitly and applies the rule of the
module doc pair by pair: query ``[s, e)`` and target ``[bs, be)`` overlap when they share a
contig, ``bs < e`` and ``be > s``. The dispatch module's Metal branch (metal_runner) and
``biometal.regions.intervals.overlap_counts(backend="metal")`` run the Metal source through a
metalcompute stand-in backed by the harness (test_backend's FakeDevice).
"""

from __future__ import annotations

import numpy as np
import pytest
from biometal.kernels import BackendError, overlap_count
from harness import KERNELS_DIR, SKIP_REASON, build_kernel, have_cxx
from hypothesis import given, settings
from hypothesis import strategies as st

needs_cxx = pytest.mark.skipif(not have_cxx(), reason=SKIP_REASON)
SHIFT = 36


@pytest.fixture(scope="module")
def metal_kernel():
    if not have_cxx():
        pytest.skip(SKIP_REASON)
    return build_kernel(KERNELS_DIR / "overlap_count.metal", "overlap_count")


def run_metal(kernel, qs, qe, ts, te, order="forward", threads=1):
    """overlap_count.metal on the CPU, with the targets sorted here (independently of the
    dispatch module): starts, ends, and the points of the zero-length targets."""
    starts, ends, points = np.sort(ts), np.sort(te), np.sort(ts[ts == te])
    n = len(qs)
    counts = np.full(n, -7, np.int64)  # every slot must be written
    sizes = np.array([n, len(starts), len(points)], np.uint64)
    kernel(qs, qe, starts, ends, points, sizes, counts, grid=n, order=order, threads=threads,
           seed=n + 1)  # fmt: skip
    return counts


def naive(qc, qs, qe, tc, ts, te) -> np.ndarray:
    """Pairwise rule on explicit contigs (positions, not keys): int64[n_query]."""
    hit = (qc[:, None] == tc[None, :]) & (ts[None, :] < qe[:, None]) & (te[None, :] > qs[:, None])
    return hit.sum(axis=1, dtype=np.int64)


def random_sets(rng, n_q, n_t, n_contigs, span, max_len):
    """(contig, start, end) of queries and targets with edge cases mixed in."""
    tc = rng.integers(0, n_contigs, n_t)
    ts = rng.integers(0, span, n_t)
    tl = rng.integers(0, max_len + 1, n_t)
    tl[rng.random(n_t) < 0.1] = 0  # zero-length targets
    long_ = rng.random(n_t) < 0.01
    tl[long_] = rng.integers(span // 2, 2 * span, long_.sum())  # contig-spanning targets
    te = ts + tl
    qc = rng.integers(0, n_contigs, n_q)
    qs = rng.integers(0, span, n_q)
    ql = rng.integers(0, max_len + 1, n_q)
    ql[rng.random(n_q) < 0.1] = 0  # zero-length queries
    qe = qs + ql
    # edge cases copied from the targets: touching on either side, identical, nested,
    # containing, and zero-length points at a target's start, end and interior
    k = min(n_t, n_q // 8)
    pick = rng.choice(n_t, k, replace=False) if k else np.zeros(0, np.int64)
    rows = np.arange(k)
    for j, make in enumerate(
        (
            lambda i: (ts[i] - 5, ts[i]),  # ends where the target starts
            lambda i: (te[i], te[i] + 5),  # starts where the target ends
            lambda i: (ts[i], te[i]),  # identical
            lambda i: (ts[i] + 1, np.maximum(te[i] - 1, ts[i] + 1)),  # nested (or point)
            lambda i: (np.maximum(ts[i] - 3, 0), te[i] + 3),  # containing
            lambda i: (ts[i], ts[i]),  # point at the start
            lambda i: (te[i], te[i]),  # point at the end
            lambda i: ((ts[i] + te[i]) // 2, (ts[i] + te[i]) // 2),  # point inside
        )
    ):
        sl = rows * 8 + j
        s, e = make(pick)
        qc[sl], qs[sl], qe[sl] = tc[pick], np.maximum(s, 0), e
    perm = rng.permutation(n_t)
    return qc, qs, qe, tc[perm], ts[perm], te[perm]


def keyed(c, s, e):
    base = c.astype(np.int64) << SHIFT
    return base + s, base + e


@needs_cxx
@pytest.mark.parametrize(
    ("n_q", "n_t", "n_contigs", "span", "max_len"),
    [
        (1, 0, 1, 100, 10),
        (0, 50, 3, 100, 10),
        (400, 1, 1, 50, 20),
        (2000, 1500, 25, 2000, 60),  # many contigs, dense
        (1500, 2000, 3, 400, 200),  # heavy nesting
        (1000, 1000, 200, 100_000, 30),  # sparse: many empty counts
        (800, 600, 2, 30, 5),  # tiny contigs: many ties and points
    ],
)
def test_metal_equals_numba_equals_naive(metal_kernel, n_q, n_t, n_contigs, span, max_len):
    rng = np.random.default_rng(n_q * 7919 + n_t)
    qc, qs, qe, tc, ts, te = random_sets(rng, n_q, n_t, n_contigs, span, max_len)
    kqs, kqe = keyed(qc, qs, qe)
    kts, kte = keyed(tc, ts, te)
    want = naive(qc, qs, qe, tc, ts, te)
    cpu = overlap_count(kqs, kqe, kts, kte, backend="cpu")
    assert cpu.dtype == np.int64 and cpu.shape == (n_q,)
    np.testing.assert_array_equal(cpu, want)
    np.testing.assert_array_equal(run_metal(metal_kernel, kqs, kqe, kts, kte), want)
    shuffled = run_metal(metal_kernel, kqs, kqe, kts, kte, order="shuffle", threads=3)
    np.testing.assert_array_equal(shuffled, want)
    if n_q and n_t:
        assert want.max() > 0  # the sets do overlap


@needs_cxx
def test_metal_large_coordinates(metal_kernel):
    """Keys near the top of the int64 range (contig ids up to 2**27 - 1)."""
    rng = np.random.default_rng(5)
    qc, qs, qe, tc, ts, te = random_sets(rng, 600, 600, 4, 1000, 50)
    top = (1 << 27) - 4
    kqs, kqe = keyed(qc + top, qs, qe)
    kts, kte = keyed(tc + top, ts, te)
    want = naive(qc, qs, qe, tc, ts, te)
    np.testing.assert_array_equal(run_metal(metal_kernel, kqs, kqe, kts, kte), want)
    np.testing.assert_array_equal(overlap_count(kqs, kqe, kts, kte, backend="cpu"), want)


iv = st.tuples(st.integers(0, 2), st.integers(0, 40), st.integers(0, 12))


@settings(max_examples=200, deadline=None)
@given(q=st.lists(iv, max_size=25), t=st.lists(iv, max_size=25), threads=st.sampled_from([1, 2]))
def test_numba_equals_naive_property(q, t, threads):
    def cols(rows):
        a = np.array(rows, np.int64).reshape(-1, 3)
        return a[:, 0], a[:, 1], a[:, 1] + a[:, 2]

    qc, qs, qe = cols(q)
    tc, ts, te = cols(t)
    want = [
        sum(1 for c2, s2, e2 in zip(tc, ts, te, strict=True) if c2 == c and s2 < e and e2 > s)
        for c, s, e in zip(qc, qs, qe, strict=True)
    ]
    got = overlap_count(*keyed(qc, qs, qe), *keyed(tc, ts, te), backend="cpu", threads=threads)
    assert got.tolist() == want


def test_zero_length_rule():
    """[p, p) overlaps [bs, be) exactly when bs < p < be; touching is no overlap."""
    ts = np.array([10, 20, 20, 30, 5], np.int64)
    te = np.array([20, 20, 25, 30, 40], np.int64)
    qs = np.array([20, 20, 10, 30, 15, 0, 40, 25], np.int64)
    qe = np.array([20, 21, 10, 30, 15, 10, 50, 30], np.int64)
    # [20,20): in 5-40 only (10-20, 20-25 touch; the point 20-20 is not inside itself)
    # [20,21): 20-25 and 5-40; not the point 20-20 (its end 20 is not > 20)
    want = [1, 2, 1, 1, 2, 1, 0, 1]
    assert overlap_count(qs, qe, ts, te, backend="cpu").tolist() == want
    assert overlap_count(qs, qe, ts[:0], te[:0], backend="cpu").tolist() == [0] * 8
    assert overlap_count(qs[:0], qe[:0], ts, te, backend="cpu").tolist() == []


def test_any_integer_dtype_and_sorted_input_taken_as_is():
    ts = np.arange(0, 100, 10, dtype=np.int32)
    te = ts + 15
    qs = np.array([12, 95], np.uint16)
    qe = np.array([13, 99], np.uint16)
    assert overlap_count(qs, qe, ts, te, backend="cpu").tolist() == [2, 1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((np.array([1.0]), np.array([2]), np.array([0]), np.array([1])), "query_start must be"),
        ((np.array([1]), np.array([2, 3]), np.array([0]), np.array([1])), "differ in length"),
        ((np.array([1]), np.array([2]), np.array([5]), np.array([1])), "target interval 0"),
        ((np.array([3]), np.array([2]), np.array([0]), np.array([1])), "query interval 0"),
        (([1], np.array([2]), np.array([0]), np.array([1])), "query_start must be"),
        (
            (np.array([1]), np.array([2]), np.array([2**63], np.uint64), np.array([1])),
            "target_start exceeds the int64 range",
        ),
    ],
)
def test_bad_input_is_a_one_line_value_error(args, message):
    with pytest.raises(ValueError, match=message) as exc:
        overlap_count(*args, backend="cpu")
    assert "\n" not in str(exc.value) and str(exc.value).startswith("overlap_count: ")


def test_unknown_backend():
    with pytest.raises(BackendError, match="unknown compute backend"):
        overlap_count(np.zeros(1, np.int64), np.ones(1, np.int64), np.zeros(1, np.int64),
                      np.ones(1, np.int64), backend="cuda")  # fmt: skip


@pytest.fixture
def fake_metalcompute(monkeypatch):
    """metalcompute stand-in whose kernels run through the C++ harness (as test_backend)."""
    if not have_cxx():
        pytest.skip(SKIP_REASON)
    import sys
    import types

    from biometal.kernels import backend as bk
    from test_backend import FakeDevice

    module = types.ModuleType("metalcompute")
    module.Device = FakeDevice
    FakeDevice.compiled = []
    monkeypatch.setitem(sys.modules, "metalcompute", module)
    bk.clear_cache()
    yield FakeDevice
    bk.clear_cache()


def test_metal_dispatch_path_equals_cpu(fake_metalcompute, tmp_path):
    """The dispatch module's Metal branch (metal_runner: buffer order, sizes, empty arrays
    replaced by one-element buffers) and the library on backend="metal" equal the cpu."""
    from biometal.regions import intervals as ops
    from biometal.regions import read_bed

    rng = np.random.default_rng(11)
    qc, qs, qe, tc, ts, te = random_sets(rng, 700, 500, 5, 300, 40)
    kq, kt = keyed(qc, qs, qe), keyed(tc, ts, te)
    want = naive(qc, qs, qe, tc, ts, te)
    np.testing.assert_array_equal(overlap_count(*kq, *kt, backend="metal"), want)
    assert fake_metalcompute.compiled == ["overlap_count"]  # the Metal source really ran
    pos = te > ts  # no zero-length targets: an empty points array
    np.testing.assert_array_equal(
        overlap_count(*kq, kt[0][pos], kt[1][pos], backend="metal"),
        naive(qc, qs, qe, tc[pos], ts[pos], te[pos]),
    )
    empty = np.zeros(0, np.int64)
    assert overlap_count(*kq, empty, empty, backend="metal").tolist() == [0] * len(qs)
    assert overlap_count(empty, empty, *kt, backend="metal").tolist() == []

    strands = np.array(["+", "-", "."])
    for name, c, s, e in (("a.bed", qc, qs, qe), ("b.bed", tc, ts, te)):
        st_ = strands[rng.integers(0, 3, len(c))]
        (tmp_path / name).write_text(
            "".join(f"c{x}\t{y}\t{z}\tn\t0\t{w}\n" for x, y, z, w in zip(c, s, e, st_, strict=True))
        )
    a, b = read_bed(tmp_path / "a.bed"), read_bed(tmp_path / "b.bed")
    for strand in (None, "same", "opposite"):
        metal = ops.overlap_counts(a, b, strand, backend="metal")
        np.testing.assert_array_equal(metal, ops.overlap_counts(a, b, strand, backend="cpu"))
    np.testing.assert_array_equal(ops.overlap_counts(a, b, backend="metal"), want)
