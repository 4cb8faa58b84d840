"""biometal.align: scores and end cells equal parasail's for every mode, CIGARs re-score to
the score, banded == a naive banded DP, results independent of the batch, the API."""

from __future__ import annotations

import numpy as np
import pytest
from align_reference import naive_align
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from biometal.align import (
    AlignError,
    Scoring,
    SequenceBatch,
    align_batch,
    cigar_spans,
    parse_cigar,
    score_cigar,
)
from biometal.io.encoding import encode

parasail = pytest.importorskip("parasail", reason="parasail not installed (pip install parasail)")

MODES = ("local", "global", "semiglobal", "extension")
PARASAIL = {"local": "sw", "global": "nw", "semiglobal": "sg_dx", "extension": "sg_de"}
SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def pmatrix(scoring: Scoring):
    """The parasail matrix for a Scoring (A C G T N), as parasail's non-striped functions
    (``parasail.sw``, ``nw``, ``sg_*``, ``*_scan_32``) read it: ``M[query base, target base]``
    like biometal. (Its striped 16-bit functions read an asymmetric matrix the other way
    round: ``test_parasail_striped_reads_an_asymmetric_matrix_transposed``.)
    """
    sm = scoring.substitution_matrix()
    m = parasail.matrix_create("ACGTN", 0, 0)
    for a in range(5):
        for b in range(5):
            m[a, b] = int(sm[a, b])
    return m


def test_parasail_striped_reads_an_asymmetric_matrix_transposed():
    m = np.full((5, 5), -3)
    np.fill_diagonal(m, 2)
    m[0, 1] = 5  # query A against target C
    s = Scoring(gap_open=5, gap_extend=1, matrix=m)
    assert align_batch(["A", "C"], ["C", "A"], scoring=s, mode="local").score.tolist() == [5, 0]
    assert [parasail.sw(q, t, 5, 1, pmatrix(s)).score for q, t in ("AC", "CA")] == [5, 0]
    assert [parasail.sw_striped_16(q, t, 5, 1, pmatrix(s)).score for q, t in ("AC", "CA")] == [0, 5]


def text(codes) -> str:
    return "".join("ACGTN"[int(c)] for c in codes)


def check_batch(queries, targets, scoring: Scoring, mode: str, strategies=("auto",)):
    """Align with and without traceback; compare with parasail (non-empty pairs), the naive
    DP (short pairs), re-score every CIGAR, check coordinates."""
    qb = SequenceBatch.from_sequences(queries)
    tb = SequenceBatch.from_sequences(targets)
    pm = pmatrix(scoring)
    fn = getattr(parasail, PARASAIL[mode])
    sm = scoring.substitution_matrix()
    for strategy in strategies:
        kw = {"backend": "cpu"}
        plain = align_batch(qb, tb, scoring, mode, **kw) if strategy == "auto" else None
        if plain is None:
            from biometal.kernels.smith_waterman import align_pairs

            r = align_pairs(
                qb.codes, qb.offsets, tb.codes, tb.offsets, sm, scoring.gap_open,
                scoring.gap_extend, mode, None, True, "cpu", strategy,
            )  # fmt: skip
            traced = r
            cigars = r.cigar_strings()
        else:
            traced = align_batch(qb, tb, scoring, mode, traceback=True, **kw)
            cigars = traced.cigars
            for f in ("score", "query_end", "target_end"):
                assert np.array_equal(getattr(plain, f), getattr(traced, f)), f
        for p in range(len(qb)):
            q, t = qb[p], tb[p]
            score = int(traced.score[p])
            qe, te = int(traced.query_end[p]), int(traced.target_end[p])
            if len(q) and len(t):
                pr = fn(text(q), text(t), scoring.gap_open, scoring.gap_extend, pm)
                assert score == pr.score, (mode, text(q), text(t))
                if not (mode == "local" and score == 0):
                    assert (qe, te) == (pr.end_query + 1, pr.end_ref + 1), (mode, text(q), text(t))
            if len(q) * len(t) <= 1600:
                assert (score, qe, te) == naive_align(
                    q, t, sm, scoring.gap_open, scoring.gap_extend, mode
                )
            qs, ts = int(traced.query_start[p]), int(traced.target_start[p])
            cig = cigars[p]
            assert score_cigar(cig, q, t, scoring, qs, ts) == score, (mode, cig)
            q_all, q_aln, t_aln = cigar_spans(cig)
            assert (qs + q_aln, ts + t_aln) == (qe, te)
            if mode == "local":
                assert q_all == len(q)
                if score == 0:
                    assert (qs, qe, ts, te) == (0, 0, 0, 0)
            else:
                assert q_all == q_aln == len(q) and qs == 0 and "S" not in cig
                if mode in ("global", "extension"):
                    assert ts == 0
                if mode == "global":
                    assert te == len(t)


