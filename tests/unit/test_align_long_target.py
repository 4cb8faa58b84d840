"""Many queries against one shared target (the kernels' "shared" layout): scores and end
cells equal parasail's and the per-pair layouts', for a broadcast target (``targets=[t]``)
and for n equal targets, on random and edge shapes; the cost model picks the layout."""

from __future__ import annotations

import numpy as np
import pytest
from biometal.kernels import smith_waterman as sw
from biometal.kernels import smith_waterman_cpu as swc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from biometal.align import AlignError, Scoring, SequenceBatch, align_batch

parasail = pytest.importorskip("parasail", reason="parasail not installed (pip install parasail)")

FIELDS = ("score", "query_start", "query_end", "target_start", "target_end")
SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def pmatrix(scoring: Scoring):
    sm = scoring.substitution_matrix()
    m = parasail.matrix_create("ACGTN", 0, 0)
    for a in range(5):
        for b in range(5):
            m[a, b] = int(sm[a, b])
    return m


def text(codes) -> str:
    return "".join("ACGTN"[int(c)] for c in codes)


def pairs_layout(queries, target, scoring, strategy):
    """align_pairs with n copies of the target and a forced layout."""
    qb = SequenceBatch.from_sequences(queries)
    tb = SequenceBatch.from_sequences([target] * len(queries))
    return sw.align_pairs(
        qb.codes, qb.offsets, tb.codes, tb.offsets, scoring.substitution_matrix(),
        scoring.gap_open, scoring.gap_extend, "local", None, False, "cpu", strategy,
    )  # fmt: skip


def check_shared(queries, target, scoring):
    """Broadcast, n copies (auto) and the forced shared layout == the anti-diagonal
    layout, field by field; scores and ends == parasail sw (32-bit scan: no saturation)."""
    ref = pairs_layout(queries, target, scoring, "antidiagonal")
    forced = pairs_layout(queries, target, scoring, "shared")
    forced16 = pairs_layout(queries, target, scoring, "shared16")
    bcast = align_batch(queries, [target], scoring, "local", backend="cpu")
    copies = align_batch(queries, [target] * len(queries), scoring, "local", backend="cpu")
    for f in FIELDS:
        for res, name in ((forced, "shared"), (forced16, "shared16"), (bcast, "broadcast"),
                          (copies, "copies")):  # fmt: skip
            assert np.array_equal(getattr(res, f), getattr(ref, f)), (name, f)
    pm = pmatrix(scoring)
    t = text(target) if not isinstance(target, str) else target
    for p, q in enumerate(queries):
        qs = text(q) if not isinstance(q, str) else q
        if not qs or not t:
            assert ref.score[p] == 0 and ref.query_end[p] == 0 and ref.target_end[p] == 0
            continue
        pr = parasail.sw_scan_32(qs, t, scoring.gap_open, scoring.gap_extend, pm)
        assert ref.score[p] == pr.score, (qs, p)
        if pr.score > 0:
            assert (ref.query_end[p], ref.target_end[p]) == (pr.end_query + 1, pr.end_ref + 1)
        else:
            assert (ref.query_end[p], ref.target_end[p]) == (0, 0)


@st.composite
def scorings(draw):
    go = draw(st.integers(1, 12))
    ge = go if draw(st.booleans()) else draw(st.integers(0, go))
    if draw(st.booleans()):
        return Scoring(draw(st.integers(1, 6)), draw(st.integers(-8, -1)), go, ge)
    m = np.array(draw(st.lists(st.integers(-6, 6), min_size=25, max_size=25))).reshape(5, 5)
    np.fill_diagonal(m, draw(st.lists(st.integers(1, 8), min_size=5, max_size=5)))
    # symmetric: parasail reads an asymmetric matrix the other way round (M[target, query])
    m = np.triu(m) + np.triu(m, 1).T
    return Scoring(gap_open=go, gap_extend=ge, matrix=m)


