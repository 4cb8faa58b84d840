"""case_study_rnaseq end to end with the real snakemake: outputs of the tiny run, reruns after
a config change, the user's own data (sample sheet errors, a truncated .gz)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from .conftest import TINY, snakemake
from .test_workflow import _jobs

PEERS = [p for p in ("kallisto", "salmon") if shutil.which(p)]


def _write(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.slow
def test_rnaseq_outputs(tiny_run: Path) -> None:
    rna = tiny_run / "results" / "rnaseq"
    for sample in ("rna01", "rna02"):
        q = pd.read_csv(rna / "quant" / f"{sample}.tsv", sep="\t")
        assert list(q.columns) == [
            "transcript_id",
            "length",
            "effective_length",
            "est_counts",
            "tpm",
        ]
        assert q.tpm.sum() == pytest.approx(1e6, rel=1e-4)
        info = json.loads((rna / "quant" / f"{sample}.json").read_text())
        assert info["reads"] == 2000 and info["pseudoaligned_fraction"] > 0.95
    counts = pd.read_csv(rna / "gene_counts.tsv", sep="\t", index_col=0)
    assert list(counts.columns) == ["rna01", "rna02"] and len(counts) == 20
    for table in ("gene_cpm.tsv", "gene_tpm.tsv"):
        m = pd.read_csv(rna / table, sep="\t", index_col=0)
        assert m.sum().round(0).tolist() == [1e6, 1e6]
    pca = pd.read_csv(rna / "pca.tsv", sep="\t")
    assert list(pca.condition) == ["A", "B"]
    acc = pd.read_csv(rna / "accuracy.tsv", sep="\t")
    assert sorted(acc.method.unique()) == sorted(["biometal", *PEERS])
    assert (acc[acc.method == "biometal"].spearman > 0.9).all()
    cost = pd.read_csv(rna / "cost.tsv", sep="\t")
    assert len(cost) == 2 * (1 + len(PEERS)) and (cost.reads == 2000).all()
    # Snakemake samples a job's CPU time every 0.5 s: a job on 2000 pairs can end before the
    # first sample (then NaN): a peer's, and biometal's too now that its kernels load compiled
    # (make setup's warm-up) and start-up is cut; wall time is always measured
    bm = cost[cost.method == "biometal"]
    assert (bm.reads_per_s > 0).all() and (bm.wall_s > 0).all()
    assert ((bm.reads_per_s_per_core > 0) | bm.reads_per_s_per_core.isna()).all()
    assert list(cost[cost.method == "biometal"].job_samples) == [2, 2]
    index_cost = pd.read_csv(rna / "index_cost.tsv", sep="\t")
    assert list(index_cost.method) == ["biometal", *PEERS]
    mem = pd.read_csv(rna / "memory.tsv", sep="\t")
    assert sorted(mem.factor.unique()) == [1, 2]
    bio = mem[mem.method == "biometal"].set_index("factor")
    assert bio.loc[2, "reads"] == 2 * bio.loc[1, "reads"] == 4000
    assert not list((rna / "scaling").glob("*.fastq.gz"))  # temporary inputs removed
    for fig in ("pca", "correlation", "accuracy", "cost", "memory"):
        assert (tiny_run / "results" / "figures" / f"rnaseq_{fig}.png").stat().st_size > 10_000
    # both samples in one job (rnaseq.samples_per_job): one log, one benchmark, cost shared
    assert "done in" in (tiny_run / "logs" / "rnaseq" / "quant" / "batch1.log").read_text()
    assert (tiny_run / "benchmarks" / "rnaseq" / "quant" / "biometal" / "batch1.tsv").exists()


@pytest.mark.slow
def test_rnaseq_config_change_reruns_only_dependents(tiny_run: Path, tmp_path: Path) -> None:
    proc = snakemake(tiny_run, "-n", "case_study_rnaseq")
    assert proc.returncode == 0 and "Nothing to be done" in proc.stdout + proc.stderr
    # PCA gene filter: only the analysis and the figures drawn from it
    change = _write(tmp_path / "c.yaml", {"rnaseq": {"min_cpm": 5.0}})
    jobs = _jobs(snakemake(tiny_run, "-n", "case_study_rnaseq", configfiles=(TINY, change)).stdout)
    assert set(jobs) == {
        "rnaseq_analysis",
        "rnaseq_figure_pca",
        "rnaseq_figure_correlation",
        "case_study_rnaseq",
    }, jobs
    # EM settings: biometal's quantifications and what uses them; not the index, not peers
    change = _write(tmp_path / "e.yaml", {"rnaseq": {"em": {"max_rounds": 500}}})
    jobs = _jobs(snakemake(tiny_run, "-n", "case_study_rnaseq", configfiles=(TINY, change)).stdout)
    assert jobs["rnaseq_quant_1"] == 1 and jobs["rnaseq_scaling_quant"] == 2
    assert not {"rnaseq_index", "kallisto_quant", "salmon_quant", "simulate_rnaseq"} & set(jobs)
    # k: every index and every quantification, still no simulation
    change = _write(tmp_path / "k.yaml", {"rnaseq": {"k": 29}})
    jobs = _jobs(snakemake(tiny_run, "-n", "case_study_rnaseq", configfiles=(TINY, change)).stdout)
    assert {"rnaseq_index", "rnaseq_quant_1"} <= set(jobs)
    assert {f"{p}_index" for p in PEERS} <= set(jobs)
    assert "simulate_rnaseq" not in jobs


@pytest.mark.slow
def test_rnaseq_figures_in_report(tiny_run: Path) -> None:
    html_path = tiny_run / "report_rnaseq.html"
    proc = snakemake(tiny_run, "--report", str(html_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    html = html_path.read_text(errors="replace")
    assert "rnaseq_memory.png" in html and "rnaseq_accuracy.png" in html
    assert "replicated 1x..Nx" in html  # a caption from report/rnaseq_memory.rst


# ----------------------------------------------------------------------------- own data


@pytest.fixture(scope="module")
def own_data(tiny_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A transcriptome, GTF and two samples (from the tiny run) in a user's folder."""
    d = tmp_path_factory.mktemp("own")
    sim = tiny_run / "results" / "data"
    shutil.copy(sim / "transcriptome" / "transcripts.fa", d / "tx.fa")
    shutil.copy(sim / "transcriptome" / "annotation.gtf", d / "a.gtf")
    for s, new in (("rna01", "ctrl1"), ("rna02", "trt1")):
        for mate in ("R1", "R2"):
            shutil.copy(sim / "rnaseq" / f"{s}_{mate}.fastq.gz", d / f"{new}_{mate}.fastq.gz")
    return d


