"""The workflow on a real SLURM cluster through ``--profile profiles/slurm``.

CI (.ci/run) starts a single-node cluster on 127.0.0.1 with .ci/slurm.sh; elsewhere, these
tests skip with a reason unless `sinfo` answers with a usable node. They check that a run on
the cluster writes the same bytes as a local run, that each job gets the threads and mem_mb
its rule declares (`scontrol show job`), and that a failing job is reported with its log.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from .conftest import REPO, TINY, snakemake

pytestmark = pytest.mark.slow

PROFILE = REPO / "profiles" / "slurm"
SLURM_TOOLS = ("sinfo", "sbatch", "squeue", "scontrol", "srun", "scancel")
# "Job 3 has been submitted with SLURM jobid 17 (log: ...)."
SUBMITTED = re.compile(r"Job (\d+) has been submitted with SLURM jobid (\d+)")


def _cluster_problem() -> str | None:
    """Why the SLURM tests cannot run here, or None when a cluster answers."""
    missing = [t for t in SLURM_TOOLS if shutil.which(t) is None]
    if missing:
        return f"SLURM client tools not installed: {', '.join(missing)} (apt-get install slurm-wlm)"
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        return "snakemake-executor-plugin-slurm is not installed"
    try:
        proc = subprocess.run(
            ["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=10
        )
    except subprocess.TimeoutExpired:
        return "no SLURM cluster answers: `sinfo` timed out (start one with .ci/slurm.sh start)"
    states = proc.stdout.split()
    if proc.returncode != 0 or not states:
        err = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return f"no SLURM cluster answers: `sinfo` says {err!r} (start one with .ci/slurm.sh start)"
    if not any(s.rstrip("*~#!%$@^-") in ("idle", "mixed", "allocated") for s in states):
        return f"no usable SLURM node: `sinfo` reports {' '.join(states)}"
    return None


@pytest.fixture(scope="module")
def cluster() -> None:
    problem = _cluster_problem()
    if problem:
        pytest.skip(problem)


def _env() -> dict[str, str]:
    """The submitting shell's environment, with this venv's bin first on PATH: sbatch
    passes it to the jobs (--export=ALL), so they run the same python and snakemake."""
    env = {k: v for k, v in os.environ.items() if k != "BIOMETAL_BACKEND"}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def _slurm_snakemake(
    workdir: Path, *targets: str, configfiles: tuple[Path, ...] = (TINY,), timeout: int = 420
) -> subprocess.CompletedProcess:
    """Run snakemake with the repository's SLURM profile, as printed, in ``workdir``."""
    cmd = [sys.executable, "-m", "snakemake", *targets]  # targets before --configfile
    cmd += ["-s", str(REPO / "Snakefile"), "--directory", str(workdir)]
    cmd += ["--profile", str(PROFILE)]
    # Test speed only: the first status check of a job after 1 s instead of 40 s.
    cmd += ["--slurm-init-seconds-before-status-checks", "1"]
    cmd += ["--configfile", *map(str, configfiles)]
    try:
        return subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, env=_env(), cwd=workdir
        )
    except subprocess.TimeoutExpired as exc:
        out, err = (
            s.decode(errors="replace") if isinstance(s, bytes) else s or ""
            for s in (exc.stdout, exc.stderr)
        )
        ids = [m.group(2) for m in SUBMITTED.finditer(out + err)]
        if ids:
            subprocess.run(["scancel", *ids], capture_output=True, timeout=30)
        pytest.fail(f"snakemake on SLURM did not finish in {timeout} s:\n{(out + err)[-3000:]}")


def _planned_jobs(output: str) -> dict[int, dict]:
    """Snakemake job id -> rule, threads and mem_mb, from the job blocks snakemake prints
    (`rule NAME:` ... `jobid: N` ... `threads: T` ... `resources: ..., mem_mb=M, ...`)."""
    jobs: dict[int, dict] = {}
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", output):
        m = re.match(r"(local)?rule (\w+):", block)
        jid = re.search(r"^\s+jobid: (\d+)$", block, re.M)
        if not m or not jid:
            continue
        threads = re.search(r"^\s+threads: (\d+)$", block, re.M)
        mem = re.search(r"\bmem_mb=(\d+)", block)
        jobs[int(jid.group(1))] = {
            "rule": m.group(2),
            "local": bool(m.group(1)),
            "threads": int(threads.group(1)) if threads else 1,
            "mem_mb": int(mem.group(1)) if mem else None,
        }
    return jobs


