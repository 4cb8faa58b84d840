"""The workflow end to end: config validation, dry runs, a full tiny run, determinism,
reruns, user sample sheets and bad input. Every test runs the real snakemake."""

from __future__ import annotations

import gzip
import hashlib
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from biometal.io import FastqWriter
from biometal.workflow.peers import PEER_TOOLS

from .conftest import REPO, TINY, snakemake

RULES = [
    "simulate_reference",
    "simulate_variants",
    "simulate_reads",
    "simulate_transcriptome",
    "simulate_rnaseq",
    "simulate_metagenome",
    "read_stats",
    "qc_summary",
    "qc_figure",
]


def _jobs(stdout: str) -> dict[str, int]:
    """Rule -> job count from snakemake's 'Job stats' table."""
    jobs: dict[str, int] = {}
    table = stdout.split("Job stats:", 1)[-1]
    for line in table.splitlines():
        m = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if m and m.group(1) != "total":
            jobs[m.group(1)] = int(m.group(2))
    return jobs


def _write(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


def _digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_dry_run_default_config_lists_every_rule(tmp_path: Path) -> None:
    proc = snakemake(tmp_path, "-n", "all", configfiles=())
    assert proc.returncode == 0, proc.stderr
    jobs = _jobs(proc.stdout)
    assert set(RULES) <= set(jobs), jobs
    assert jobs["read_stats"] == 8  # sim + meta + 6 RNA-seq samples


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"simulate": {"reads": {"coverag": 3}}},
            "unknown config key 'simulate.reads.coverag'",
        ),
        ({"seed": "abc"}, "config key 'seed': 'abc' is not of type 'integer'"),
        ({"compute": {"backend": "cuda"}}, "config key 'compute.backend'"),
        ({"simulate": {"rnaseq": {"n_samples": 1}}}, "config key 'simulate.rnaseq.n_samples'"),
        ({"qcc": {}}, "unknown config key 'qcc'"),
    ],
)
def test_bad_config_fails_before_any_job(tmp_path: Path, config: dict, message: str) -> None:
    bad = _write(tmp_path / "bad.yaml", config)
    proc = snakemake(tmp_path, "all", configfiles=(TINY, bad))
    assert proc.returncode != 0
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize("configfiles", [(), (TINY,)], ids=["default", "tiny"])
def test_dry_run_is_clean_under_strict_dag_evaluation(tmp_path: Path, configfiles) -> None:
    """Every input function resolves for every job: no InputFunctionException, no traceback
    (results/qc/{sample}.tsv once matched results/qc/summary.tsv)."""
    proc = snakemake(
        tmp_path,
        "all",  # before the option, which takes several values
        "-n",
        "--forceall",
        "--strict-dag-evaluation",
        "functions",
        configfiles=configfiles,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "Traceback" not in out and "Exception" not in out, out[-3000:]


def test_unusable_backend_is_one_line(tmp_path: Path) -> None:
    """compute.backend: metal on a machine without Metal: the job fails with one line."""
    _own_sample(tmp_path, [("r1", "ACGT", "IIII")])
    (tmp_path / "sheet.tsv").write_text("sample\tfq1\nmine\tmine_R1.fastq.gz\n")
    cfg = _write(
        tmp_path / "own.yaml",
        {"qc": {"samples": str(tmp_path / "sheet.tsv")}, "compute": {"backend": "metal"}},
    )
    proc = snakemake(tmp_path, "qc", configfiles=(TINY, cfg))
    if proc.returncode == 0:
        pytest.skip("Metal answers on this machine")
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert errors and "metal" in errors[0].lower(), proc.stderr[-3000:]
    log = (tmp_path / "logs" / "qc" / "mine.log").read_text()
    assert "Traceback" not in log and "metal" in log.lower()


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (["summary"], "sample name 'summary' is reserved"),
        (["x", "x.hist"], "sample names 'x.hist' and 'x' collide"),
    ],
)
def test_sample_name_colliding_with_an_output_is_one_line(
    tmp_path: Path, names: list[str], message: str
) -> None:
    _own_sample(tmp_path, [("r1", "ACGT", "IIII")])
    rows = "".join(f"{n}\tmine_R1.fastq.gz\n" for n in names)
    (tmp_path / "sheet.tsv").write_text("sample\tfq1\n" + rows)
    cfg = _write(tmp_path / "own.yaml", {"qc": {"samples": str(tmp_path / "sheet.tsv")}})
    proc = snakemake(tmp_path, "-n", "qc", configfiles=(TINY, cfg))
    assert proc.returncode != 0
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr


