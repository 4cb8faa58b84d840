"""kmer_count: Metal source (through the C++ harness) == numba twin == naive reference, exactly.

Random reads (N and other codes >= 4 included, lengths 0 .. 200) for k across both word
layouts (k <= 32: one word; 33..63: two), run with the Metal kernel on one and on several
std::threads in shuffled order, and with the numba twin; every word must equal a plain
Python canonical k-mer as a 2k-bit integer.
"""

from __future__ import annotations

import numpy as np
import pytest
from biometal.kernels.kmer_count import INVALID, KmerWords, canonical_kmers, kmer_slots
from harness import KERNELS_DIR, SKIP_REASON, build_kernel, have_cxx
from hypothesis import given, settings
from hypothesis import strategies as st

needs_cxx = pytest.mark.skipif(not have_cxx(), reason=SKIP_REASON)


@pytest.fixture(scope="module")
def metal_kernel():
    if not have_cxx():
        pytest.skip(SKIP_REASON)
    return build_kernel(KERNELS_DIR / "kmer_count.metal", "kmer_count")


def random_chunk(rng, n, max_len, n_rate=0.01):
    lengths = rng.integers(0, max_len + 1, n)
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    codes = rng.integers(0, 4, offsets[-1]).astype(np.uint8)
    codes[rng.random(offsets[-1]) < n_rate] = rng.choice([4, 9, 255])
    return codes, offsets


def run_metal(kernel, codes, offsets, k, order="forward", threads=1) -> KmerWords:
    slots = kmer_slots(offsets, k)
    hi = np.zeros(int(slots[-1]), np.uint64)
    lo = np.zeros(int(slots[-1]), np.uint64)
    n = len(offsets) - 1
    kernel(codes, offsets.view(np.uint64), slots.view(np.uint64), np.array([k, n], np.uint32),
           hi, lo, grid=n, order=order, threads=threads, seed=n)  # fmt: skip
    return KmerWords(hi, lo)


def naive(codes, offsets, k) -> list[int]:
    """Canonical k-mers as Python ints (-1 for a k-mer with N), read by read."""
    out = []
    for r in range(len(offsets) - 1):
        seq = codes[offsets[r] : offsets[r + 1]].tolist()
        for j in range(len(seq) - k + 1):
            kmer = seq[j : j + k]
            if any(c >= 4 for c in kmer):
                out.append(-1)
                continue
            fwd = sum(c << (2 * (k - 1 - i)) for i, c in enumerate(kmer))
            rev = sum((3 - c) << (2 * i) for i, c in enumerate(kmer))
            out.append(min(fwd, rev))
    return out


def as_ints(words: KmerWords) -> list[int]:
    return [
        -1 if h == INVALID else (int(h) << 64) | int(lo)
        for h, lo in zip(words.hi.tolist(), words.lo.tolist(), strict=True)
    ]


def assert_same(a: KmerWords, b: KmerWords) -> None:
    np.testing.assert_array_equal(a.hi, b.hi)
    np.testing.assert_array_equal(a.lo, b.lo)


@needs_cxx
@pytest.mark.parametrize("k", [1, 2, 5, 21, 31, 32, 33, 47, 55, 63])
def test_metal_equals_numba_equals_naive(metal_kernel, k):
    rng = np.random.default_rng(k)
    codes, offsets = random_chunk(rng, 120, 200)
    metal = run_metal(metal_kernel, codes, offsets, k)
    cpu = canonical_kmers(codes, offsets, k, backend="cpu")
    assert_same(metal, cpu)
    assert as_ints(cpu) == naive(codes, offsets, k)
    assert_same(metal, run_metal(metal_kernel, codes, offsets, k, order="shuffle", threads=3))


@settings(max_examples=60, deadline=None)
@given(
    reads=st.lists(st.lists(st.sampled_from([0, 1, 2, 3, 0, 1, 2, 3, 4]), max_size=80),
                   max_size=6),
    k=st.integers(1, 63),
)  # fmt: skip
def test_numba_equals_naive_property(reads, k):
    offsets = np.zeros(len(reads) + 1, np.int64)
    np.cumsum([len(r) for r in reads], out=offsets[1:])
    codes = np.array(sum(reads, []), np.uint8)
    words = canonical_kmers(codes, offsets, k, backend="cpu", threads=1)
    assert as_ints(words) == naive(codes, offsets, k)
    assert words.valid_mask().tolist() == [x >= 0 for x in naive(codes, offsets, k)]


def test_reverse_complement_gives_the_same_words():
    rng = np.random.default_rng(3)
    codes = rng.integers(0, 4, 300).astype(np.uint8)
    rc = (3 - codes[::-1]).astype(np.uint8)
    for k in (17, 40):
        a = canonical_kmers(codes, np.array([0, 300]), k, backend="cpu")
        b = canonical_kmers(rc, np.array([0, 300]), k, backend="cpu")
        np.testing.assert_array_equal(a.hi, b.hi[::-1])
        np.testing.assert_array_equal(a.lo, b.lo[::-1])


@pytest.mark.parametrize(
    "codes,offsets,k,match",
    [
        (np.zeros(3, np.int64), np.array([0, 3]), 3, "codes must be a 1-D uint8"),
        (np.zeros(3, np.uint8), np.array([0, 4]), 3, "offsets must lie in"),
        (np.zeros(3, np.uint8), np.array([0, 3]), 0, "k must be"),
        (np.zeros(3, np.uint8), np.array([0, 3]), 64, "k must be"),
    ],
)
def test_bad_input_is_a_value_error(codes, offsets, k, match):
    with pytest.raises(ValueError, match=match):
        canonical_kmers(codes, offsets, k, backend="cpu")
