"""read_stats: Metal source (through the C++ harness) == numba twin == naive reference, exactly."""

from __future__ import annotations

import numpy as np
import pytest
from biometal.kernels import ReadStats, read_stats, summarize_read_stats
from harness import KERNELS_DIR, SKIP_REASON, build_kernel, have_cxx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

needs_cxx = pytest.mark.skipif(not have_cxx(), reason=SKIP_REASON)
FIELDS = ReadStats._fields


# --------------------------------------------------------------------------------------
# The three implementations


@pytest.fixture(scope="module")
def metal_kernel():
    if not have_cxx():
        pytest.skip(SKIP_REASON)
    return build_kernel(KERNELS_DIR / "read_stats.metal", "read_stats")


def run_metal(kernel, codes, qual, offsets, threshold, order="forward", threads=1):
    """read_stats.metal on the CPU, finished on the host exactly as the Metal backend does."""
    n = len(offsets) - 1
    counts = np.zeros((n, 5), np.uint32)
    qsum = np.zeros(n, np.uint64)
    n_low = np.zeros(n, np.uint32)
    kernel(
        codes,
        qual,
        offsets.view(np.uint64),
        threshold,
        n,
        counts,
        qsum,
        n_low,
        grid=n,
        order=order,
        threads=threads,
        seed=n,
    )
    return ReadStats.from_sums(counts, qsum, n_low)


def run_cpu(codes, qual, offsets, threshold):
    return read_stats(codes, qual, offsets, quality_threshold=threshold, backend="cpu")


def reference(codes, qual, offsets, threshold):
    """Independent pure-Python implementation (Python ints; one correctly rounded division)."""
    codes_l, qual_l, offs = codes.tolist(), qual.tolist(), offsets.tolist()
    counts, qsums, lows, gcs, means = [], [], [], [], []
    for r in range(len(offs) - 1):
        c = [0, 0, 0, 0, 0]
        qs = low = 0
        for i in range(offs[r], offs[r + 1]):
            c[min(codes_l[i], 4)] += 1
            qs += qual_l[i]
            low += qual_l[i] < threshold
        acgt, length = sum(c[:4]), sum(c)
        counts.append(c)
        qsums.append(qs)
        lows.append(low)
        gcs.append((c[1] + c[2]) / acgt if acgt else 0.0)
        means.append(qs / length if length else 0.0)
    return ReadStats(
        counts=np.array(counts, np.uint32).reshape(-1, 5),
        gc_fraction=np.array(gcs, np.float64).astype(np.float32),
        mean_quality=np.array(means, np.float64).astype(np.float32),
        n_low_quality=np.array(lows, np.uint32),
        quality_sum=np.array(qsums, np.uint64),
    )


def assert_identical(a: ReadStats, b: ReadStats, what: str) -> None:
    for field in FIELDS:
        x, y = getattr(a, field), getattr(b, field)
        assert x.dtype == y.dtype, f"{what}: {field} dtype {x.dtype} != {y.dtype}"
        assert x.shape == y.shape, f"{what}: {field} shape {x.shape} != {y.shape}"
        if x.dtype.kind == "f":  # bitwise, not just numerically equal
            x, y = x.view(np.uint32), y.view(np.uint32)
        assert np.array_equal(x, y), f"{what}: {field} differs\n{x}\n{y}"


def check_all(kernel, codes, qual, offsets, threshold):
    codes = np.asarray(codes, np.uint8)
    qual = np.asarray(qual, np.uint8)
    offsets = np.asarray(offsets, np.int64)
    metal = run_metal(kernel, codes, qual, offsets, threshold)
    cpu = run_cpu(codes, qual, offsets, threshold)
    ref = reference(codes, qual, offsets, threshold)
    assert_identical(metal, cpu, "metal(harness) vs numba")
    assert_identical(cpu, ref, "numba vs reference")
    return cpu


