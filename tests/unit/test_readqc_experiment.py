"""biometal.readqc.experiment: masking and trimming scores on hand-made cases, the held-out
tables on a small simulation (a copy of the reads scores exactly as the reads), the
recalibrate-and-map path, the bench wrapper and the workflow plan's copies of its names."""

from __future__ import annotations

import gzip
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pysam
import pytest

from biometal.errors import BiometalError
from biometal.readqc import experiment as ex
from biometal.workflow import readqc as wf

REPO = Path(__file__).resolve().parents[2]


def test_masking_removes_the_likeliest_errors_at_equal_bases() -> None:
    p = {"good": np.array([0.9, 0.1, 0.5, 0.2]), "bad": np.array([0.1, 0.9, 0.2, 0.5])}
    error = np.array([True, False, True, False])
    t = ex.masking_table(p, error, [0.5, 0.75]).set_index(["method", "keep_fraction"])
    assert t.loc[("good", 0.5), "errors_removed_share"] == 1.0
    assert t.loc[("bad", 0.5), "errors_removed_share"] == 0.0
    assert t.loc[("good", 0.75), "bases_masked"] == t.loc[("bad", 0.75), "bases_masked"] == 1
    assert t.loc[("good", 0.75), "errors_removed"] == 1


def test_masking_ties_are_broken_at_random() -> None:
    rng = np.random.default_rng(1)
    error = rng.random(100_000) < 0.1
    t = ex.masking_table({"flat": np.full(error.size, 0.05)}, error, [0.5])
    # no information: half the bases masked remove about half the errors
    assert t.errors_removed_share.iloc[0] == pytest.approx(0.5, abs=0.02)


def test_trim_accuracy_counts() -> None:
    truth = np.array([150, 100, 150, 20])  # pairs: (150, 150), (100, 20)
    pred = np.array([150, 98, -1, 20])
    acc = ex.trim_accuracy(truth, pred, n_pairs=2)
    assert acc["reads"] == 4 and acc["dropped"] == 1
    assert acc["read_err_pct"] == 50.0 and acc["over_pct"] == 25.0 and acc["under_pct"] == 0
    assert acc["pair_err_pct"] == 100.0


def test_workflow_plan_names_match_the_library() -> None:
    from biometal.readqc.adapters import TRUSEQ_R1, TRUSEQ_R2

    assert wf.SIM_FILES == ex.SIM_FILES
    assert wf.TRUSEQ == (TRUSEQ_R1, TRUSEQ_R2)


def test_bench_wrapper_exposes_the_library_functions() -> None:
    sys.path.insert(0, str(REPO / "bench"))
    try:
        import readqc_calibration as bench
    finally:
        sys.path.remove(str(REPO / "bench"))
    assert bench.calibration_data is ex.calibration_data and bench.score is ex.score
    assert bench.REALISTIC is ex.REALISTIC and callable(bench.variant_effect)