# --------------------------------------------------------------------------------------
# conventions, checked against parasail


def test_gap_convention_is_parasails():
    # one 4-base deletion from the query: 24 matches, one gap of length 4
    q = "ACGTACGTACGTAAAACCCCGGGGTTTT"
    t = "ACGTACGTACGTAAAAGGGGTTTT"
    for go, ge in ((5, 2), (10, 1), (3, 3)):
        s = Scoring(match=2, mismatch=-3, gap_open=go, gap_extend=ge)
        r = align_batch([q], [t], s, "global", traceback=True, backend="cpu")
        assert r.score[0] == 24 * 2 - (go + 3 * ge) == s.gap_cost(4) * -1 + 48
        assert r.score[0] == parasail.nw(q, t, go, ge, pmatrix(s)).score
        assert r.cigars == ["16=4I8="]


def test_n_scores_like_parasail_acgtn_matrix():
    s = Scoring(match=2, mismatch=-3)
    pm = parasail.matrix_create("ACGTN", 2, -3)
    assert (s.substitution_matrix() == pm.matrix[:5, :5]).all()
    r = align_batch(["ANNA"], ["ANNA"], s, "global", backend="cpu")
    assert r.score[0] == 8  # N-N is a match
    r = align_batch(["AXA"], ["ANA"], s, "global", backend="cpu")  # X encodes to N
    assert r.score[0] == 6


def test_modes_map_to_parasail_functions():
    s = Scoring(match=2, mismatch=-3, gap_open=5, gap_extend=2)
    q, t = "ACGTGCA", "TTTTTACGTGCATTTTT"
    want = {m: getattr(parasail, PARASAIL[m])(q, t, 5, 2, pmatrix(s)).score for m in MODES}
    assert want["semiglobal"] == 14 and want["extension"] == 1 and want["local"] == 14
    for m in MODES:
        assert align_batch([q], [t], s, m, backend="cpu").score[0] == want[m], m
    r = align_batch([q], [t], s, "semiglobal", traceback=True, backend="cpu")
    assert (r.target_start[0], r.target_end[0], r.cigars[0]) == (5, 12, "7=")
    r = align_batch([q], [t], s, "extension", traceback=True, backend="cpu")
    assert r.cigars[0] == "5D7=" and r.target_start[0] == 0 and r.target_end[0] == 12


def test_semiglobal_ends_at_a_target_column_like_parasail():
    # j = 0 would score -5 (query all inserted); parasail requires j >= 1: -10
    s = Scoring(match=2, mismatch=-100, gap_open=5, gap_extend=2)
    for mode in ("extension", "semiglobal"):
        want = getattr(parasail, PARASAIL[mode])("A", "C", 5, 2, pmatrix(s)).score
        assert align_batch(["A"], ["C"], s, mode, backend="cpu").score[0] == want


