"""read_qc end to end with the real snakemake: the tables and figures of the tiny run, and the
variants.recalibrate switch's DAG."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from .conftest import TINY, snakemake
from .test_workflow import _jobs

RQ = Path("results/readqc")
PEERS = [p for p in ("cutadapt", "fastp") if shutil.which(p)]


def _tsv(root: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(root / RQ / name, sep="\t")


def _fastq_reads(path: Path) -> int:
    with gzip.open(path, "rt") as fh:
        return sum(1 for _ in fh) // 4


@pytest.mark.slow
def test_calibration_tables(tiny_run: Path) -> None:
    cal = _tsv(tiny_run, "calibration.tsv").set_index("method")
    assert list(cal.index) == ["reported", "bqsr", "neural", "true_p"]
    assert list(cal.columns) == [
        "bases",
        "errors",
        "ece_q",
        "log_loss",
        "mae_true_q",
        "pearson_r_true_q",
    ]
    assert cal["bases"].nunique() == 1 and cal["errors"].nunique() == 1
    # 2x of a 50 kb reference in 150 bp reads, with 1-4% of the bases wrong
    assert 80_000 < cal.loc["reported", "bases"] < 120_000
    assert 0.01 < cal.loc["reported", "errors"] / cal.loc["reported", "bases"] < 0.04
    assert (cal["log_loss"].between(0, 0.5)).all() and (cal["ece_q"] >= 0).all()
    # the realistic errors make the reported qualities over-confident; BQSR fixes most of it
    assert cal.loc["reported", "ece_q"] > 2.0
    assert cal.loc["bqsr", "ece_q"] < cal.loc["reported", "ece_q"] / 2
    assert cal.loc["bqsr", "log_loss"] < cal.loc["reported", "log_loss"]
    assert cal.loc["true_p", "mae_true_q"] == 0 and cal.loc["true_p", "pearson_r_true_q"] == 1
    # the recalibrated FASTQ hold the held-out reads, all of them
    n = _fastq_reads(tiny_run / RQ / "data/test_R1.fq.gz")
    for method in ("bqsr", "neural"):
        for mate in (1, 2):
            assert _fastq_reads(tiny_run / RQ / f"recalibrated/{method}_R{mate}.fq.gz") == n


@pytest.mark.slow
def test_curves_cycle_context_and_masking(tiny_run: Path) -> None:
    curves = _tsv(tiny_run, "calibration_curves.tsv")
    assert set(curves.method) == {"reported", "bqsr", "neural"}
    assert curves.groupby("method").bases.sum().nunique() == 1
    # binned qualities: the reported Q takes 4 values at most
    assert (curves.method == "reported").sum() <= 4
    cyc = _tsv(tiny_run, "error_by_cycle.tsv")
    assert list(cyc.columns[:5]) == ["mate", "cycle", "bases", "errors", "empirical_q"]
    assert sorted(cyc.mate.unique()) == [1, 2] and cyc.cycle.max() == 149
    ctx = _tsv(tiny_run, "error_by_context.tsv")
    assert {"before", "reported_q", "bqsr_q", "neural_q", "true_p_q"} <= set(ctx.columns)
    assert ctx.bases.sum() == cyc.bases.sum()
    # the simulated GGC effect: bases after GGC are far worse than reported
    ggc = ctx.set_index("before").loc["GGC"]
    assert ggc.empirical_q < ggc.reported_q - 5
    mask = _tsv(tiny_run, "masking.tsv")
    assert sorted(mask.keep_fraction.unique()) == [0.9, 0.98]
    assert mask.groupby("keep_fraction").bases_masked.nunique().eq(1).all()
    assert mask.errors_removed_share.between(0, 1).all()
    for _, sub in mask.groupby("method"):
        assert sub.sort_values("keep_fraction").errors_removed.is_monotonic_decreasing


@pytest.mark.slow
def test_variants_and_trimming(tiny_run: Path) -> None:
    var = _tsv(tiny_run, "variants.tsv")
    assert list(var.qualities.unique()) == ["reported", "bqsr", "neural"]
    assert set(var.type) == {"SNP", "INDEL"}
    assert var.f1.between(0, 1).all()
    # same reads and truth: every call set sees the same number of true variants
    assert (var.tp + var.fn).groupby(var.type).nunique().eq(1).all()
    trim = _tsv(tiny_run, "trimming.tsv")
    assert list(trim.tool) == ["biometal", *PEERS]
    assert (trim.reads == 4000).all() and (trim.dropped == 0).all()
    assert trim.adapter_reads.nunique() == 1 and trim.adapter_reads.iloc[0] > 0
    assert trim.set_index("tool").loc["biometal", "read_err_pct"] < 2.0
    for fig in ("calibration", "masking", "trimming", "variants"):
        png = tiny_run / f"results/figures/readqc_{fig}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("method", "rule"), [("bqsr", "readqc_variants_recalibrate"), ("neural", "readqc_neural")]
)
def test_variants_recalibrate_switch(tmp_path: Path, method: str, rule: str) -> None:
    extra = tmp_path / "recal.yaml"
    extra.write_text(yaml.safe_dump({"variants": {"recalibrate": method}}))
    proc = snakemake(tmp_path, "-n", "case_study_variants", configfiles=(TINY, extra))
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = _jobs(proc.stdout)
    assert jobs.get(rule) == 1 and jobs.get("readqc_variants_recalibrate") == 1
    assert "results/align/recalibrated/sim.bam" in proc.stdout
    proc = snakemake(tmp_path, "-n", "case_study_variants")
    assert "readqc_variants_recalibrate" not in _jobs(proc.stdout)
