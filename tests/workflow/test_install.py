"""`pip install .` outside the repository gives a working library and command: the wheel holds
every package, the config schema and the Metal kernel sources, and the installed copy (not
this checkout) runs `biometal` on a small BAM."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pysam
import pytest

from .conftest import REPO


def _packages_on_disk() -> set[str]:
    found = {"biometal.kernels"}
    for init in (REPO / "biometal").rglob("__init__.py"):
        rel = init.parent.relative_to(REPO)
        found.add(".".join(rel.parts))
    return found


def test_pyproject_lists_every_package() -> None:
    listed = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert set(listed["packages"]) == _packages_on_disk()


def _small_bam(root: Path) -> tuple[Path, Path]:
    ref = root / "ref.fa"
    seq = ("ACGTTGCAAGGCTTAC" * 40)[:600]
    ref.write_text(f">chr1\n{seq}\n")
    header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": "chr1", "LN": len(seq)}]}
    bam = root / "small.bam"
    with pysam.AlignmentFile(str(bam), "wb", header=header) as out:
        for i, pos in enumerate(range(0, 500, 25)):
            read = pysam.AlignedSegment(out.header)
            read.query_name = f"r{i}"
            read.reference_id = 0
            read.reference_start = pos
            read.mapping_quality = 60
            read.cigarstring = "50M"
            bases = list(seq[pos : pos + 50])
            bases[10] = "A" if bases[10] != "A" else "C"  # a mismatch at pos + 10
            read.query_sequence = "".join(bases)
            read.query_qualities = pysam.qualitystring_to_array("I" * 50)
            out.write(read)
    pysam.index(str(bam))
    return ref, bam


@pytest.mark.slow
def test_wheel_installed_outside_the_repository_runs(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"]
        + ["-w", str(dist), str(REPO)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    wheel = next(dist.glob("biometal-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "biometal/schema.yaml" in names and "biometal/kernels/pileup.metal" in names
    assert any(n.endswith("entry_points.txt") for n in names)

    site = tmp_path / "site"
    inst = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site)]
        + [str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert inst.returncode == 0, inst.stderr[-2000:]
    # the installed copy first on the path; dependencies from this environment
    env = {**os.environ, "PYTHONPATH": str(site)}
    env.pop("BIOMETAL_BACKEND", None)
    work = tmp_path / "elsewhere"
    work.mkdir()
    ref, bam = _small_bam(work)

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "biometal", *args],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=work,
            env=env,
        )

    where = subprocess.run(
        [sys.executable, "-c", "import biometal, biometal.config as c; c.load_schema();"
         "print(biometal.__file__)"],
        capture_output=True, text=True, cwd=work, env=env,
    )  # fmt: skip
    assert where.returncode == 0, where.stderr
    assert where.stdout.strip().startswith(str(site)), where.stdout
    assert run("--version").returncode == 0
    proc = run("pileup", str(bam), str(ref), "-", "--threads", "1", "--backend", "cpu")
    assert proc.returncode == 0, proc.stderr
    rows = [line.split("\t") for line in proc.stdout.splitlines() if not line.startswith("#")]
    assert len(rows) > 100
    proc = run("call", str(bam), str(ref), str(work / "calls.vcf.gz"), "--backend", "cpu")
    assert proc.returncode == 0, proc.stderr
    assert (work / "calls.vcf.gz.tbi").is_file()
    proc = run("pileup", str(work / "missing.bam"), str(ref), "-")
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1, proc.stderr