def test_local_end_ties_are_parasails():
    s = Scoring(match=1, mismatch=-1, gap_open=2, gap_extend=1)
    rng = np.random.default_rng(1)
    qs = ["".join("AC"[x] for x in rng.integers(0, 2, rng.integers(1, 30))) for _ in range(200)]
    ts = ["".join("AC"[x] for x in rng.integers(0, 2, rng.integers(1, 30))) for _ in range(200)]
    r = align_batch(qs, ts, s, "local", backend="cpu")
    for p in range(200):
        pr = parasail.sw_striped_16(qs[p], ts[p], 2, 1, pmatrix(s))
        assert r.score[p] == pr.score
        if pr.score:
            assert (r.query_end[p], r.target_end[p]) == (pr.end_query + 1, pr.end_ref + 1)


# --------------------------------------------------------------------------------------
# property tests: random batches, every mode, affine / linear, matrix


@st.composite
def batches(draw, max_len=60):
    n = draw(st.integers(1, 12))
    alphabet = draw(st.sampled_from(["ACGT", "AC", "A", "ACGTN", "ACGTACGTN"]))
    seqs = st.text(alphabet=alphabet, min_size=0, max_size=max_len)
    qs = draw(st.lists(seqs, min_size=n, max_size=n))
    ts = []
    for q in qs:
        kind = draw(st.sampled_from(["random", "copy", "edit"]))
        if kind == "random":
            ts.append(draw(seqs))
        elif kind == "copy":
            ts.append(q)
        else:
            cut = draw(st.integers(0, len(q)))
            ts.append(q[:cut] + draw(st.text(alphabet="ACGT", max_size=4)) + q[cut + 1 :])
    return qs, ts


@st.composite
def scorings(draw):
    go = draw(st.integers(1, 12))
    linear = draw(st.booleans())
    ge = go if linear else draw(st.integers(0, go))
    if draw(st.booleans()):
        return Scoring(draw(st.integers(1, 6)), draw(st.integers(-8, -1)), go, ge)
    m = np.array(draw(st.lists(st.integers(-6, 6), min_size=25, max_size=25))).reshape(5, 5)
    np.fill_diagonal(m, draw(st.lists(st.integers(1, 8), min_size=5, max_size=5)))
    return Scoring(gap_open=go, gap_extend=ge, matrix=m)


@SETTINGS
@given(batch=batches(), scoring=scorings(), mode=st.sampled_from(MODES))
def test_random_batches_equal_parasail_and_naive(batch, scoring, mode):
    check_batch(*batch, scoring, mode)


@SETTINGS
@given(batch=batches(max_len=30), scoring=scorings(), mode=st.sampled_from(MODES))
def test_both_cpu_layouts_equal_parasail(batch, scoring, mode):
    check_batch(*batch, scoring, mode, strategies=("lanes", "antidiagonal"))


# --------------------------------------------------------------------------------------
# adversarial cases


ADVERSARIAL = [
    ("ACGTACGTAC", "ACGTACGTAC"),  # identical
    ("AAAAAAAA", "CCCCCCCCCC"),  # no similarity
    ("", "ACGT"),
    ("ACGT", ""),
    ("", ""),
    ("A", "A"),
    ("A", "C"),
    ("A", "AAAAAAAAAA"),
    ("G", "AAAAAAAAAAGAAAAAAAAA"),
    ("A" * 300, "A" * 280),  # long homopolymers
    ("A" * 120 + "C" * 120, "C" * 100 + "A" * 130),
    ("ACACACACACACACACAC", "CACACACACACACA"),
    ("N" * 20, "NNNNNACGTNNNNN"),
]


@pytest.mark.parametrize("mode", MODES)
def test_adversarial_pairs(mode):
    qs = [a for a, _ in ADVERSARIAL]
    ts = [b for _, b in ADVERSARIAL]
    for scoring in (Scoring(), Scoring(1, -1, 1, 1), Scoring(5, -4, 10, 1)):
        check_batch(qs, ts, scoring, mode, strategies=("auto", "lanes", "antidiagonal"))