def chunk_from_reads(reads):
    """[(codes list, qual list), ...] -> codes, qual, offsets."""
    lengths = [len(c) for c, _ in reads]
    offsets = np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)]).astype(np.int64)
    codes = np.array([x for c, _ in reads for x in c], np.uint8)
    qual = np.array([x for _, q in reads for x in q], np.uint8)
    return codes, qual, offsets


# --------------------------------------------------------------------------------------
# Property tests


@st.composite
def random_chunks(draw):
    lengths = draw(st.lists(st.integers(0, 300), max_size=80))
    seed = draw(st.integers(0, 2**32 - 1))
    code_hi = draw(st.sampled_from([0, 1, 3, 4, 4, 4, 255]))  # 255: codes beyond N
    q_lo = draw(st.integers(0, 60))
    q_hi = draw(st.integers(q_lo, 60) | st.just(255))
    threshold = draw(st.integers(0, 60) | st.sampled_from([61, 255, 256, 2**32 - 1]))
    rng = np.random.default_rng(seed)
    n = int(sum(lengths))
    codes = rng.integers(0, code_hi + 1, n).astype(np.uint8)
    qual = rng.integers(q_lo, q_hi + 1, n).astype(np.uint8)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    return codes, qual, offsets, threshold


@needs_cxx
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chunk=random_chunks())
def test_random_chunks_agree(metal_kernel, chunk):
    check_all(metal_kernel, *chunk)


reads_strategy = st.lists(
    st.integers(0, 12).flatmap(
        lambda n: st.tuples(
            st.lists(st.integers(0, 6), min_size=n, max_size=n),
            st.lists(st.integers(0, 60), min_size=n, max_size=n),
        )
    ),
    max_size=12,
)


@needs_cxx
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(reads=reads_strategy, threshold=st.integers(0, 61))
def test_small_chunks_agree(metal_kernel, reads, threshold):
    """Fully hypothesis-drawn reads, so a failure shrinks to a minimal chunk."""
    check_all(metal_kernel, *chunk_from_reads(reads), threshold)


# --------------------------------------------------------------------------------------
# Edge cases


@needs_cxx
def test_empty_chunk(metal_kernel):
    stats = check_all(metal_kernel, [], [], [0], 20)
    assert stats.counts.shape == (0, 5)
    assert all(getattr(stats, f).shape[0] == 0 for f in FIELDS)


@needs_cxx
def test_empty_reads(metal_kernel):
    codes, qual, offsets = chunk_from_reads(
        [([], []), ([0, 1], [30, 10]), ([], []), ([], []), ([2], [40]), ([], [])]
    )
    stats = check_all(metal_kernel, codes, qual, offsets, 20)
    empty = [0, 2, 3, 5]
    assert (stats.counts[empty] == 0).all()
    assert (stats.gc_fraction[empty] == 0.0).all() and (stats.mean_quality[empty] == 0.0).all()
    assert stats.counts[1].tolist() == [1, 1, 0, 0, 0]
    assert stats.gc_fraction[1] == np.float32(0.5) and stats.mean_quality[1] == np.float32(20)
    assert stats.n_low_quality.tolist() == [0, 1, 0, 0, 0, 0]


@needs_cxx
def test_only_empty_reads(metal_kernel):
    """Reads exist but the chunk has no bases (zero-length code/qual buffers)."""
    stats = check_all(metal_kernel, [], [], [0, 0, 0, 0], 20)
    assert stats.counts.shape == (3, 5) and not stats.counts.any()


@needs_cxx
def test_all_n_reads(metal_kernel):
    codes, qual, offsets = chunk_from_reads(
        [([4] * 50, [2] * 50), ([4, 7, 200, 255], [0, 60, 93, 255]), ([4], [30])]
    )
    stats = check_all(metal_kernel, codes, qual, offsets, 20)
    assert stats.counts[:, :4].sum() == 0
    assert stats.counts[:, 4].tolist() == [50, 4, 1]
    assert (stats.gc_fraction == 0.0).all()  # convention: no A/C/G/T -> 0.0, never NaN
    assert stats.mean_quality.tolist() == [2.0, 102.0, 30.0]


