"""kmer_tokenize: Metal source (through the C++ harness) == numba twin, exactly; dispatch checks."""

from __future__ import annotations

import numpy as np
import pytest
from biometal.kernels.kmer_tokenize import KmerTokens, kmer_tokenize
from harness import KERNELS_DIR, SKIP_REASON, build_kernel, have_cxx

needs_cxx = pytest.mark.skipif(not have_cxx(), reason=SKIP_REASON)
SPECIAL = (0, 1, 2, 3, 4)


@pytest.fixture(scope="module")
def metal_kernel():
    if not have_cxx():
        pytest.skip(SKIP_REASON)
    return build_kernel(KERNELS_DIR / "kmer_tokenize.metal", "kmer_tokenize")


def dnabert_lut(k: int) -> np.ndarray:
    """k-mer index (A0 C1 G2 T3) -> DNABERT id (5 + rank in product("ATCG"))."""
    digit = np.array([0, 2, 3, 1])  # A C G T -> position in "ATCG"
    lut = np.zeros(4**k, np.int32)
    for index in range(4**k):
        rank = 0
        for b in range(k):
            rank = rank * 4 + digit[(index >> (2 * (k - 1 - b))) & 3]
        lut[index] = 5 + rank
    return lut


def run_metal(
    kernel,
    codes,
    qual,
    offsets,
    lut,
    rc,
    k,
    stride,
    L,
    add_special,
    mask_below,
    order="forward",
    threads=1,
):
    n = len(offsets) - 1
    ids = np.zeros((n, L), np.int32)
    n_tokens = np.zeros(n, np.uint32)
    min_qual = np.zeros((n, L), np.uint8)
    params = np.array([k, stride, L, int(add_special), mask_below, *SPECIAL, n], np.uint32)
    kernel(
        codes, qual, np.ascontiguousarray(offsets, np.int64).view(np.uint64), lut, rc, params,
        ids, n_tokens, min_qual, grid=n, order=order, threads=threads, seed=n,
    )  # fmt: skip
    return KmerTokens(ids, n_tokens, min_qual)


def run_cpu(codes, qual, offsets, lut, rc, k, stride, L, add_special, mask_below):
    return kmer_tokenize(
        codes, qual, offsets, lut, k, stride=stride, max_length=L, add_special=add_special,
        mask_below=mask_below, special=SPECIAL, rc=rc, backend="cpu",
    )  # fmt: skip


def assert_same(a: KmerTokens, b: KmerTokens) -> None:
    for name in KmerTokens._fields:
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and x.shape == y.shape, name
        np.testing.assert_array_equal(x, y, err_msg=name)


def random_chunk(rng, n, max_len, n_rate=0.02):
    lengths = rng.integers(0, max_len + 1, n)
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    codes = rng.integers(0, 4, offsets[-1]).astype(np.uint8)
    codes[rng.random(offsets[-1]) < n_rate] = rng.choice([4, 7, 255])
    qual = rng.integers(0, 94, offsets[-1]).astype(np.uint8)
    rc = (rng.random(n) < 0.5).astype(np.uint8)
    return codes, qual, offsets, rc


def naive(codes, qual, offsets, lut, rc, k, stride, L, add_special, mask_below):
    """Independent pure-Python reference of the kernel's conventions."""
    n = len(offsets) - 1
    ids = np.zeros((n, L), np.int32)
    mq = np.full((n, L), 255, np.uint8)
    n_tok = np.zeros(n, np.uint32)
    for r in range(n):
        a, b = int(offsets[r]), int(offsets[r + 1])
        c, q = codes[a:b].tolist(), qual[a:b].tolist()
        if rc[r]:
            c = [3 - x if x < 4 else x for x in c[::-1]]
            q = q[::-1]
        row, mins = ([2], [255]) if add_special else ([], [])
        room = L - 2 if add_special else L
        for start in range(0, len(c) - k + 1, stride):
            if len(row) - add_special >= room:
                break
            kmer = c[start : start + k]
            low = min(q[start : start + k])
            if any(x >= 4 for x in kmer):
                tok = 1
            else:
                tok = int(lut[sum(x << (2 * (k - 1 - i)) for i, x in enumerate(kmer))])
            row.append(4 if low < mask_below else tok)
            mins.append(low)
        if add_special:
            row.append(3)
            mins.append(255)
        ids[r, : len(row)] = row
        mq[r, : len(mins)] = mins
        n_tok[r] = len(row)
    return KmerTokens(ids, n_tok, mq)