def test_empty_and_length_one_conventions():
    s = Scoring(2, -3, 5, 2)
    r = align_batch(["", "ACG", "", "A"], ["ACG", "", "", "A"], s, "global", traceback=True,
                    backend="cpu")  # fmt: skip
    assert r.score.tolist() == [-9, -9, 0, 2]
    assert r.cigars == ["3D", "3I", "", "1="]
    r = align_batch(["", "ACG"], ["ACG", ""], s, "local", traceback=True, backend="cpu")
    assert r.score.tolist() == [0, 0] and r.cigars == ["", "3S"]
    for mode in ("semiglobal", "extension"):
        r = align_batch(["", "ACG"], ["ACG", ""], s, mode, traceback=True, backend="cpu")
        assert r.score.tolist() == [0, -9] and r.cigars == ["", "3I"]
        assert r.target_start.tolist() == [0, 0] and r.target_end.tolist() == [0, 0]


def test_identical_and_unrelated_long():
    rng = np.random.default_rng(5)
    q = "".join("ACGT"[x] for x in rng.integers(0, 4, 2000))
    s = Scoring()
    r = align_batch([q, "A" * 500], [q, "C" * 500], s, "local", traceback=True, backend="cpu")
    assert r.score.tolist() == [4000, 0]
    assert r.cigars == ["2000=", "500S"]


@pytest.mark.parametrize("mode", MODES)
def test_long_pairs_5000_equal_parasail(mode):
    """Lengths up to 5000 in one batch with short ones (global 5000 needs 32-bit DP)."""
    rng = np.random.default_rng(11)
    q1 = rng.integers(0, 4, 5000)
    t1 = q1.copy()
    mut = rng.random(5000) < 0.3
    t1[mut] = rng.integers(0, 4, mut.sum())
    t1 = np.concatenate([t1[:2000], t1[2150:], rng.integers(0, 4, 40)])
    q2 = rng.integers(0, 4, 1200)
    queries = [text(q1), text(q2), "ACGT", text(q1[:3000])]
    targets = [text(t1), text(q2[::-1]), "AGT", text(t1)]
    s = Scoring(2, -3, 5, 2)
    fn = getattr(parasail, PARASAIL[mode] + "_scan_32")
    r = align_batch(queries, targets, s, mode, traceback=True, backend="cpu")
    for p in range(len(queries)):
        pr = fn(queries[p], targets[p], 5, 2, pmatrix(s))
        assert r.score[p] == pr.score
        assert (r.query_end[p], r.target_end[p]) == (pr.end_query + 1, pr.end_ref + 1)
        q, t = encode(queries[p]), encode(targets[p])
        assert score_cigar(r.cigars[p], q, t, s, r.query_start[p], r.target_start[p]) == pr.score


def test_large_scores_switch_to_32_bit():
    s = Scoring(match=1000, mismatch=-1000, gap_open=1000, gap_extend=100)
    rng = np.random.default_rng(2)
    q = "".join("ACGT"[x] for x in rng.integers(0, 4, 300))
    t = q[:100] + "ACGTT" + q[100:250]
    for mode in MODES:
        for strategy in ("lanes", "antidiagonal"):
            check_batch([q] * 3, [t, q, t[::-1]], s, mode, strategies=(strategy,))


# --------------------------------------------------------------------------------------
# banded


@SETTINGS
@given(
    batch=batches(max_len=40),
    scoring=scorings(),
    mode=st.sampled_from(MODES),
    band=st.integers(0, 12),
)
def test_banded_equals_naive_banded(batch, scoring, mode, band):
    qs, ts = batch
    sm = scoring.substitution_matrix()
    r = align_batch(qs, ts, scoring, mode, band=band, traceback=True, backend="cpu")
    plain = align_batch(qs, ts, scoring, mode, band=band, backend="cpu")
    assert np.array_equal(plain.score, r.score)
    for p, (q, t) in enumerate(zip(qs, ts, strict=True)):
        qc, tc = encode(q), encode(t)
        want = naive_align(qc, tc, sm, scoring.gap_open, scoring.gap_extend, mode, band)
        assert (r.score[p], r.query_end[p], r.target_end[p]) == want
        assert (
            score_cigar(r.cigars[p], qc, tc, scoring, r.query_start[p], r.target_start[p])
            == (r.score[p])
        )