@pytest.fixture(scope="module")
def sim(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("readqc_sim")
    return ex.simulate_readqc(
        d, seed=5, ref_length=20_000, train_coverage=4, test_coverage=2, n_contigs=1
    )


def test_heldout_tables_of_a_copy_equal_the_reported_scores(sim, tmp_path) -> None:
    fq = [sim["test_R1.fq.gz"], sim["test_R2.fq.gz"]]
    truth = [sim["test_R1.errors.tsv.gz"], sim["test_R2.errors.tsv.gz"]]
    feats, err, p_true, keep = ex.heldout_arrays(fq, truth)
    with gzip.open(fq[0], "rt") as fh:
        n_reads = sum(1 for _ in fh) // 4
    assert keep.size == 2 * n_reads * ex.READ_LENGTH and len(feats) == err.size == keep.sum()
    assert 0.005 < err.mean() < 0.06 and np.all((p_true > 0) & (p_true < 1))
    tables = ex.calibration_tables(fq, truth, {"copy": fq}, keep_fractions=[0.9])
    s = tables["summary"].set_index("method")
    cols = ["ece_q", "log_loss", "mae_true_q", "pearson_r_true_q"]
    assert list(s.index) == ["reported", "copy", "true_p"]
    assert s.loc["reported", cols].tolist() == s.loc["copy", cols].tolist()
    assert s.loc["reported", "ece_q"] > s.loc["true_p", "ece_q"]
    cyc = tables["by_cycle"]
    assert cyc.bases.sum() == err.size and cyc.errors.sum() == err.sum()
    assert (cyc.reported_q == cyc.copy_q).all()
    m = tables["masking"]
    assert m.groupby("keep_fraction").errors_removed.nunique().eq(1).all()
    outs = {name: tmp_path / f"{name}.tsv" for name in tables}
    ex.write_tables(tables, outs)
    assert pd.read_csv(outs["by_context"], sep="\t").bases.sum() == err.size


def test_a_copy_with_other_reads_is_refused(sim) -> None:
    fq = [sim["test_R1.fq.gz"], sim["test_R2.fq.gz"]]
    truth = [sim["test_R1.errors.tsv.gz"], sim["test_R2.errors.tsv.gz"]]
    with pytest.raises(BiometalError, match="bases, the held-out reads have"):
        ex.calibration_tables(fq, truth, {"other": [sim["train_R1.fq.gz"], fq[1]]})


@pytest.mark.skipif(not shutil.which("samtools"), reason="map_reads sorts with samtools")
def test_bqsr_recalibrate_and_map_keeps_alignments(sim, tmp_path) -> None:
    from biometal.variants.mapping import map_reads

    ref = sim["ref.fa"]
    fq = [sim["train_R1.fq.gz"], sim["train_R2.fq.gz"]]
    bam = tmp_path / "train.bam"
    map_reads(ref, fq[0], fq[1], bam, sample="train", threads=1)
    out = tmp_path / "recal.bam"
    ex.recalibrate_and_map(
        "bqsr", ref, fq, out, sample="train", bam=bam, known_sites=sim["truth.vcf.gz"], threads=1
    )
    with pysam.AlignmentFile(bam) as a, pysam.AlignmentFile(out) as b:
        ra, rb = list(a), list(b)
    assert len(ra) == len(rb)
    assert [(r.reference_start, r.cigarstring) for r in ra] == [
        (r.reference_start, r.cigarstring) for r in rb
    ]
    qa = {q for r in ra for q in r.query_qualities or []}
    qb = {q for r in rb for q in r.query_qualities or []}
    assert qa <= {2, 12, 23, 37} and len(qb) > len(qa)  # binned in, recalibrated out
    table = ex.variant_effect(ref, sim["truth.vcf.gz"], {"reported": bam, "copy": bam})
    a, b = (table[table.qualities == q].drop(columns="qualities") for q in ("reported", "copy"))
    assert a.reset_index(drop=True).equals(b.reset_index(drop=True))
    with pytest.raises(BiometalError, match="needs a model file"):
        ex.recalibrate_and_map("neural", ref, fq, tmp_path / "n.bam", sample="x")


def test_readqc_plan_and_the_variants_switch() -> None:
    from biometal.config import load_config, validate_config
    from biometal.workflow import plan_workflow

    cfg = load_config(REPO / "config" / "config.yaml")
    plan = plan_workflow(cfg, which=lambda tool: None)
    assert plan.readqc.trim_tools == ["biometal"]
    assert sum("'cutadapt'" in n or "'fastp'" in n for n in plan.notes) == 2
    assert set(plan.readqc.outputs) <= set(plan.all)
    assert plan.variants.bam("sim") == "results/align/sim.bam"
    assert plan_workflow(cfg, conda=True).readqc.trim_tools == ["biometal", "cutadapt", "fastp"]
    cfg["variants"]["recalibrate"] = "bqsr"
    plan = plan_workflow(validate_config(cfg), conda=True)
    assert plan.variants.bam("sim") == "results/align/recalibrated/sim.bam"
    wc = type("W", (), {"sample": "sim"})()
    inputs = plan.variants.recal_inputs(wc)
    assert inputs["bam"] == "results/align/sim.bam" and inputs["known_sites"] == plan.sim.vcf
    cfg["variants"]["recalibrate"] = "neural"
    inputs = plan_workflow(validate_config(cfg), conda=True).variants.recal_inputs(wc)
    assert inputs["model"] == wf.NEURAL_MODEL and "bam" not in inputs


def test_recalibrating_a_bam_sample_is_one_line(tmp_path) -> None:
    from biometal.config import load_config
    from biometal.errors import ConfigError
    from biometal.workflow import plan_workflow

    (tmp_path / "ref.fa").write_text(">c\nACGT\n")
    (tmp_path / "s.bam").write_bytes(b"")
    (tmp_path / "sheet.tsv").write_text("sample\tbam\nmine\ts.bam\n")
    cfg = load_config(REPO / "config" / "config.yaml")
    cfg["variants"].update(
        reference=str(tmp_path / "ref.fa"), samples=str(tmp_path / "sheet.tsv"), recalibrate="bqsr"
    )
    with pytest.raises(ConfigError, match="sample 'mine' is a BAM"):
        plan_workflow(cfg, conda=True)
