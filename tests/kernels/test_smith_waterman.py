"""smith_waterman: the Metal source (through the C++ harness) == the numba twin, exactly.

Scores, end cells, start cells and CIGARs, for every mode, banded and not, match/mismatch
and matrix scoring, on batches mixing lengths 0, 1, short and long (up to 5000): once by
calling the two kernels directly with the host's buffers, once through the whole Metal
backend path (biometal.kernels.smith_waterman.align_pairs(backend="metal")) with a
harness-backed stand-in for metalcompute.
"""

from __future__ import annotations

import sys
import types

import biometal.kernels as bk
import numpy as np
import pytest
from biometal.kernels import smith_waterman as sw
from biometal.kernels.smith_waterman_cpu import trace_walk_driver
from harness import KERNELS_DIR, SKIP_REASON, build_kernel, build_kernel_source, have_cxx

MODES = sw.MODES
FIELDS = ("score", "query_start", "query_end", "target_start", "target_end")


@pytest.fixture(scope="module")
def kernels():
    if not have_cxx():
        pytest.skip(SKIP_REASON)
    path = KERNELS_DIR / "smith_waterman.metal"
    return build_kernel(path, "sw_score"), build_kernel(path, "sw_trace")


def pack(seqs):
    off = np.zeros(len(seqs) + 1, np.int64)
    np.cumsum([len(s) for s in seqs], out=off[1:])
    codes = (
        np.concatenate([np.asarray(s, np.uint8) for s in seqs])
        if off[-1]
        else np.zeros(0, np.uint8)
    )
    return codes.astype(np.uint8), off


def make_batch(rng, n, lengths=(0, 1, 2, 7, 40, 150, 300), long=()):
    """n pairs of mixed lengths: related (mutated copies) and unrelated, plus ``long``."""
    qs, ts = [], []
    for k in range(n):
        lq = int(rng.choice(lengths))
        q = rng.integers(0, 5 if k % 3 == 0 else 4, lq).astype(np.uint8)
        if rng.random() < 0.6:
            t = q.copy()
            mut = rng.random(lq) < rng.choice([0.05, 0.2, 0.5])
            t[mut] = rng.integers(0, 4, int(mut.sum()))
            cut = int(rng.integers(0, lq + 1))
            t = np.concatenate([t[:cut], rng.integers(0, 4, int(rng.integers(0, 6))), t[cut + 2 :]])
        else:
            t = rng.integers(0, 4, int(rng.choice(lengths))).astype(np.uint8)
        qs.append(q)
        ts.append(t.astype(np.uint8))
    for lq, lt in long:
        q = rng.integers(0, 4, lq).astype(np.uint8)
        t = q[: min(lq, lt)].copy()
        t[rng.random(len(t)) < 0.15] = 2
        t = np.concatenate([t, rng.integers(0, 4, max(0, lt - len(t)))]).astype(np.uint8)
        qs.append(q)
        ts.append(t)
    order = rng.permutation(len(qs))  # long pairs anywhere in the batch
    return [qs[i] for i in order], [ts[i] for i in order]


def matrices(rng):
    mm = np.full((5, 5), -3, np.int64)
    np.fill_diagonal(mm, 2)
    m = rng.integers(-5, 4, (5, 5))
    np.fill_diagonal(m, rng.integers(1, 7, 5))
    return [mm, m]