def test_wide_band_equals_unbanded():
    rng = np.random.default_rng(3)
    qs = ["".join("ACGT"[x] for x in rng.integers(0, 4, rng.integers(0, 200))) for _ in range(40)]
    ts = [q[5:] + "ACGT" if len(q) > 10 else q for q in qs]
    s = Scoring()
    for mode in MODES:
        a = align_batch(qs, ts, s, mode, traceback=True, backend="cpu")
        b = align_batch(qs, ts, s, mode, band=200, traceback=True, backend="cpu")
        assert np.array_equal(a.score, b.score) and a.cigars == b.cigars


def test_narrow_band_can_only_lower_the_score():
    rng = np.random.default_rng(4)
    q = "".join("ACGT"[x] for x in rng.integers(0, 4, 300))
    # a 30-base deletion, equal lengths again at the end: the shifted diagonal lies outside
    # a band of 10 (not widened: |lq - lt| = 0)
    t = q[:100] + q[130:] + "".join("ACGT"[x] for x in rng.integers(0, 4, 30))
    s = Scoring()
    full = align_batch([q], [t], s, "global", backend="cpu").score[0]
    narrow = align_batch([q], [t], s, "global", band=10, backend="cpu").score[0]
    wide = align_batch([q], [t], s, "global", band=40, backend="cpu").score[0]
    assert narrow < full == wide


# --------------------------------------------------------------------------------------
# batch composition


def test_results_do_not_depend_on_batch_composition_or_order():
    rng = np.random.default_rng(9)
    lens = np.concatenate([rng.integers(0, 40, 100), rng.integers(200, 700, 30), [0, 1, 1, 900]])
    rng.shuffle(lens)
    qs, ts = [], []
    for n in lens:
        q = rng.integers(0, 5, n)
        t = q.copy()
        t[rng.random(n) < 0.2] = 1
        qs.append(text(q))
        ts.append(text(t[: max(0, n - 3)]) + "ACG")
    s = Scoring()
    for mode in MODES:
        full = align_batch(qs, ts, s, mode, traceback=True, backend="cpu")
        perm = rng.permutation(len(qs))
        shuf = align_batch([qs[i] for i in perm], [ts[i] for i in perm], s, mode,
                           traceback=True, backend="cpu")  # fmt: skip
        inv = np.argsort(perm)
        for f in ("score", "query_start", "query_end", "target_start", "target_end"):
            assert np.array_equal(getattr(full, f), getattr(shuf, f)[inv]), (mode, f)
        assert full.cigars == [shuf.cigars[i] for i in inv]
        for p in rng.choice(len(qs), 6, replace=False):
            one = align_batch([qs[p]], [ts[p]], s, mode, traceback=True, backend="cpu")
            assert one.score[0] == full.score[p] and one.cigars[0] == full.cigars[p]


# --------------------------------------------------------------------------------------
# API and CIGAR utilities


def test_inputs_str_bytes_codes_batch_and_readchunk():
    from biometal.io import ReadChunk

    s = Scoring()
    a = align_batch(["ACGT", "acgN"], [b"ACGA", b"CGTT"], s, backend="cpu")
    codes = [encode("ACGT"), encode("ACGN")]
    b = align_batch(codes, [encode("ACGA"), encode("CGTT")], s, backend="cpu")
    qb = SequenceBatch.from_sequences(["ACGT", "ACGN"])
    chunk = ReadChunk(qb.codes, np.zeros_like(qb.codes), qb.offsets)
    c = align_batch(chunk, ["ACGA", "CGTT"], s, backend="cpu")
    assert a.score.tolist() == b.score.tolist() == c.score.tolist() == [6, 4]