def _own_config(d: Path, sheet_rows: list[str], **extra) -> Path:
    (d / "sheet.tsv").write_text("sample\tcondition\tfq1\tfq2\n" + "\n".join(sheet_rows) + "\n")
    cfg = {
        "rnaseq": {
            "transcriptome": str(d / "tx.fa"),
            "gtf": str(d / "a.gtf"),
            "samples": str(d / "sheet.tsv"),
            **extra,
        }
    }
    return _write(d / "own.yaml", cfg)


GOOD = [
    "ctrl1\tctrl\tctrl1_R1.fastq.gz\tctrl1_R2.fastq.gz",
    "trt1\ttreated\ttrt1_R1.fastq.gz\ttrt1_R2.fastq.gz",
]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([*GOOD, GOOD[0]], ":4: duplicate sample 'ctrl1' (first defined on line 2)"),
        ([GOOD[0], "trt1\ttreated\tnope_R1.fq.gz\t"], ":3: fq1 file 'nope_R1.fq.gz' not found"),
        ([GOOD[0], GOOD[1].replace("treated", "treated?")], ":3: invalid condition 'treated?'"),
        ([GOOD[0], GOOD[1].replace("treated", "ctrl")], "needs at least 2 distinct conditions"),
    ],
)
def test_own_sheet_errors_name_the_row(
    own_data: Path, tmp_path: Path, rows: list[str], message: str
) -> None:
    cfg = _own_config(own_data, rows)
    proc = snakemake(tmp_path, "-n", "case_study_rnaseq", configfiles=(TINY, cfg))
    assert proc.returncode != 0
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and str(own_data / "sheet.tsv") in errors[0], proc.stderr
    assert message in errors[0], errors
    assert "Traceback" not in proc.stderr


def test_own_data_needs_all_three_keys(tmp_path: Path) -> None:
    cfg = _write(tmp_path / "c.yaml", {"rnaseq": {"samples": "x.tsv"}})
    proc = snakemake(tmp_path, "-n", "case_study_rnaseq", configfiles=(TINY, cfg))
    assert proc.returncode != 0
    assert "rnaseq.samples is set but rnaseq.transcriptome is not" in proc.stderr


