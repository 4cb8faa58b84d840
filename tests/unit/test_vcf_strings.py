"""The VCF/BCF reader's string columns (biometal.io.vcf._strings, _BcfParser._filters).

_strings builds one Python string per distinct short value (a numba hash table over the
spans) and gathers long or unusual ones (NUL, non-ASCII bytes) one by one; _filters maps
FILTER ids through a lookup table. Both are checked against a per-record Python oracle
(bytes slicing + decode) on random spans over random bytes, and end to end against
bcftools in test_vcf_reader.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from biometal.io.vcf import VcfHeader, _BcfParser, _strings


def _oracle(buf: np.ndarray, spans: np.ndarray) -> list[str]:
    out = []
    for s, e in spans.tolist():
        if s < 0:
            out.append(".")
        else:
            raw = buf[s : max(s, e)].tobytes().replace(b"\x00", b"")
            out.append(raw.decode("utf-8", "replace"))
    return out


@pytest.mark.parametrize("seed", range(6))
def test_strings_equal_per_record_decode(seed):
    rng = np.random.default_rng(seed)
    # few distinct bytes so that short values repeat; some NULs, non-ASCII and UTF-8 bytes
    alphabet = np.frombuffer(b"ACGT.,;<>*" + b"\x00\xc3\xa9\xe2\x82\xff", np.uint8)
    weights = np.r_[np.full(10, 8.0), np.ones(6)]
    buf = rng.choice(alphabet, 5000, p=weights / weights.sum()).astype(np.uint8)
    n = int(rng.integers(1, 3000))
    starts = rng.integers(0, 4900, n)
    lens = rng.choice([0, 1, 1, 2, 3, 5, 7, 8, 9, 30], n)
    spans = np.stack([starts, starts + lens], axis=1).astype(np.int64)
    spans[rng.random(n) < 0.05] = -1  # absent values read "."
    inv = rng.random(n) < 0.03  # a bare INFO key's span [x, x - 1) reads ""
    spans[inv, 1] = spans[inv, 0] - 1
    spans[inv & (spans[:, 0] < 0), 1] = -1
    got = _strings(buf, spans)
    assert got.dtype == object and got.shape == (n,)
    assert got.tolist() == _oracle(buf, spans)
    # a column of a wider span array (non-contiguous rows), as the text parser passes
    wide = np.zeros((n, 3, 2), np.int64)
    wide[:, 1] = spans
    assert _strings(buf, wide[:, 1]).tolist() == _oracle(buf, spans)


def test_strings_many_distinct_and_empty():
    buf = np.frombuffer(b"".join(b"%07d" % i for i in range(20000)), np.uint8)
    spans = np.array([(7 * i, 7 * i + 7) for i in range(20000)], np.int64)
    got = _strings(buf, spans)
    assert got.tolist() == [f"{i:07d}" for i in range(20000)]
    assert _strings(buf, spans[:0]).shape == (0,)


def _parser(strings: dict[int, str]) -> _BcfParser:
    header = VcfHeader([], {}, {}, [], strings, 1)
    return _BcfParser("x.bcf", header, [], [], False, 2, 16, [], None)


@pytest.mark.parametrize("ids_hi", [3, 10_000])
def test_filters_equal_oracle(ids_hi):
    rng = np.random.default_rng(ids_hi)
    names = {0: "PASS", 1: "q10", 2: "s50", ids_hi: "far"}
    counts = rng.choice([0, 1, 1, 1, 2, 3], 500)
    off = np.zeros(501, np.int64)
    off[1:] = np.cumsum(counts)
    filt = rng.choice([0, 1, 2, 7, ids_hi], int(off[-1])).astype(np.int32)
    got = _parser(names)._filters(filt, off)
    want = [
        ";".join(names.get(int(f), "?") for f in filt[off[i] : off[i + 1]]) or "."
        for i in range(500)
    ]
    assert got.tolist() == want
    none = _parser(names)._filters(np.zeros(0, np.int32), np.zeros(4, np.int64))
    assert none.tolist() == [".", ".", "."]