def test_score_only_starts_are_unknown_where_the_mode_does_not_fix_them():
    s = Scoring()
    for mode, (qs, ts) in {"local": (-1, -1), "semiglobal": (0, -1), "global": (0, 0),
                           "extension": (0, 0)}.items():  # fmt: skip
        r = align_batch(["ACGTACGT"], ["TTACGTACGTTT"], s, mode, backend="cpu")
        assert (r.query_start[0], r.target_start[0]) == (qs, ts), mode
        assert r.cigars is None
    rec = align_batch(["ACGT"], ["ACGT"], s, traceback=True, backend="cpu").to_records()
    assert rec == [{"score": 8, "query_start": 0, "query_end": 4, "target_start": 0,
                    "target_end": 4, "cigar": "4="}]  # fmt: skip


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"mode": "fitting"}, "unknown alignment mode 'fitting'"),
        ({"band": -1}, "band must be >= 0"),
        ({"band": 2.5}, "band must be an integer"),
        ({"scoring": "blosum"}, "scoring must be a biometal.align.Scoring"),
    ],
)
def test_bad_arguments_are_one_line_errors(kwargs, match):
    with pytest.raises(AlignError, match=match):
        align_batch(["ACGT"], ["ACGT"], **kwargs)


def test_bad_inputs():
    with pytest.raises(AlignError, match="3 queries but 2 targets"):
        align_batch(["A", "C", "G"], ["A", "C"])
    # one target is broadcast to every query (not an error)
    assert align_batch(["A", "C"], ["A"]).score.tolist() == [2, 0]
    with pytest.raises(AlignError, match="not a single sequence"):
        align_batch("ACGT", ["ACGT"])
    with pytest.raises(AlignError, match="codes 0..4"):
        align_batch([np.array([0, 7])], ["A"])
    with pytest.raises(AlignError, match="sequence 1: expected str"):
        align_batch(["A", 3], ["A", "C"])
    with pytest.raises(AlignError, match="gap_extend must be in 0..gap_open"):
        Scoring(gap_open=2, gap_extend=3)
    with pytest.raises(AlignError, match="gap_open must be in 1..16384"):
        Scoring(gap_open=0, gap_extend=0)
    with pytest.raises(AlignError, match="5x5"):
        Scoring(matrix=np.zeros((3, 3), int))


def test_scoring_matrices():
    assert Scoring(3, -2).substitution_matrix()[4, 4] == 3
    m4 = np.array([[5, -4, -4, -4], [-4, 5, -4, -4], [-4, -4, 5, -4], [-4, -4, -4, 5]])
    s = Scoring(matrix=m4, gap_open=6, gap_extend=1)
    sm = s.substitution_matrix()
    assert sm.shape == (5, 5) and (sm[:4, :4] == m4).all() and (sm[4] == -4).all()
    assert s.gap_cost(0) == 0 and s.gap_cost(1) == 6 and s.gap_cost(4) == 9


def test_cigar_utilities():
    assert parse_cigar("3S5=1X2I4D") == [(3, "S"), (5, "="), (1, "X"), (2, "I"), (4, "D")]
    assert cigar_spans("3S5=1X2I4D1S") == (12, 8, 10)
    s = Scoring(2, -3, 5, 2)
    q, t = encode("AACGTTT"), encode("ACGAAT")
    # A A C G T T T vs A - C G A A T: 1= 1I 2= 2X 1=  ->  2*4 - 3*2 - 5 = -3
    assert score_cigar("1=1I2=2X1=", q, t, s) == -3
    # adjacent runs of one op are one gap
    assert score_cigar("1=1I1I", encode("ACG"), encode("A"), s) == 2 - s.gap_cost(2)
    with pytest.raises(AlignError, match="does not fit the residues"):
        score_cigar("3=", encode("ACG"), encode("ACC"), s)
    with pytest.raises(AlignError, match="runs past the end"):
        score_cigar("4=", encode("ACG"), encode("ACG"), s)
    with pytest.raises(AlignError, match="not a CIGAR"):
        parse_cigar("3M")