@st.composite
def read_sets(draw):
    """One target (up to 400 bp) and 1-80 queries: pieces of it with edits, random
    sequence, all-N, empty, longer than the target."""
    alphabet = draw(st.sampled_from(["ACGT", "AC", "ACGTN"]))
    target = draw(st.text(alphabet=alphabet, min_size=0, max_size=400))
    n = draw(st.integers(1, 80))
    queries = []
    for _ in range(n):
        kind = draw(st.sampled_from(["piece", "piece", "random", "N", "empty", "long"]))
        if kind == "piece" and target:
            a = draw(st.integers(0, len(target) - 1))
            b = draw(st.integers(a, min(len(target), a + 300)))
            q = list(target[a:b])
            for _ in range(draw(st.integers(0, 4))):
                if q:
                    q[draw(st.integers(0, len(q) - 1))] = draw(st.sampled_from("ACGTN"))
            queries.append("".join(q))
        elif kind == "N":
            queries.append("N" * draw(st.integers(1, 50)))
        elif kind == "empty":
            queries.append("")
        elif kind == "long":
            queries.append(target + draw(st.text(alphabet="ACGT", min_size=1, max_size=40)))
        else:
            queries.append(draw(st.text(alphabet="ACGT", max_size=300)))
    return queries, target


@SETTINGS
@given(data=read_sets(), scoring=scorings())
def test_shared_target_equals_per_pair_and_parasail(data, scoring):
    check_shared(*data, scoring)


def test_reads_against_a_long_target_with_query_blocks():
    """Queries longer than a row block (SHARED_QBLOCK) and a target longer than int16 can
    index: ties across blocks, ends past 32767, a full group and a partial one."""
    rng = np.random.default_rng(7)
    target = rng.integers(0, 4, 40_000).astype(np.uint8)
    queries = []
    for k in range(70):
        lq = int(rng.integers(1, 3 * swc.SHARED_QBLOCK + 5))
        a = int(rng.integers(0, len(target) - lq))
        q = target[a : a + lq].copy()
        mut = rng.random(lq) < 0.08
        q[mut] = rng.integers(0, 5, int(mut.sum()))
        queries.append(q if k % 5 else rng.integers(0, 4, lq).astype(np.uint8))
    # a repeat: the best score occurs twice, in different query blocks and columns
    rep = target[35_000:35_400]
    queries.append(np.concatenate([rep, rng.integers(0, 4, 10).astype(np.uint8), rep]))
    check_shared(queries, target, Scoring())


def test_scores_near_the_int16_limit_and_beyond():
    """A local score bound just under 32000 stays in the int16 shared layout; above it the
    queries go pair by pair in 32-bit, with the same results."""
    rng = np.random.default_rng(3)
    target = rng.integers(0, 4, 3000).astype(np.uint8)
    s = Scoring(match=10, mismatch=-9, gap_open=12, gap_extend=3)
    near = [target[100:3090], target[5:2000], target[1000:1700]]  # 10 * 2991 + 15 < 32000
    check_shared(near, target, s)
    big = Scoring(match=100, mismatch=-90, gap_open=120, gap_extend=30)
    check_shared([target[:400], target[:2000], target[300:310]], target, big)


def test_many_queries_of_different_lengths_real_sequence_shape():
    """400 reads of 20-400 bp against a 6 kb target (several lane groups, sorted by
    length), the same through every route."""
    rng = np.random.default_rng(1)
    target = rng.integers(0, 4, 6000).astype(np.uint8)
    queries = []
    for _ in range(400):
        lq = int(rng.integers(20, 400))
        a = int(rng.integers(0, 6000 - lq))
        q = target[a : a + lq].copy()
        q[rng.random(lq) < 0.1] = 4
        queries.append(q)
    check_shared(queries, target, Scoring(1, -1, 2, 1))


@SETTINGS
@given(data=read_sets(), scoring=scorings(), k=st.sampled_from([1, 2, 3, 8, 32]),
       d=st.integers(1, 3))  # fmt: skip