@pytest.mark.slow
def test_own_data_truncated_gz_fails_that_job_only(own_data: Path, tmp_path: Path) -> None:
    blob = (own_data / "trt1_R2.fastq.gz").read_bytes()
    (own_data / "cut_R2.fastq.gz").write_bytes(blob[: len(blob) // 2])
    rows = [GOOD[0], "trt1\ttreated\ttrt1_R1.fastq.gz\tcut_R2.fastq.gz"]
    cfg = _own_config(own_data, rows, peers=[])
    quant = tmp_path / "results" / "rnaseq" / "quant"
    targets = ["results/rnaseq/quant/ctrl1.tsv", "results/rnaseq/quant/trt1.tsv"]
    proc = snakemake(tmp_path, *targets, "--keep-going", configfiles=(TINY, cfg))
    assert proc.returncode != 0
    assert f"error: {own_data / 'cut_R2.fastq.gz'}" in proc.stderr, proc.stderr[-3000:]
    assert (quant / "ctrl1.tsv").exists()  # the good sample's job still ran
    assert not (quant / "trt1.tsv").exists() and not (quant / "trt1.json").exists()
    assert not list(quant.glob(".*tmp*"))
    assert not (tmp_path / "results" / "data").exists()  # no simulation for own data


@pytest.mark.slow
def test_own_data_case_study(own_data: Path, tmp_path: Path) -> None:
    """Your own transcriptome, GTF and sheet: the whole case study, no truth tables."""
    cfg = _own_config(own_data, GOOD, peers=[])
    proc = snakemake(tmp_path, "case_study_rnaseq", configfiles=(TINY, cfg))
    assert proc.returncode == 0, proc.stderr[-3000:]
    rna = tmp_path / "results" / "rnaseq"
    counts = pd.read_csv(rna / "gene_counts.tsv", sep="\t", index_col=0)
    assert list(counts.columns) == ["ctrl1", "trt1"]
    assert list(pd.read_csv(rna / "pca.tsv", sep="\t").condition) == ["ctrl", "treated"]
    assert (tmp_path / "results" / "figures" / "rnaseq_memory.png").exists()
    assert not (rna / "accuracy.tsv").exists()  # no truth for your own data
    assert not (rna / "de.tsv").exists()  # one sample per condition: no DE
    assert not (tmp_path / "results" / "data").exists()  # nothing simulated


KALLISTO_TEST = Path("/usr/share/doc/kallisto/test")


@pytest.mark.slow
@pytest.mark.skipif(
    not (KALLISTO_TEST / "transcripts.gtf.gz").is_file(),
    reason="kallisto's test data absent (Debian package kallisto-examples)",
)
def test_ensembl_transcriptome_and_gtf_as_shipped(tmp_path: Path) -> None:
    """kallisto's test transcriptome (``>ENST00000282507.7``) with its own Ensembl GTF
    (``transcript_id "ENST00000282507"; transcript_version "7";``), no hand edits: gene
    tables with gene names, and the analysis reading them."""
    d = tmp_path / "own"
    d.mkdir()
    for s in ("ctrl1", "trt1"):
        for m in (1, 2):
            shutil.copy(KALLISTO_TEST / f"reads_{m}.fastq.gz", d / f"{s}_R{m}.fastq.gz")
    cfg = _own_config(d, GOOD, peers=[])
    data = yaml.safe_load(cfg.read_text())
    data["rnaseq"]["transcriptome"] = str(KALLISTO_TEST / "transcripts.fasta.gz")
    data["rnaseq"]["gtf"] = str(KALLISTO_TEST / "transcripts.gtf.gz")
    _write(cfg, data)
    proc = snakemake(tmp_path, "case_study_rnaseq", configfiles=(TINY, cfg))
    assert proc.returncode == 0, proc.stderr[-3000:]
    rna = tmp_path / "results" / "rnaseq"
    q = pd.read_csv(rna / "quant" / "ctrl1.tsv", sep="\t", index_col=0)
    assert len(q) == 14 and "ENST00000282507.7" in q.index
    counts = pd.read_csv(rna / "gene_counts.tsv", sep="\t", index_col=0)
    assert list(counts.columns) == ["gene_name", "ctrl1", "trt1"]
    assert counts.loc["ENSG00000168671", "gene_name"] == "UGT3A2"
    assert counts[["ctrl1", "trt1"]].sum().round(0).tolist() == [q.est_counts.sum().round(0)] * 2
    assert list(pd.read_csv(rna / "pca.tsv", sep="\t").condition) == ["ctrl", "treated"]
