"""case_study_regions end to end with the real snakemake (the shared tiny run): interval
benchmark rows, loader throughput and memory, the learned filter's table, scores, exported
models and figures; and the plan without a truth VCF (no filter)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

RG = Path("results/regions")


def _tsv(root: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(root / RG / name, sep="\t")


@pytest.mark.slow
def test_intervals_and_loader_tables(tiny_run: Path) -> None:
    runs = _tsv(tiny_run, "intervals.tsv")
    assert list(runs.columns) == ["n", "op", "tool", "repeat", "cpu_s"]
    # tiny.yaml: 2,000 x 2,000 intervals, intersect and merge, one repeat
    assert set(runs["n"]) == {2000} and set(runs["op"]) == {"intersect", "merge"}
    assert {"biometal", "biometal_io"} <= set(runs["tool"])
    assert (runs["cpu_s"] >= 0).all()
    load = _tsv(tiny_run, "loader.tsv")
    speed = load[load["kind"] == "throughput"]
    assert set(speed["loader"]) == {"biometal", "pysam+cyvcf2+pyfaidx"}
    # both loaders produced the same number of windows and bytes (the same arrays)
    assert speed["regions"].nunique() == 1 and speed["bytes"].nunique() == 1
    assert int(speed["regions"].iloc[0]) == 10
    assert (speed["cpu_s"] > 0).all() and (speed["mb_per_s"] > 0).all()
    assert not (load["kind"] == "memory").any()  # tiny.yaml: memory_counts []


@pytest.mark.slow
def test_varfilter_table_scores_and_export(tiny_run: Path) -> None:
    table = _tsv(tiny_run, "varfilter.tsv")
    # tiny.yaml: 4x reads, fractions 1 and 0.5
    assert list(dict.fromkeys(table["depth"])) == ["4x", "2x"]
    assert set(table["method"]) == {"caller", "candidates", "qual_tuned", "learned"}
    assert set(table["stratum"]) == {"all", "SNP", "INDEL", "repeat", "low_af", "near_indel"}
    for _, r in table.iterrows():
        assert r["TP"] + r["FN"] == r["truth"]
    scores = _tsv(tiny_run, "varfilter_scores.tsv")
    held = scores[scores["heldout"]]
    assert set(held["chrom"]) == {"chr2"}  # the last quarter of 2 contigs: the second
    assert held["p_real"].between(0, 1).all()
    for depth, g in held.groupby("depth"):
        t = table[(table["depth"] == depth) & (table["stratum"] == "all")].set_index("method")
        assert t.loc["candidates", "TP"] == g["label"].sum()
        assert t.loc["candidates", "FP"] == (~g["label"]).sum()
        keep = g["p_real"] >= 0.5
        assert t.loc["learned", "TP"] == (keep & g["label"]).sum()
        assert t.loc["learned", "FP"] == (keep & ~g["label"]).sum()
        # every filter keeps a subset of the candidates
        assert (t.loc[["qual_tuned", "learned"], "TP"] <= t.loc["candidates", "TP"]).all()
    report = json.loads((tiny_run / RG / "varfilter/export.json").read_text())
    assert max(report["onnx"]["max_abs_diff_vs_torch"].values()) <= 1e-5
    assert (tiny_run / RG / "varfilter/varfilter.onnx").stat().st_size > 1000
    for fig in ("intervals", "loader", "varfilter"):
        png = tiny_run / f"results/figures/regions_{fig}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plan_without_truth_has_no_filter() -> None:
    from biometal.workflow.data import SimData
    from biometal.workflow.regions import regions_plan
    from biometal.workflow.variants import VariantsPlan

    sim = SimData(dna_sample="sim", rnaseq_samples=(), rnaseq_mates=())
    cfg = {
        "simulate": {"reads": {"coverage": 30}},
        "regions": {"varfilter": {"fractions": [1.0, 0.3333], "coreml": True}},
    }
    with_truth = VariantsPlan(sim.reference, {"sim": {"fastq": [], "bam": ""}}, sim.vcf, [], False)
    plan = regions_plan(cfg, sim, with_truth)
    assert plan.depths == (("30x", 1.0), ("10x", 0.3333))
    assert plan.depth_bam("30x") == "results/align/sim.bam"
    assert plan.depth_bam("10x") == "results/regions/bam/sim.10x.bam"
    assert "results/regions/varfilter.tsv" in plan.outputs
    assert "results/regions/varfilter/varfilter.mlpackage" in plan.outputs
    assert plan.bai == ["results/align/sim.bam.bai"]
    assert plan.depth_inputs(type("W", (), {"depth": "10x"})())["bai"].endswith("10x.bam.bai")
    own = VariantsPlan("my.fa", {"s1": {"fastq": [], "bam": "s1.bam"}}, None, [], False)
    plan = regions_plan(cfg, sim, own)
    assert not plan.varfilter
    assert "results/regions/varfilter.tsv" not in plan.outputs
    # a user's BAM: its index is not a job input (the job names a missing one)
    assert plan.loader_inputs == {"reference": "my.fa", "bam": "s1.bam"}
    assert plan.bai == []
    assert "results/figures/regions_varfilter.png" not in plan.outputs