def test_byte_layout_reruns_are_exact_at_any_interval(data, scoring, k, d):
    """The 8-bit shared layout with short checkpoint intervals (many saturated stretches,
    re-runs that start, stop on an equal state, run on past a later saturation or to the
    target's end) == the anti-diagonal layout, field by field."""
    queries, target = data
    queries = [q for q in queries if len(q) <= swc.SHARED_QBLOCK] or ["ACGT"]
    while len(queries) <= swc.SHARED_LANES:  # a byte group (64 or fewer go in int16)
        queries = queries + queries
    old = swc.SHARED8_K, swc.SHARED8_D, swc.shared8_driver_serial
    calls = []
    swc.SHARED8_K, swc.SHARED8_D = k, d
    swc.shared8_driver_serial = lambda *a: calls.append(1) or old[2](*a)
    try:
        ref = pairs_layout(queries, target, scoring, "antidiagonal")
        got = pairs_layout(queries, target, scoring, "shared")
    finally:
        swc.SHARED8_K, swc.SHARED8_D, swc.shared8_driver_serial = old
    assert (
        calls
        or sw._shared8_bias(
            sw._matrix_prep(scoring.substitution_matrix())[4],
            scoring.gap_open,
            scoring.gap_extend,
            np.array([len(q) for q in queries]),
        )
        is None
    )
    for f in FIELDS:
        assert np.array_equal(getattr(got, f), getattr(ref, f)), f


def test_byte_layout_on_reads_against_a_genome_with_repeats():
    """150 bp reads (both strands, mutated) against a 30 kb target holding a 300 bp repeat
    three times: scores over the byte's range at one or several loci, equal best scores at
    several loci (the end rule picks the first), 128-query groups and an int16 tail."""
    rng = np.random.default_rng(11)
    target = rng.integers(0, 4, 30_000).astype(np.uint8)
    rep = target[2_000:2_300].copy()
    target[12_000:12_300] = rep
    target[25_000:25_300] = rep
    queries = []
    for k in range(300):
        a = int(rng.integers(0, len(target) - 150)) if k % 3 else 2_000 + int(rng.integers(0, 150))
        q = target[a : a + 150].copy()
        mut = rng.random(150) < 0.03
        q[mut] = rng.integers(0, 4, int(mut.sum()))
        queries.append(q if k % 2 else (3 - q[::-1]).astype(np.uint8))
    for kk in (16, swc.SHARED8_K):
        old = swc.SHARED8_K
        swc.SHARED8_K = kk
        try:
            check_shared(queries, target, Scoring())
        finally:
            swc.SHARED8_K = old


def test_cost_model_picks_the_shared_layout_for_reads_against_a_genome(monkeypatch):
    calls = []
    for name in ("shared_driver_serial", "shared8_driver_serial"):
        real = getattr(swc, name)
        monkeypatch.setattr(swc, name, lambda *a, real=real: calls.append(1) or real(*a))
    rng = np.random.default_rng(0)
    genome = rng.integers(0, 4, 20_000).astype(np.uint8)
    reads = [genome[a : a + 150] for a in range(0, 19_000, 200)]
    align_batch(reads, [genome], Scoring(), "local", backend="cpu", threads=1)
    assert calls, "the shared layout was not used for 95 reads against a 20 kb target"
    calls.clear()
    # traceback, other modes and short targets keep the per-pair / lane-group layouts
    align_batch(reads[:4], [genome], Scoring(), "local", traceback=True, backend="cpu")
    align_batch(reads[:4], [genome], Scoring(), "semiglobal", backend="cpu")
    align_batch(["ACGT"] * 10, ["ACGTT"], Scoring(), "local", backend="cpu")
    assert not calls


def test_broadcast_target_in_every_mode_and_with_traceback():
    rng = np.random.default_rng(4)
    target = text(rng.integers(0, 4, 500))
    reads = [target[a : a + 60] for a in range(0, 400, 37)] + ["", "NNNN"]
    for mode in ("local", "global", "semiglobal", "extension"):
        for tb in (False, True):
            a = align_batch(reads, [target], Scoring(), mode, traceback=tb, backend="cpu")
            b = align_batch(reads, [target] * len(reads), Scoring(), mode, traceback=tb,
                            backend="cpu")  # fmt: skip
            for f in FIELDS:
                assert np.array_equal(getattr(a, f), getattr(b, f)), (mode, tb, f)
            assert a.cigars == b.cigars


def test_shared_layout_refuses_what_it_cannot_do():
    q = SequenceBatch.from_sequences(["ACGT", "ACG"])
    t = SequenceBatch.from_sequences(["ACGT", "ACGA"])
    m = Scoring().substitution_matrix()
    with pytest.raises(ValueError, match="shared layout"):
        sw.align_pairs(q.codes, q.offsets, t.codes, t.offsets, m, 5, 2, strategy="shared")
    t1 = SequenceBatch.from_sequences(["ACGT"])
    with pytest.raises(ValueError, match="shared layout"):
        sw.align_pairs(q.codes, q.offsets, t1.codes, t1.offsets, m, 5, 2, mode="global",
                       strategy="shared")  # fmt: skip
    with pytest.raises(AlignError, match="3 queries but 2 targets"):
        align_batch(["A", "C", "G"], ["A", "C"])