def run_metal_direct(kernels, qc, qo, tc, to, m, go, ge, mode, band, traceback, order="forward"):
    """The two kernels called directly with the buffers the Metal backend builds."""
    k_score, k_trace = kernels
    n = len(qo) - 1
    lq, lt = np.diff(qo), np.diff(to)
    mode_i = MODES.index(mode)
    bands = sw.effective_bands(lq, lt, mode_i, band)
    if band is None or not (bands < np.maximum(lq, lt)).any():
        bands = (lq + lt).astype(np.int64)
    args, n_scratch = sw._metal_common(qc, qo, tc, to, m, go, ge, mode_i, bands)
    scratch = np.zeros(max(1, n_scratch), np.int32)
    score, eq, et = (np.zeros(n, np.int32) for _ in range(3))
    if not traceback:
        k_score(*args, scratch, score, eq, et, grid=n, order=order, threads=2, seed=n)
        return {"score": score, "query_end": eq, "target_end": et}
    size, base, stride = sw.metal_trace_layout(lq, lt, bands)
    tb_off = np.zeros(n + 1, np.uint64)
    tb_off[1:] = np.cumsum(size)
    tb = np.zeros(max(1, int(tb_off[-1])), np.uint8)
    k_trace(*args, scratch, score, eq, et, tb_off, base, stride, tb, grid=n, order=order,
            threads=2, seed=n)  # fmt: skip
    cap = np.zeros(n + 1, np.int64)
    cap[1:] = np.cumsum(lq + lt + 2)
    ops = np.zeros(cap[-1], np.uint8)
    lens = np.zeros(cap[-1], np.int32)
    nops, qs, ts = (np.zeros(n, np.int64) for _ in range(3))
    trace_walk_driver(
        tb, tb_off.astype(np.int64), np.ones(n, np.int64), stride, base, qc, qo, tc, to,
        np.arange(n, dtype=np.int64), score.astype(np.int64), eq.astype(np.int64),
        et.astype(np.int64), mode_i, ops, lens, cap, nops, qs, ts,
    )  # fmt: skip
    off = np.zeros(n + 1, np.int64)
    off[1:] = np.cumsum(nops)
    idx = np.repeat(cap[:-1] - off[:-1], nops) + np.arange(off[-1])
    res = sw.PairAlignments(score, qs, eq, ts, et, ops[idx], lens[idx], off)
    return {
        "score": score,
        "query_end": eq,
        "target_end": et,
        "query_start": qs,
        "target_start": ts,
        "cigars": res.cigar_strings(),
    }


def assert_same(metal: dict, cpu: sw.PairAlignments, what: str) -> None:
    for f in ("score", "query_end", "target_end", "query_start", "target_start"):
        if f in metal:
            a, b = np.asarray(metal[f], np.int64), getattr(cpu, f)
            bad = np.flatnonzero(a != b)
            assert not len(bad), (
                f"{what}: {f} differs at pairs {bad[:5]}: {a[bad[:5]]} {b[bad[:5]]}"
            )
    if "cigars" in metal:
        assert metal["cigars"] == cpu.cigar_strings(), what


# --------------------------------------------------------------------------------------
# direct kernel calls


@pytest.mark.parametrize("mode", MODES)
def test_metal_kernels_equal_numba(kernels, mode):
    rng = np.random.default_rng(MODES.index(mode))
    qs, ts = make_batch(rng, 90, long=[(2000, 1900)])
    qc, qo = pack(qs)
    tc, to = pack(ts)
    for m in matrices(rng):
        for go, ge in ((5, 2), (4, 4), (9, 0)):
            for band in (None, 3, 25):
                for traceback in (False, True):
                    what = f"{mode} go={go} ge={ge} band={band} traceback={traceback}"
                    metal = run_metal_direct(kernels, qc, qo, tc, to, m, go, ge, mode, band,
                                             traceback)  # fmt: skip
                    cpu = sw.align_pairs(qc, qo, tc, to, m, go, ge, mode, band, traceback, "cpu")
                    assert_same(metal, cpu, what)


def test_metal_long_pairs_equal_numba(kernels):
    """Lengths up to 5000 (scores beyond int16 in global mode), with short pairs around."""
    rng = np.random.default_rng(50)
    qs, ts = make_batch(rng, 6, lengths=(0, 1, 30), long=[(5000, 4800), (3000, 5000)])
    qc, qo = pack(qs)
    tc, to = pack(ts)
    m = matrices(rng)[0]
    for mode in MODES:
        for traceback in (False, True):
            metal = run_metal_direct(kernels, qc, qo, tc, to, m, 5, 2, mode, None, traceback)
            cpu = sw.align_pairs(qc, qo, tc, to, m, 5, 2, mode, None, traceback, "cpu")
            assert_same(metal, cpu, f"{mode} traceback={traceback}")


