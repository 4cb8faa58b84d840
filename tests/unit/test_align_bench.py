"""biometal.align.bench: the simulated pairs and the headline measurement (tiny sizes)."""

from __future__ import annotations

import numpy as np
import pytest

from biometal.align import Scoring, align_batch
from biometal.align.bench import _format_headline, headline, main, simulate_pairs


def test_simulated_pairs_are_deterministic_and_near_the_identity():
    a = simulate_pairs(200, 300, 0.9, seed=5)
    b = simulate_pairs(200, 300, 0.9, seed=5)
    assert a.query_str == b.query_str and a.target_str == b.target_str
    assert np.array_equal(a.targets.codes, b.targets.codes)
    assert (a.queries.lengths == 300).all()
    assert abs(a.targets.lengths.mean() - 300) < 5  # insertions and deletions balance
    assert a.cells == int((a.queries.lengths * a.targets.lengths).sum())
    # the strings are the codes
    assert a.query_str[3] == "".join("ACGT"[c] for c in a.queries[3])
    # about 90% of the query aligns identically: global alignment's '=' count
    r = align_batch(a.head(50).queries, a.head(50).targets, Scoring(), "global", traceback=True)
    eq = sum(int(n) for c in r.cigars for n, op in _runs(c) if op == "=")
    assert 0.87 < eq / (50 * 300) < 0.93
    assert simulate_pairs(3, 50, 1.0, 1).query_str == simulate_pairs(3, 50, 1.0, 1).target_str


def _runs(cigar):
    import re

    return re.findall(r"(\d+)([=XIDS])", cigar)


def test_headline_tiny():
    pytest.importorskip("parasail", reason="parasail not installed")
    df = headline(n=40, lengths=(30, 80), repeats=2, seed=1)
    assert set(df.length) == {30, 80}
    assert (df[df.kind == "biometal"].score_mismatches == 0).all()
    peers = df[df.kind == "peer"]
    assert (peers.x_peer_median == 1.0).all()
    assert {"gcups_median", "x_peer_min", "x_peer_max", "cohens_d_time"} <= set(df.columns)
    text = _format_headline(df)
    assert "parasail-sw_striped_16:score" in text and "biometal-cpu-1t:trace" in text


def test_command_line_needs_headline(capsys):
    assert main([]) == 2
    assert "--headline" in capsys.readouterr().out