def test_unknown_key_suggests_the_right_one(tmp_path: Path) -> None:
    bad = _write(tmp_path / "bad.yaml", {"simulate": {"reads": {"coverag": 3}}})
    proc = snakemake(tmp_path, "-n", "all", configfiles=(TINY, bad))
    assert "did you mean 'coverage'?" in proc.stderr


@pytest.mark.slow
def test_tiny_run_outputs_are_consistent(tiny_run: Path) -> None:
    res = tiny_run / "results"
    summary = pd.read_csv(res / "qc" / "summary.tsv", sep="\t")
    assert sorted(summary["sample"].unique()) == ["meta", "rna01", "rna02", "sim"]
    with gzip.open(res / "data" / "reads" / "sim.truth.tsv.gz", "rt") as fh:
        pairs = sum(1 for _ in fh) - 1
    sim = summary[summary["sample"] == "sim"]
    assert list(sim.reads) == [pairs, pairs]
    assert (sim.mean_length == 150).all()
    assert (summary.backend == "cpu").all()
    assert (res / "figures" / "qc_read_stats.png").stat().st_size > 10_000
    for log in ("data/simulate_reads_sim.log", "qc/sim.log"):
        assert "done in" in (tiny_run / "logs" / log).read_text()


@pytest.mark.slow
def test_same_config_gives_byte_identical_outputs(tiny_run: Path, tmp_path: Path) -> None:
    # the second run makes only what is compared (every simulated file and the QC tables):
    # 20 s instead of a whole `all` (~130 s). The .fai files come along with their FASTA.
    data = sorted(p for p in (tiny_run / "results" / "data").rglob("*") if p.is_file())
    targets = [str(p.relative_to(tiny_run)) for p in data if p.suffix != ".fai"]
    tables = ("summary.tsv", "sim.hist.tsv")
    proc = snakemake(tmp_path, *targets, *(f"results/qc/{t}" for t in tables))
    assert proc.returncode == 0, proc.stderr[-3000:]
    first = _digests(tiny_run / "results" / "data")
    second = _digests(tmp_path / "results" / "data")
    assert first and first == second
    for table in tables:
        a = (tiny_run / "results" / "qc" / table).read_bytes()
        assert a == (tmp_path / "results" / "qc" / table).read_bytes()


@pytest.mark.slow
def test_config_change_reruns_only_what_depends_on_it(tiny_run: Path, tmp_path: Path) -> None:
    proc = snakemake(tiny_run, "-n", "all")
    assert proc.returncode == 0 and "Nothing to be done" in proc.stdout + proc.stderr
    change = _write(tmp_path / "q.yaml", {"qc": {"quality_threshold": 30}})
    proc = snakemake(tiny_run, "-n", "all", configfiles=(TINY, change))
    jobs = _jobs(proc.stdout)
    assert set(jobs) == {"read_stats", "qc_summary", "qc_figure", "all"}, jobs
    change = _write(tmp_path / "m.yaml", {"simulate": {"metagenome": {"n_pairs": 3000}}})
    proc = snakemake(tiny_run, "-n", "all", configfiles=(TINY, change))
    jobs = _jobs(proc.stdout)
    # the DNABERT case study trains and evaluates on the metagenome; its vocabulary stays
    dnabert = {"dnabert_train", "dnabert_evaluate", "dnabert_quality_thresholds", "dnabert_figures"}
    # read_qc trims the metagenome's adapters (with cutadapt and fastp where installed)
    readqc = {"readqc_trim_biometal", "readqc_trimming", "readqc_figures"} | {
        f"readqc_trim_{p}" for p in ("cutadapt", "fastp") if shutil.which(p)
    }
    # read classification is trained and tested on it (and on the retrained encoder)
    classify = {f"dnabert_classify_{s}" for s in ("data", "kmer", "finetune", "export", "report")}
    # assembly splits it into genomes and assembles each (tiny: no metagenome peers)
    assembly = {"assembly_split_metagenome", "assembly_biometal", "assembly_evaluate"}
    assert set(jobs) == {"simulate_metagenome", "read_stats", "qc_summary", "qc_figure", "all"} | (
        dnabert | readqc | classify | assembly
    ), jobs
    assert jobs["read_stats"] == 1  # only the metagenome sample


def _own_sample(tmp_path: Path, records: list[tuple[str, str, str]]) -> Path:
    with FastqWriter(tmp_path / "mine_R1.fastq.gz") as w:
        for rec in records:
            w.write(rec)
    return tmp_path / "mine_R1.fastq.gz"