def _scontrol(job_id: str) -> dict[str, str]:
    """`scontrol show job -o ID` as a dict (one line of KEY=VALUE fields)."""
    proc = subprocess.run(
        ["scontrol", "show", "job", "-o", job_id], capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 0, f"scontrol show job {job_id}: {proc.stderr}"
    fields = {}
    for token in proc.stdout.split():
        key, sep, value = token.partition("=")
        if sep and key not in fields:
            fields[key] = value
    return fields


def _mb(value: str) -> int:
    """SLURM memory ('500M', '2G', '1T') in MB."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGT]?)", value)
    assert m, f"unexpected SLURM memory value {value!r}"
    scale = {"K": 1 / 1024, "": 1, "M": 1, "G": 1024, "T": 1024 * 1024}[m.group(2)]
    return round(float(m.group(1)) * scale)


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_qc_on_slurm_equals_local_run(cluster, tmp_path: Path) -> None:
    on_slurm, local = tmp_path / "slurm", tmp_path / "local"
    on_slurm.mkdir()
    local.mkdir()

    # the local reference run meanwhile: the SLURM run mostly waits on status checks
    with ThreadPoolExecutor(max_workers=1) as pool:
        local_run = pool.submit(snakemake, local, "qc")
        proc = _slurm_snakemake(on_slurm, "qc")
        ref = local_run.result()
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"qc on SLURM failed:\n{out[-4000:]}"
    assert ref.returncode == 0, ref.stderr[-3000:]

    # the same bytes, file for file (simulated data, QC tables, figure)
    got, want = _files(on_slurm / "results"), _files(local / "results")
    assert sorted(got) == sorted(want)
    assert any(name.startswith("qc/") and name.endswith(".tsv") for name in got)
    differ = [name for name in want if got[name] != want[name]]
    assert not differ, f"SLURM and local runs wrote different bytes: {differ}"

    # every non-local job went through sbatch, and got what its rule declares
    planned = _planned_jobs(out)
    submitted = {int(m.group(1)): m.group(2) for m in SUBMITTED.finditer(out)}
    assert submitted, f"no job was submitted to SLURM:\n{out[-3000:]}"
    remote = {j for j, info in planned.items() if not info["local"] and info["rule"] != "qc"}
    assert set(submitted) == remote, (
        f"submitted {sorted(submitted)}, expected the non-local jobs {sorted(remote)}"
    )
    submitted_rules = {planned[j]["rule"] for j in submitted}
    assert {"simulate_reads", "read_stats"} <= submitted_rules, submitted_rules
    assert not {"qc_summary", "qc_figure"} & submitted_rules, "localrules went to SLURM"

    for jid, slurm_id in sorted(submitted.items()):
        want_job = planned[jid]
        job = _scontrol(slurm_id)
        where = f"SLURM job {slurm_id} (rule {want_job['rule']})"
        assert job["JobState"] == "COMPLETED", f"{where}: {job['JobState']}"
        assert job["Comment"].startswith(f"rule_{want_job['rule']}"), f"{where}: {job['Comment']}"
        assert int(job["CPUs/Task"]) == want_job["threads"], f"{where}: {job['CPUs/Task']}"
        assert int(job["NumCPUs"]) == want_job["threads"], f"{where}: {job['NumCPUs']}"
        assert want_job["mem_mb"] is not None, f"{where}: no mem_mb in snakemake's output"
        assert _mb(job["MinMemoryNode"]) == want_job["mem_mb"], f"{where}: {job['MinMemoryNode']}"


def test_failing_job_is_reported_with_its_log(cluster, tmp_path: Path) -> None:
    # a sample sheet whose FASTQ is malformed: read_stats fails with a one-line error
    (tmp_path / "bad_R1.fastq").write_text("@r0\nACGTACGTAC\n+\nIIIIIIIIII\n@r1\nACGTAC\n+\nIII\n")
    (tmp_path / "bad.tsv").write_text("sample\tfq1\tfq2\nbad\tbad_R1.fastq\t\n")
    (tmp_path / "bad.yaml").write_text("qc:\n  samples: bad.tsv\n")

    proc = _slurm_snakemake(tmp_path, "qc", configfiles=(TINY, tmp_path / "bad.yaml"))
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, f"a failing job did not fail the run:\n{out[-3000:]}"

    ids = [m.group(2) for m in SUBMITTED.finditer(out)]
    assert ids, f"the job was not submitted to SLURM:\n{out[-3000:]}"
    assert _scontrol(ids[-1])["JobState"] == "FAILED"
    assert "Error in rule read_stats" in out, out[-3000:]
    assert re.search(rf"SLURM-job '{ids[-1]}' failed", out), out[-3000:]

    # the job's own log: the one-line error naming the file, shown in snakemake's output
    log = tmp_path / "logs" / "qc" / "bad.log"
    assert log.is_file(), f"no job log at {log}:\n{out[-3000:]}"
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    assert lines and "bad_R1.fastq" in lines[-1], log.read_text()
    assert lines[-1] in out, f"the job's log is not shown:\n{out[-3000:]}"
    assert "Traceback" not in log.read_text()
    assert not (tmp_path / "results" / "qc" / "bad.tsv").exists()