@needs_cxx
@pytest.mark.parametrize(
    "k,stride,L,add_special,mask_below",
    [(6, 1, 64, True, 0), (3, 1, 200, True, 20), (4, 3, 16, False, 30), (6, 6, 2, True, 0),
     (5, 2, 31, True, 256), (1, 1, 10, False, 0), (8, 1, 40, True, 10)],
)  # fmt: skip
def test_metal_equals_numba_equals_naive(metal_kernel, k, stride, L, add_special, mask_below):
    rng = np.random.default_rng(k * 100 + stride * 10 + L)
    codes, qual, offsets, rc = random_chunk(rng, 300, 120)
    lut = dnabert_lut(k)
    args = (codes, qual, offsets, lut, rc, k, stride, L, add_special, mask_below)
    metal = run_metal(metal_kernel, *args)
    cpu = run_cpu(*args)
    assert_same(metal, cpu)
    assert_same(cpu, naive(*args))


@needs_cxx
def test_edge_reads(metal_kernel):
    reads = [[], [0], [0, 1, 2, 3, 0], [0, 1, 2, 3, 0, 1], [4] * 9, [0, 1, 2, 4, 3, 3, 2, 1],
             [3] * 200]  # fmt: skip
    offsets = np.zeros(len(reads) + 1, np.int64)
    np.cumsum([len(r) for r in reads], out=offsets[1:])
    codes = np.array(sum(reads, []), np.uint8)
    qual = np.arange(len(codes), dtype=np.uint8) % 41
    lut = dnabert_lut(6)
    for rc_value in (0, 1):
        rc = np.full(len(reads), rc_value, np.uint8)
        args = (codes, qual, offsets, lut, rc, 6, 1, 20, True, 15)
        metal = run_metal(metal_kernel, *args)
        assert_same(metal, run_cpu(*args))
        assert_same(metal, naive(*args))
    assert metal.n_tokens.tolist() == [2, 2, 2, 3, 6, 5, 20]


@needs_cxx
def test_offsets_not_starting_at_zero_and_empty_chunk(metal_kernel):
    rng = np.random.default_rng(1)
    codes, qual, offsets, rc = random_chunk(rng, 50, 40)
    sub = offsets[10:30]
    args = (codes, qual, sub, dnabert_lut(4), rc[10:29], 4, 1, 30, True, 0)
    assert_same(run_metal(metal_kernel, *args), run_cpu(*args))
    empty = (codes, qual, offsets[:1], dnabert_lut(4), rc[:0], 4, 1, 30, True, 0)
    assert run_cpu(*empty).ids.shape == (0, 30)


@needs_cxx
@pytest.mark.parametrize("order,threads", [("reverse", 1), ("shuffle", 2)])
def test_independent_of_thread_order(metal_kernel, order, threads):
    rng = np.random.default_rng(9)
    codes, qual, offsets, rc = random_chunk(rng, 400, 150)
    args = (codes, qual, offsets, dnabert_lut(6), rc, 6, 1, 128, True, 20)
    forward = run_metal(metal_kernel, *args)
    assert_same(forward, run_metal(metal_kernel, *args, order=order, threads=threads))


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"codes": np.zeros(3, np.int64)}, "codes must be a 1-D uint8"),
        ({"qual": np.zeros(2, np.uint8)}, "same length"),
        ({"offsets": np.array([0, 4])}, "offsets must lie in"),
        ({"offsets": np.array([0, 2, 1, 3])}, "offsets must not decrease"),
        ({"offsets": [0, 3]}, "offsets must be a 1-D integer array"),
        ({"k": 0}, "k must be"),
        ({"stride": 0}, "stride must be"),
        ({"lut": np.zeros(10, np.int32)}, "lut must have"),
        ({"max_length": 1}, "max_length"),
        ({"mask_below": 300}, "mask_below"),
        ({"rc": np.zeros(5, np.uint8)}, "rc must have"),
    ],
)
def test_bad_input_is_a_value_error(kwargs, match):
    args = {
        "codes": np.zeros(3, np.uint8),
        "qual": np.zeros(3, np.uint8),
        "offsets": np.array([0, 3]),
        "lut": dnabert_lut(2),
        "k": 2,
    }
    opts = {key: kwargs.pop(key) for key in list(kwargs) if key not in args}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        kmer_tokenize(**args, **opts, backend="cpu")


def test_attention_mask_and_no_quality():
    codes = np.array([0, 1, 2, 3, 0, 1], np.uint8)
    toks = kmer_tokenize(codes, None, np.array([0, 6, 6]), dnabert_lut(3), 3, max_length=8,
                         backend="cpu")  # fmt: skip
    assert toks.n_tokens.tolist() == [6, 2]
    assert toks.attention_mask.tolist() == [[1] * 6 + [0] * 2, [1, 1] + [0] * 6]
    assert (toks.min_qual[0, 1:5] == 255).all()