def test_own_fastq_via_sample_sheet(tmp_path: Path) -> None:
    _own_sample(tmp_path, [("r1", "ACGTN", "IIII#"), ("r2", "GGCC", "!!!!")])
    (tmp_path / "sheet.tsv").write_text("sample\tfq1\nmine\tmine_R1.fastq.gz\n")
    cfg = _write(tmp_path / "own.yaml", {"qc": {"samples": str(tmp_path / "sheet.tsv")}})
    proc = snakemake(tmp_path, "qc", configfiles=(TINY, cfg))
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = pd.read_csv(tmp_path / "results" / "qc" / "summary.tsv", sep="\t")
    row = summary.iloc[0]
    assert (row["sample"], row["reads"], row["bases"]) == ("mine", 2, 9)
    assert row["gc_fraction"] == pytest.approx(6 / 8)  # C+G over A+C+G+T, N excluded
    assert row["low_quality_fraction"] == pytest.approx(5 / 9)  # '#' and '!' are < Q20
    assert not (tmp_path / "results" / "data").exists()  # no simulation for own data


def test_malformed_fastq_fails_its_job_without_partial_output(tmp_path: Path) -> None:
    (tmp_path / "bad.fastq").write_text("@r1\nACGT\n+\nIIII\nr2\nACGT\n+\nIIII\n")
    (tmp_path / "sheet.tsv").write_text("sample\tfq1\nbad\tbad.fastq\n")
    cfg = _write(tmp_path / "own.yaml", {"qc": {"samples": str(tmp_path / "sheet.tsv")}})
    proc = snakemake(tmp_path, "qc", configfiles=(TINY, cfg))
    assert proc.returncode != 0
    assert f"error: {tmp_path / 'bad.fastq'}:5: expected '@'" in proc.stderr, proc.stderr[-3000:]
    assert not list((tmp_path / "results").rglob("bad*.tsv"))
    assert not list((tmp_path / "results").rglob(".*tmp*"))


def test_bad_sample_sheet_row_is_named(tmp_path: Path) -> None:
    _own_sample(tmp_path, [("r1", "ACGT", "IIII")])
    (tmp_path / "sheet.tsv").write_text(
        "sample\tfq1\nmine\tmine_R1.fastq.gz\nmine\tmine_R1.fastq.gz\n"
    )
    cfg = _write(tmp_path / "own.yaml", {"qc": {"samples": str(tmp_path / "sheet.tsv")}})
    proc = snakemake(tmp_path, "-n", "qc", configfiles=(TINY, cfg))
    assert proc.returncode != 0
    assert f"{tmp_path / 'sheet.tsv'}:3: duplicate sample 'mine'" in proc.stderr


def test_conda_env_pins_match_pyproject() -> None:
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    # what jobs import: the library, its ml extra, and the workflow extra's Snakemake (the
    # script runner) and matplotlib; the SLURM plugin runs only on the submitting host
    pins = project["dependencies"] + extras["ml"]
    pins += [p for p in extras["workflow"] if not p.startswith(("biometal[", "snakemake-exec"))]
    env = yaml.safe_load((REPO / "envs" / "biometal.yaml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    norm = lambda s: s.replace(" ", "").replace('"', "'")  # noqa: E731
    assert {norm(p) for p in pins} <= {norm(p) for p in pip}
    # every rule with an action names a pinned env that exists
    # (an env named by a wildcard, envs/{asm_peer}.yaml, is every env its name can match:
    # at least one, and every peer tool has its env)
    for smk in sorted((REPO / "rules").glob("*.smk")):
        for env_file in re.findall(r'conda:\n\s+"\.\./(envs/[^"]+)"', smk.read_text()):
            if "{" in env_file:
                pattern = re.sub(r"\{\w+\}", "*", env_file)
                matched = sorted(REPO.glob(pattern))
                assert matched, env_file
            else:
                matched = [REPO / env_file]
            for path in matched:
                env = yaml.safe_load(path.read_text())
                assert env["dependencies"], path
    for peer in PEER_TOOLS:
        assert (REPO / "envs" / f"{peer}.yaml").is_file(), peer


@pytest.mark.slow
def test_report_collects_figures_with_captions(tiny_run: Path) -> None:
    proc = snakemake(tiny_run, "--report", str(tiny_run / "report.html"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    html = (tiny_run / "report.html").read_text(errors="replace")
    assert "qc_read_stats.png" in html
    assert "mean Phred quality" in html  # from report/qc_read_stats.rst


def test_every_rule_declares_log_env_runtime_and_memory() -> None:
    """The cluster needs each job's runtime and memory (SLURM -t / --mem), conda users its
    env; targets without an action are exempt."""
    for smk in sorted((REPO / "rules").glob("*.smk")):
        for block in re.split(r"(?m)^(?=(?:rule|checkpoint) )", smk.read_text()):
            name = re.match(r"(?:rule|checkpoint) (\w+):", block)
            if not name:
                continue
            for key in ("runtime=", "mem_mb=", "log:", "conda:"):
                assert key in block, f"{smk.name}: rule {name.group(1)} has no {key}"