@needs_cxx
@pytest.mark.parametrize("qual", [0, 1, 19, 20, 60, 93, 255])
def test_length_one_reads(metal_kernel, qual):
    reads = [([code], [qual]) for code in (0, 1, 2, 3, 4, 5, 255)]
    stats = check_all(metal_kernel, *chunk_from_reads(reads), 20)
    assert stats.counts.tolist() == [[int(i == min(c[0], 4)) for i in range(5)] for c, _ in reads]
    assert stats.gc_fraction.tolist() == [0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]
    assert (stats.mean_quality == np.float32(qual)).all()
    assert (stats.n_low_quality == int(qual < 20)).all()


@needs_cxx
@pytest.mark.parametrize("q_hi", [42, 255])
def test_very_long_read(metal_kernel, q_hi):
    rng = np.random.default_rng(q_hi)
    n = 1_000_000
    codes = rng.integers(0, 5, n).astype(np.uint8)
    qual = rng.integers(0, q_hi + 1, n).astype(np.uint8)
    # one 1e6-base read between two short ones
    offsets = np.array([0, 7, n - 3, n], np.int64)
    stats = check_all(metal_kernel, codes, qual, offsets, 30)
    assert stats.counts[1].sum() == n - 10
    assert int(stats.quality_sum[1]) == int(qual[7 : n - 3].sum(dtype=np.int64))


@needs_cxx
@pytest.mark.parametrize("threshold", [0, 254, 255, 256, 2**32 - 1])
def test_max_quality(metal_kernel, threshold):
    codes, qual, offsets = chunk_from_reads([([0, 1, 2, 3] * 25, [255] * 100), ([1], [255])])
    stats = check_all(metal_kernel, codes, qual, offsets, threshold)
    assert stats.mean_quality.tolist() == [255.0, 255.0]
    assert stats.n_low_quality.tolist() == ([100, 1] if threshold > 255 else [0, 0])


@needs_cxx
def test_offsets_covering_part_of_the_buffers(metal_kernel):
    """offsets need not start at 0 or end at len(codes)."""
    codes = np.array([3, 3, 0, 1, 2, 2, 4, 3, 3], np.uint8)
    qual = np.arange(9, dtype=np.uint8) * 7
    check_all(metal_kernel, codes, qual, [2, 4, 4, 7], 21)


@needs_cxx
@pytest.mark.parametrize("order,threads", [("reverse", 1), ("shuffle", 1), ("shuffle", 2)])
def test_independent_of_thread_order(metal_kernel, order, threads):
    rng = np.random.default_rng(7)
    lengths = rng.integers(0, 200, 500)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    codes = rng.integers(0, 5, offsets[-1]).astype(np.uint8)
    qual = rng.integers(0, 41, offsets[-1]).astype(np.uint8)
    forward = run_metal(metal_kernel, codes, qual, offsets, 20)
    other = run_metal(metal_kernel, codes, qual, offsets, 20, order=order, threads=threads)
    assert_identical(forward, other, f"forward vs {order}/{threads} threads")


# --------------------------------------------------------------------------------------
# Dispatch: validation, conventions, summary (no compiler needed)


def test_defaults_and_gc_convention():
    codes, qual, offsets = chunk_from_reads([([1, 2, 4, 0], [10, 20, 30, 40]), ([4, 4], [5, 5])])
    stats = read_stats(codes, qual, offsets, backend="cpu")  # threshold 20 by default
    assert stats.counts.dtype == np.uint32 and stats.counts.shape == (2, 5)
    assert stats.gc_fraction.dtype == np.float32 and stats.mean_quality.dtype == np.float32
    assert stats.n_low_quality.dtype == np.uint32 and stats.quality_sum.dtype == np.uint64
    assert stats.gc_fraction.tolist() == [np.float32(2 / 3), 0.0]
    assert stats.mean_quality.tolist() == [25.0, 5.0]
    assert stats.n_low_quality.tolist() == [1, 2]
    assert stats.lengths.tolist() == [4, 2]
    assert not np.isnan(stats.gc_fraction).any()