def test_lane_vector_intrinsics_equal_numpy():
    """The explicit <64 x i16> vector ops of the shared layout against numpy's int16
    arithmetic: saturating add, add-then-clamp subtract, max, splat, the rise test."""
    from numba import njit

    @njit
    def ops(a, b, x, ties):
        out = np.empty(4 * swc.SHARED_LANES, np.int16)
        va, vb = swc.vload(a, 0), swc.vload(b, 0)
        swc.vstore(out, 0, swc.vvadds(va, vb))
        swc.vstore(out, swc.SHARED_LANES, swc.vvsubs0(va, vb))
        swc.vstore(out, 2 * swc.SHARED_LANES, swc.vvmax(va, vb))
        swc.vstore(out, 3 * swc.SHARED_LANES, swc.vsplat(x))
        return out, swc.vany_rise(va, vb, ties)

    rng = np.random.default_rng(5)
    n = swc.SHARED_LANES
    for _ in range(20):
        a = rng.integers(-32768, 32768, n).astype(np.int16)
        b = rng.integers(-32768, 32768, n).astype(np.int16)
        a[:4] = (32767, -32768, 100, 0)
        b[:4] = (10, 10, 100, 0)
        out, _ = ops(a, b, np.int16(-7), False)
        wide_a, wide_b = a.astype(np.int64), b.astype(np.int64)
        assert np.array_equal(out[:n], np.clip(wide_a + wide_b, -32768, 32767))
        pos_a, pos_b = np.abs(wide_a) // 2, np.abs(wide_b) // 2  # usub is for values >= 0
        out2, _ = ops(pos_a.astype(np.int16), pos_b.astype(np.int16), np.int16(3), False)
        assert np.array_equal(out2[n : 2 * n], np.maximum(pos_a - pos_b, 0))
        assert np.array_equal(out[2 * n : 3 * n], np.maximum(a, b))
        assert (out[3 * n :] == -7).all() and (out2[3 * n :] == 3).all()
    best = np.zeros(n, np.int16)
    c = best.copy()
    assert not ops(c, best, np.int16(0), True)[1]
    c[n - 1] = 5
    assert ops(c, best, np.int16(0), False)[1]
    best[n - 1] = 5
    assert not ops(c, best, np.int16(0), False)[1]  # equal: a rise only with ties
    assert ops(c, best, np.int16(0), True)[1]
    c[n - 1] = best[n - 1] = 0
    assert not ops(c, best, np.int16(0), True)[1]  # a tie at 0 is no rise


# --------------------------------------------------------------------------------------
# segments layout: few long pairs, each query cut into segments across the lanes


def check_segments(queries, targets, scoring):
    """Forced segments layout == the anti-diagonal layout field by field, and auto too;
    scores and ends == parasail sw (32-bit scan)."""
    qb = SequenceBatch.from_sequences(queries)
    tb = SequenceBatch.from_sequences(targets)

    def run(strategy):
        return sw.align_pairs(
            qb.codes, qb.offsets, tb.codes, tb.offsets, scoring.substitution_matrix(),
            scoring.gap_open, scoring.gap_extend, "local", None, False, "cpu", strategy,
        )  # fmt: skip

    ref = run("antidiagonal")
    for res, name in ((run("segments"), "segments"), (run("auto"), "auto")):
        for f in FIELDS:
            assert np.array_equal(getattr(res, f), getattr(ref, f)), (name, f)
    pm = pmatrix(scoring)
    for p, (q, t) in enumerate(zip(queries, targets, strict=True)):
        if not q or not t:
            assert ref.score[p] == 0
            continue
        pr = parasail.sw_scan_32(q, t, scoring.gap_open, scoring.gap_extend, pm)
        assert ref.score[p] == pr.score, p
        if pr.score > 0:
            assert (ref.query_end[p], ref.target_end[p]) == (pr.end_query + 1, pr.end_ref + 1)