def test_metal_results_do_not_depend_on_thread_order_or_batch(kernels):
    rng = np.random.default_rng(7)
    qs, ts = make_batch(rng, 60)
    qc, qo = pack(qs)
    tc, to = pack(ts)
    m = matrices(rng)[1]
    ref = run_metal_direct(kernels, qc, qo, tc, to, m, 6, 1, "local", None, True)
    shuffled = run_metal_direct(kernels, qc, qo, tc, to, m, 6, 1, "local", None, True, "shuffle")
    assert all(np.array_equal(ref[k], shuffled[k]) for k in FIELDS)
    assert ref["cigars"] == shuffled["cigars"]
    # pair by pair: every offset computed from a batch of one
    for p in (0, 17, 59):
        one = run_metal_direct(kernels, *pack([qs[p]]), *pack([ts[p]]), m, 6, 1, "local", None,
                               True)  # fmt: skip
        assert int(one["score"][0]) == int(ref["score"][p])
        assert one["cigars"][0] == ref["cigars"][p]


# --------------------------------------------------------------------------------------
# the whole Metal backend path, metalcompute played by the harness


class _FakeFunction:
    def __init__(self, fn):
        self.fn = fn

    def __call__(self, n, *buffers):
        self.fn(*buffers, grid=n, check=False, threads=2)
        return object()


class _FakeDevice:
    def __str__(self):
        return "metalcompute.Device(fake, harness-backed)"

    def kernel(self, source):
        class Kernel:
            def function(self, name):
                return _FakeFunction(build_kernel_source(source, name, origin="<fake mc>"))

        return Kernel()

    def buffer(self, nbytes):
        return bytearray(b"\xab" * nbytes)  # garbage: the runner must zero outputs


@pytest.fixture
def fake_metal(monkeypatch):
    if not have_cxx():
        pytest.skip(SKIP_REASON)
    module = types.ModuleType("metalcompute")
    module.Device = _FakeDevice
    monkeypatch.setitem(sys.modules, "metalcompute", module)
    monkeypatch.delenv("BIOMETAL_BACKEND", raising=False)
    bk.clear_cache()
    yield
    bk.clear_cache()


def test_metal_backend_path_equals_cpu(fake_metal, monkeypatch):
    assert bk.resolve_backend("auto") == "metal"
    monkeypatch.setattr(sw, "METAL_TRACE_BYTES", 20_000)  # several traceback dispatches
    rng = np.random.default_rng(3)
    qs, ts = make_batch(rng, 70, long=[(600, 640)])
    qc, qo = pack(qs)
    tc, to = pack(ts)
    for mode in MODES:
        for band in (None, 8):
            for traceback in (False, True):
                m = matrices(rng)[traceback]
                metal = sw.align_pairs(qc, qo, tc, to, m, 5, 2, mode, band, traceback, "metal")
                cpu = sw.align_pairs(qc, qo, tc, to, m, 5, 2, mode, band, traceback, "cpu")
                for f in metal._fields:
                    a, b = getattr(metal, f), getattr(cpu, f)
                    assert (a is None) == (b is None), f
                    if a is not None:
                        assert np.array_equal(a, b), (mode, band, traceback, f)


def test_align_batch_on_metal(fake_metal):
    from biometal.align import Scoring, align_batch

    r = align_batch(["ACGTACGT", ""], ["TTACGTACGTTT", "ACG"], Scoring(), "local",
                    traceback=True)  # fmt: skip
    assert r.score.tolist() == [16, 0] and r.cigars == ["8=", ""]


def test_metal_one_target_for_many_queries_equals_cpu(fake_metal):
    """A broadcast target (one for every query) on the Metal path: the host passes it once
    per pair; results equal the CPU's shared-target layout, field by field."""
    rng = np.random.default_rng(8)
    target = rng.integers(0, 4, 700).astype(np.uint8)
    qs = [target[a : a + int(rng.integers(0, 120))].copy() for a in range(0, 600, 9)]
    qs += [np.zeros(0, np.uint8), np.full(30, 4, np.uint8), rng.integers(0, 4, 800)]
    qc, qo = pack(qs)
    tc, to = pack([target])
    m = matrices(rng)[0]
    for mode in MODES:
        metal = sw.align_pairs(qc, qo, tc, to, m, 5, 2, mode, None, False, "metal")
        cpu = sw.align_pairs(qc, qo, tc, to, m, 5, 2, mode, None, False, "cpu")
        for f in ("score", "query_start", "query_end", "target_start", "target_end"):
            assert np.array_equal(getattr(metal, f), getattr(cpu, f)), (mode, f)
