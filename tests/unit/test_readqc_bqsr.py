"""BQSR table, calibration metrics and streaming recalibration (biometal.readqc)."""

from __future__ import annotations

import gzip
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from biometal.errors import InputFormatError
from biometal.readqc.bqsr import N_CONTEXTS, Q_DIM, BqsrTable, dinucleotide
from biometal.readqc.covariates import CONTEXT, BaseFeatures, read_features
from biometal.readqc.metrics import (
    calibration_curve,
    expected_calibration_error,
    log_loss,
    true_q_error,
)
from biometal.readqc.recalibrate import ErrorPredictor, phred, recalibrate_fastq


def synthetic(n_reads: int, seed: int, length: int = 60):
    """Reads with 3 reported levels whose true error depends on cycle and context."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, (n_reads, length)).astype(np.uint8)
    quals = rng.choice(np.array([12, 23, 37], np.uint8), (n_reads, length))
    f = read_features(codes, quals, np.full(n_reads, length), mate=rng.integers(0, 2, n_reads))
    p = 10 ** (-f.quality.astype(float) / 10.0)
    p = p * (1 + 4 * f.cycle / (length - 1))  # rises along the read
    prev, cur = f.context[:, CONTEXT - 1], f.context[:, CONTEXT]
    p = np.where((prev == 2) & (cur == 1), 6 * p, p)  # GC after G
    p = np.minimum(p, 0.5)
    err = rng.random(p.size) < p
    return f, err, p


def test_counts_match_naive():
    f, err, _ = synthetic(300, 1, length=20)
    t = BqsrTable.fit(f, err)
    counts: dict = {}
    for i in range(len(f)):
        key = (int(f.quality[i]), int(f.mate[i]), int(f.cycle[i]), int(dinucleotide(f)[i]))
        n, k = counts.get(key, (0, 0))
        counts[key] = (n + 1, k + int(err[i]))
    nz = np.nonzero(t.bases)
    got = {
        tuple(int(x) for x in key): (int(t.bases[key]), int(t.errors[key]))
        for key in zip(*nz, strict=True)
    }
    assert got == counts
    assert t.bases.shape == (Q_DIM, 2, 20, N_CONTEXTS)


def test_dinucleotide_codes():
    f = read_features(np.array([[0, 1, 4, 3, 2]], np.uint8), np.zeros((1, 5), np.uint8), [5])
    assert dinucleotide(f).tolist() == [16, 1, 16, 16, 14]  # first base: no previous


def test_table_recovers_true_error_and_beats_reported():
    f, err, _ = synthetic(40_000, 2)
    t = BqsrTable.fit(f, err)
    ft, et, pt = synthetic(20_000, 3)
    p_hat = t.error_probability(ft)
    assert p_hat.dtype == np.float32 and np.all((p_hat > 0) & (p_hat < 1))
    q_true = -10 * np.log10(pt)
    mae = np.mean(np.abs(-10 * np.log10(p_hat) - q_true))
    assert mae < 1.0, mae
    reported = 10 ** (-ft.quality.astype(float) / 10.0)
    assert expected_calibration_error(p_hat, et) < 0.5 * expected_calibration_error(reported, et)
    assert log_loss(p_hat, et) < log_loss(reported, et)


def test_lookup_kernel_matches_naive():
    f, err, _ = synthetic(3_000, 7, length=30)
    t = BqsrTable.fit(f, err)
    joint = t.levels()["joint"]
    rng = np.random.default_rng(8)
    n = 5_000
    probe = BaseFeatures(
        rng.integers(0, 94, n).astype(np.uint8),  # above Q_DIM - 1 too
        rng.integers(-2, 45, n).astype(np.int16),  # beyond the trained 30 cycles too
        rng.integers(0, 2, n).astype(np.uint8),
        rng.integers(0, 5, (n, 2 * CONTEXT + 1)).astype(np.uint8),
        np.full(n, 45, np.int16),
    )
    got = t.error_probability(probe)
    for k in range(n):
        q = min(int(probe.quality[k]), Q_DIM - 1)
        c = int(probe.cycle[k])
        c = c if 0 <= c < t.n_cycles else t.n_cycles
        a, b = int(probe.context[k, CONTEXT - 1]), int(probe.context[k, CONTEXT])
        d = 16 if a == 4 or b == 4 else 4 * a + b
        assert got[k] == np.float32(joint[q, probe.mate[k], c, d]), k


def test_sparse_cells_fall_back_to_coarser_levels():
    f, err, _ = synthetic(5_000, 4)
    t = BqsrTable.fit(f, err, prior_errors=2.0)
    lv = t.levels()
    empty = t.bases == 0
    joint = lv["joint"][:, :, : t.n_cycles]
    assert np.allclose(joint[empty], lv["additive"][:, :, : t.n_cycles][empty])
    # a quality never seen: the reported error rate shifted by the global miscalibration
    assert t.bases[30].sum() == 0
    shift = np.log10(lv["quality"][30]) - np.log10(1e-3)
    assert abs(shift) < 1.0
    # beyond the trained cycles: no cycle delta, so joint(unseen) = Q x context estimate
    probe = BaseFeatures(
        np.array([23], np.uint8),
        np.array([500], np.int16),
        np.array([0], np.uint8),
        np.full((1, 2 * CONTEXT + 1), 0, np.uint8),
        np.array([501], np.int16),
    )
    assert np.isclose(t.error_probability(probe)[0], lv["context"][23, 0], rtol=1e-5)
    # a dense cell is close to its empirical rate
    k = np.unravel_index(np.argmax(t.bases), t.bases.shape)
    emp = t.errors[k] / t.bases[k]
    assert abs(lv["joint"][k] - emp) < 3 * np.sqrt(emp * (1 - emp) / t.bases[k]) + 1e-3


def test_save_load_round_trip_and_bad_files(tmp_path):
    f, err, _ = synthetic(2_000, 5)
    t = BqsrTable.fit(f, err, prior_errors=3.0)
    path = tmp_path / "t.tsv"
    t.save(path)
    u = BqsrTable.load(path)
    assert u.prior_errors == 3.0
    assert np.array_equal(t.error_probability(f), u.error_probability(f))
    lines = path.read_text().splitlines()
    bad = tmp_path / "bad.tsv"
    bad.write_text("\n".join([*lines[:5], "23\t0\t5\tXY\t10\t1\t20.0", *lines[5:]]) + "\n")
    with pytest.raises(InputFormatError, match=r"bad.tsv:6:"):
        BqsrTable.load(bad)
    bad.write_text("hello\n")
    with pytest.raises(InputFormatError, match=r"bad.tsv:1:"):
        BqsrTable.load(bad)
    with pytest.raises(InputFormatError, match="not found"):
        BqsrTable.load(tmp_path / "missing.tsv")


# ------------------------------------------------------------------ metrics


def test_metrics_against_naive_and_sklearn():
    from sklearn.metrics import log_loss as sk_log_loss

    rng = np.random.default_rng(6)
    p = 10 ** -rng.uniform(0.5, 3, 1_000_000)
    err = rng.random(p.size) < p
    assert np.isclose(log_loss(p, err), sk_log_loss(err, p, labels=[False, True]), rtol=1e-9)
    assert expected_calibration_error(p, err) < 1.0  # calibrated by construction
    assert 9 < expected_calibration_error(np.minimum(p * 10, 1), err) < 11  # 10x = 10 Q
    curve = calibration_curve(p, err)
    q = -10 * np.log10(p)
    for _, row in curve.iterrows():
        sel = (q >= row.q_lo) & (q < row.q_hi)
        assert row.bases == sel.sum() and row.errors == err[sel].sum()
        assert np.isclose(row.predicted_q, -10 * np.log10(p[sel].mean()))
        assert np.isclose(row.empirical_q, -10 * np.log10((err[sel].sum() + 0.5) / (sel.sum() + 1)))
    mae, r = true_q_error(p, p)
    assert mae == 0 and np.isclose(r, 1)
    with pytest.raises(ValueError):
        log_loss(p[:5], err[:4])


# ------------------------------------------------------------------ recalibrate_fastq


class HalfQuality:
    """A predictor that claims every base's error probability is that of Q // 2."""

    def error_probability(self, feats: BaseFeatures) -> np.ndarray:
        return (10 ** (-(feats.quality // 2).astype(float) / 10.0)).astype(np.float32)


def test_recalibrate_fastq(tmp_path):
    text = "@a x\nACGTN\n+\nIIII#\n@b\nGG\n+\n5?\n"
    src = tmp_path / "in.fq"
    src.write_text(text)
    out = tmp_path / "out.fq.gz"
    assert isinstance(HalfQuality(), ErrorPredictor)
    res = recalibrate_fastq(src, out, HalfQuality(), chunk_reads=1)
    assert res["reads"] == 2 and res["bases"] == 7
    got = gzip.decompress(out.read_bytes()).decode()
    q = lambda s: "".join(chr(33 + max(2, (ord(c) - 33) // 2)) for c in s)  # noqa: E731
    assert got == f"@a x\nACGTN\n+\n{q('IIII')}#\n@b\nGG\n+\n{q('5?')}\n"
    assert phred(np.array([1.0, 1e-3, 1e-9]), q_max=50).tolist() == [2, 30, 50]


def test_recalibrate_bad_input_leaves_no_output(tmp_path):
    src = tmp_path / "bad.fq"
    src.write_text("@a\nACGT\n+\nII\n")
    out = tmp_path / "out.fq"
    with pytest.raises(InputFormatError, match="bad.fq"):
        recalibrate_fastq(src, out, HalfQuality())
    assert not out.exists()


RSS_CHILD = textwrap.dedent(
    """
    import sys
    import numpy as np
    from biometal.readqc.bqsr import BqsrTable
    from biometal.readqc.covariates import read_features
    from biometal.readqc.recalibrate import recalibrate_fastq
    f = read_features(np.zeros((1, 4), np.uint8), np.full((1, 4), 30, np.uint8), [4])
    t = BqsrTable.fit(f, np.array([0, 1, 0, 0], bool))
    res = recalibrate_fastq(sys.argv[1], sys.argv[2], t, chunk_reads=20000)
    with open("/proc/self/status") as fh:
        peak = next(int(x.split()[1]) for x in fh if x.startswith("VmHWM:"))
    print(res["reads"], peak)
    """
)


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads VmHWM from /proc")
def test_recalibrate_peak_rss_flat(tmp_path):
    def write(path, n, seed):  # fixed-width records built as one array
        rng = np.random.default_rng(seed)
        rec = np.empty((n, 314), np.uint8)
        names = np.char.encode(np.char.add("@r", np.char.zfill(np.arange(n).astype(str), 7)))
        rec[:, :9] = np.frombuffer(b"".join(names), np.uint8).reshape(n, 9)
        rec[:, 9] = 10
        rec[:, 10:160] = np.frombuffer(b"ACGT", np.uint8)[rng.integers(0, 4, (n, 150))]
        rec[:, 160:163] = np.frombuffer(b"\n+\n", np.uint8)
        rec[:, 163:313] = rng.integers(2, 41, (n, 150)) + 33
        rec[:, 313] = 10
        with gzip.open(path, "wb", compresslevel=1) as fh:
            fh.write(rec.tobytes())

    peaks = []
    for n, seed in ((40_000, 1), (400_000, 2)):
        src = tmp_path / f"in{n}.fq.gz"
        write(src, n, seed)
        out = subprocess.run(
            [sys.executable, "-c", RSS_CHILD, str(src), str(tmp_path / f"out{n}.fq.gz")],
            capture_output=True,
            check=True,
            timeout=300,
        )
        reads, peak = map(int, out.stdout.split())
        assert reads == n
        peaks.append(peak)
    # the large input is ~120 MB of FASTQ text: holding it would far exceed 15%
    assert abs(peaks[1] - peaks[0]) < 0.15 * peaks[0], peaks


# ------------------------------------------------------------------ end to end (bench data)


@pytest.fixture(scope="module")
def bench_data(tmp_path_factory):
    pytest.importorskip("mappy", reason="the bench maps reads with mappy")
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from readqc_calibration import calibration_data

    return calibration_data(
        tmp_path_factory.mktemp("bench"), ref_length=120_000, train_coverage=8, test_coverage=3
    )


def test_bench_data_and_bqsr_beats_reported(bench_data):
    d = bench_data
    fte, ete, pte = d["test_features"], d["test_error"], d["test_p_true"]
    assert len(fte) == ete.size == pte.size and not np.any(fte.base == 4)
    assert set(np.unique(fte.quality).tolist()) <= {2, 12, 23, 37}  # binned as configured
    # the truth labels agree with the truth probabilities (rounded to integer Q)
    assert abs(ete.mean() / pte.mean() - 1) < 0.1
    # aligned mismatches at non-variant sites track the true error rate
    assert abs(d["train_error"].mean() / ete.mean() - 1) < 0.25
    t = BqsrTable.fit(d["train_features"], d["train_error"])
    p = t.error_probability(fte)
    reported = 10 ** (-fte.quality.astype(float) / 10)
    assert expected_calibration_error(p, ete) < 0.3 * expected_calibration_error(reported, ete)
    assert log_loss(p, ete) < log_loss(reported, ete)


def test_cli_recalibrate(bench_data, tmp_path, capsys):
    from biometal.cli import main

    w = bench_data["workdir"]
    fq, bam, ref, vcf = w / "test_R2.fq.gz", w / "train.bam", w / "ref.fa", w / "truth.vcf.gz"
    table, out1, out2 = tmp_path / "t.tsv", tmp_path / "a.fq.gz", tmp_path / "b.fq"
    args = ["recalibrate", str(fq), "--mate", "2", "-o"]
    fit = ["--bam", str(bam), "--reference", str(ref), "--known-sites", str(vcf)]
    assert main([*args, str(out1), *fit, "--save-table", str(table)]) == 0
    assert main([*args, str(out2), "--table", str(table)]) == 0
    assert gzip.decompress(out1.read_bytes()) == out2.read_bytes()
    lines_in = gzip.decompress(fq.read_bytes()).splitlines()
    lines_out = out2.read_bytes().splitlines()
    assert lines_in[0::4] == lines_out[0::4] and lines_in[1::4] == lines_out[1::4]
    assert lines_in[3::4] != lines_out[3::4]
    capsys.readouterr()
    for bad, msg in (
        ([*args, str(tmp_path / "c.fq"), "--table", str(table), *fit], "either a table"),
        ([*args, str(tmp_path / "c.fq"), "--table", str(tmp_path / "no.tsv")], "no.tsv"),
        ([*args, str(tmp_path / "c.fq"), "--bam", str(bam)], "--reference"),
    ):
        assert main(bad) == 1
        err = capsys.readouterr().err.strip()
        assert "\n" not in err and err.startswith("biometal recalibrate: error:") and msg in err
        assert not (tmp_path / "c.fq").exists()