@st.composite
def long_pairs(draw):
    """1-20 pairs up to 700 bp: related (a piece of the target with edits), random,
    all-N, empty, a query longer than its target, repeats (ties across segments)."""
    alphabet = draw(st.sampled_from(["ACGT", "AC", "ACGTN"]))
    queries, targets = [], []
    for _ in range(draw(st.integers(1, 20))):
        t = draw(st.text(alphabet=alphabet, min_size=0, max_size=700))
        kind = draw(st.sampled_from(["piece", "piece", "random", "N", "empty", "long", "rep"]))
        if kind == "piece" and t:
            a = draw(st.integers(0, len(t) - 1))
            q = list(t[a : draw(st.integers(a, len(t)))])
            for _ in range(draw(st.integers(0, 6))):
                if q:
                    k = draw(st.integers(0, len(q) - 1))
                    if draw(st.booleans()):
                        q[k] = draw(st.sampled_from("ACGTN"))
                    else:
                        del q[k]
            q = "".join(q)
        elif kind == "N":
            q = "N" * draw(st.integers(1, 80))
        elif kind == "empty":
            q = ""
        elif kind == "long":
            q = t + draw(st.text(alphabet="ACGT", min_size=1, max_size=60))
        elif kind == "rep" and t:
            piece = t[: draw(st.integers(1, min(len(t), 120)))]
            q = piece * draw(st.integers(2, 4))
        else:
            q = draw(st.text(alphabet="ACGT", max_size=700))
        queries.append(q)
        targets.append(t)
    return queries, targets


@st.composite
def mm_scorings(draw):
    go = draw(st.integers(1, 12))
    ge = go if draw(st.booleans()) else draw(st.integers(0, go))
    return Scoring(draw(st.integers(1, 6)), draw(st.integers(-8, -1)), go, ge)


@SETTINGS
@given(data=long_pairs(), scoring=mm_scorings())
def test_segments_layout_equals_per_pair_and_parasail(data, scoring):
    check_segments(*data, scoring)


def test_segments_layout_on_long_pairs_and_the_cost_model_picks_it(monkeypatch):
    """16 pairs of 2-3 kb (segments across lane groups) and a 6 kb pair against 7 kb:
    equal to the wavefront and parasail; auto runs the segments layout for them."""
    rng = np.random.default_rng(11)
    queries, targets = [], []
    for _ in range(16):
        t = rng.integers(0, 4, int(rng.integers(2000, 3000))).astype(np.uint8)
        q = t[int(rng.integers(0, 300)) :].copy()
        q[rng.random(len(q)) < 0.05] = rng.integers(0, 5)
        queries.append(text(q))
        targets.append(text(t))
    t = rng.integers(0, 4, 7000).astype(np.uint8)
    queries.append(text(t[500:6500]))
    targets.append(text(t))
    calls = []
    for name in ("seg_driver", "seg_driver_serial"):
        real = getattr(swc, name)
        monkeypatch.setattr(swc, name, lambda *a, real=real: calls.append(1) or real(*a))
    check_segments(queries, targets, Scoring(2, -3, 5, 2))
    assert calls, "the segments layout was not used"
    calls.clear()
    # short pairs, traceback, other modes and general matrices keep the other layouts
    align_batch(queries[:4], targets[:4], Scoring(), "local", traceback=True, backend="cpu")
    align_batch(queries[:4], targets[:4], Scoring(), "semiglobal", backend="cpu")
    align_batch(["ACGT" * 20] * 4, ["ACGT" * 25] * 4, Scoring(), "local", backend="cpu")
    assert not calls


def test_segments_layout_refuses_what_it_cannot_do():
    q = SequenceBatch.from_sequences(["ACGT", "ACG"])
    t = SequenceBatch.from_sequences(["ACGT", "ACGA"])
    m = Scoring().substitution_matrix()
    for kw in ({"mode": "global"}, {"traceback": True}, {"band": 1}):
        with pytest.raises(ValueError, match="segments layout"):
            sw.align_pairs(q.codes, q.offsets, t.codes, t.offsets, m, 5, 2,
                           strategy="segments", **kw)  # fmt: skip
    m2 = m.copy()
    m2[0, 1] = m2[1, 0] = -1
    with pytest.raises(ValueError, match="segments layout"):
        sw.align_pairs(q.codes, q.offsets, t.codes, t.offsets, m2, 5, 2, strategy="segments")
