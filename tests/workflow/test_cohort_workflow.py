"""case_study_cohort end to end with the real snakemake (the shared tiny run): bcftools
accepts every gVCF and the joint VCF, the evaluation table is reproduced from its own
inputs, joint calling finds at least the single-sample hets, and the figures exist."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pysam
import pytest

from biometal.variants.cohort_report import evaluate_cohort

CO = Path("results/cohort")
SAMPLES = ["C01", "C02", "C03"]  # tests/workflow/tiny.yaml: cohort.samples 3
BCFTOOLS = shutil.which("bcftools")


@pytest.mark.slow
def test_outputs_and_bcftools_accepts_them(tiny_run: Path) -> None:
    root = tiny_run / CO
    ref = root / "data/ref.fa"
    vcfs = [root / f"gvcf/{s}.g.vcf.gz" for s in SAMPLES] + [root / "joint.vcf.gz"]
    for v in vcfs:
        assert Path(f"{v}.tbi").exists()
    with pysam.VariantFile(str(root / "joint.vcf.gz")) as fh:
        assert list(fh.header.samples) == SAMPLES
        assert sum(1 for _ in fh) > 10
    for f in ("recall", "throughput"):
        png = tiny_run / f"results/figures/cohort_{f}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if BCFTOOLS is None:
        pytest.skip("bcftools not installed")
    assert (root / "peers/bcftools.vcf.gz").exists()
    for v in vcfs:
        for cmd in ([BCFTOOLS, "view", str(v)], [BCFTOOLS, "norm", "-f", str(ref), str(v)]):
            out = subprocess.run([*cmd, "-Ou", "-o", "/dev/null"], capture_output=True, text=True)
            assert out.returncode == 0, (v, out.stderr)


@pytest.mark.slow
def test_evaluation_reproduces_and_joint_helps(tiny_run: Path, tmp_path: Path) -> None:
    root = tiny_run / CO
    table = pd.read_csv(root / "evaluation.tsv", sep="\t")
    assert {"single", "joint"} <= set(table.caller)
    assert set(table["sample"]) == {*SAMPLES, "all"}
    # reproduced from its inputs by the library function the rule calls
    peers = {"bcftools": root / "peers/bcftools.vcf.gz"} if "bcftools" in set(table.caller) else {}
    gvcf_cpu = [root / f"cpu/gvcf_{s}.json" for s in SAMPLES]
    cpu = {"single": gvcf_cpu, "joint": [*gvcf_cpu, root / "cpu/joint.json"]}
    cpu.update({p: [root / f"cpu/{p}.times"] for p in peers})
    again = evaluate_cohort(
        root / "data/truth.vcf.gz", root / "data/ref.fa", SAMPLES,
        {s: root / f"gvcf/{s}.g.vcf.gz" for s in SAMPLES}, root / "joint.vcf.gz", peers, cpu,
        tmp_path / "e.tsv", tmp_path / "r.tsv",
    )  # fmt: skip
    assert (tmp_path / "e.tsv").read_text() == (root / "evaluation.tsv").read_text()
    assert (tmp_path / "r.tsv").read_text() == (root / "recall_by_af_depth.tsv").read_text()
    tot = again[again["sample"] == "all"].set_index(["caller", "type"])
    assert tot.loc[("joint", "SNP"), "het_found"] >= tot.loc[("single", "SNP"), "het_found"]
    assert tot.loc[("joint", "SNP"), "F1"] > 0.8
    assert (again["job_cpu_s"] > 0).all()
    for s in SAMPLES:
        data = json.loads((root / f"cpu/gvcf_{s}.json").read_text())
        assert data["positions"] > 10_000 and data["library_cpu_s"] <= data["cpu_s"]
    tp = pd.read_csv(root / "site_stats_throughput.tsv", sep="\t").set_index("path")
    assert {"numba_1t", "numba_2t", "numpy", "metal"} <= set(tp.index)
    assert tp.loc["numba_1t", "positions_per_s_median"] > 0
