"""Real snakemake runs of the workflow in temporary working directories."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TINY = Path(__file__).resolve().parent / "tiny.yaml"
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def snakemake(
    workdir: Path, *args: str, configfiles: tuple[Path, ...] = (TINY,), timeout: int = 600
) -> subprocess.CompletedProcess:
    """Run snakemake on the repository's Snakefile in ``workdir``; return the finished process."""
    # targets first: --configfile takes several values and would swallow them
    cmd = [*SNAKEMAKE, *args, "-s", str(REPO / "Snakefile"), "--directory", str(workdir)]
    cmd += ["--cores", "2"]
    if configfiles:
        cmd += ["--configfile", *map(str, configfiles)]
    env = {k: v for k, v in os.environ.items() if k != "BIOMETAL_BACKEND"}
    return subprocess.run(
        cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=workdir
    )


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One complete run of the `all` target on the tiny config."""
    workdir = tmp_path_factory.mktemp("tiny_run")
    proc = snakemake(workdir, "all")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return workdir