def test_other_integer_offsets_are_accepted():
    codes, qual, offsets = chunk_from_reads([([0, 1], [3, 4]), ([2], [5])])
    expect = read_stats(codes, qual, offsets, backend="cpu")
    for dtype in (np.int32, np.uint32, np.uint64):
        got = read_stats(codes, qual, offsets.astype(dtype), backend="cpu")
        assert_identical(got, expect, str(dtype))


@pytest.mark.parametrize(
    "codes,qual,offsets,threshold,match",
    [
        (np.zeros(3, np.int64), np.zeros(3, np.uint8), [0, 3], 20, "codes must be a 1-D uint8"),
        (np.zeros(3, np.uint8), np.zeros(2, np.uint8), [0, 3], 20, "same length"),
        (np.zeros((3, 1), np.uint8), np.zeros(3, np.uint8), [0, 3], 20, "1-D uint8"),
        (np.zeros(3, np.uint8), [0, 0, 0], [0, 3], 20, "qual must be"),
        (np.zeros(3, np.uint8), np.zeros(3, np.uint8), [], 20, "n_reads\\+1"),
        (np.zeros(3, np.uint8), np.zeros(3, np.uint8), [0.0, 3.0], 20, "integer array"),
        (np.zeros(3, np.uint8), np.zeros(3, np.uint8), [0, 4], 20, "must lie in"),
        (np.zeros(3, np.uint8), np.zeros(3, np.uint8), [-1, 3], 20, "must lie in"),
        (np.zeros(3, np.uint8), np.zeros(3, np.uint8), [0, 2, 1, 3], 20, "must not decrease"),
        (np.zeros(3, np.uint8), np.zeros(3, np.uint8), [0, 3], -1, "quality_threshold"),
        (np.zeros(3, np.uint8), np.zeros(3, np.uint8), [0, 3], 2**32, "quality_threshold"),
        (np.zeros(3, np.uint8), np.zeros(3, np.uint8), [0, 3], 20.5, "must be an integer"),
        (np.zeros(3, np.uint8), np.zeros(3, np.uint8), [0, 3], True, "must be an integer"),
    ],
)
def test_bad_input_is_a_clear_value_error(codes, qual, offsets, threshold, match):
    if isinstance(offsets, list):
        offsets = np.array(
            offsets, dtype=np.float64 if offsets and isinstance(offsets[0], float) else np.int64
        )
    with pytest.raises(ValueError, match=match) as info:
        read_stats(codes, qual, offsets, threshold, backend="cpu")
    assert "\n" not in str(info.value)


def test_summary():
    codes, qual, offsets = chunk_from_reads([([1, 2, 4, 0], [10, 20, 30, 40]), ([4, 4], [5, 5])])
    summary = summarize_read_stats(read_stats(codes, qual, offsets, 20, backend="cpu"))
    assert summary == {
        "n_reads": 2,
        "n_bases": 6,
        "A": 1,
        "C": 1,
        "G": 1,
        "T": 0,
        "N": 3,
        "gc_fraction": 2 / 3,
        "mean_quality": 110 / 6,
        "n_low_quality": 3,
    }
    empty = summarize_read_stats(
        read_stats(
            np.zeros(0, np.uint8), np.zeros(0, np.uint8), np.zeros(1, np.int64), backend="cpu"
        )
    )
    assert empty["n_reads"] == 0 and empty["gc_fraction"] == 0.0 and empty["mean_quality"] == 0.0
