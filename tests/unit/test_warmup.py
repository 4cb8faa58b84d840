"""biometal warmup: the set-up step that compiles the numba kernels before the first job."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from biometal.assembly.simulate import simulate_assembly_data


def _cache(cache: Path) -> set[str]:
    return {str(p.relative_to(cache)) for p in cache.rglob("*.nbc")}


def _run(args: list[str], cache: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    return subprocess.run(
        [sys.executable, "-m", "biometal", *args], env=env, capture_output=True, text=True
    )


def test_assembly_warmup_leaves_nothing_to_compile(tmp_path):
    """After the warm-up, assembling another genome (longer, other repeats, other depth)
    finds every kernel compiled: the cache gains no machine code."""
    cache = tmp_path / "numba"
    cache.mkdir()
    res = _run(["warmup", "assembly"], cache)
    assert res.returncode == 0, res.stderr
    assert "assembly:" in res.stderr and "skipped" not in res.stderr
    warmed = _cache(cache)
    assert any("assembly" in p for p in warmed) and any("kmer_count" in p for p in warmed)

    r1, r2 = tmp_path / "R1.fq.gz", tmp_path / "R2.fq.gz"
    simulate_assembly_data(
        tmp_path / "g.fa", tmp_path / "g.bed", r1, r2, length=60_000, coverage=30.0,
        repeat_fraction=0.12, seed=7,
    )  # fmt: skip
    res = _run(["assemble", str(r1), str(r2), "-o", str(tmp_path / "asm")], cache)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "asm.fa").stat().st_size > 0
    assert _cache(cache) - warmed == set()


def test_unknown_section_is_a_one_line_error(tmp_path):
    res = _run(["warmup", "nosuch"], tmp_path)
    assert res.returncode != 0
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "nosuch" in lines[0] and "assembly" in lines[0]
    assert "Traceback" not in res.stderr


def test_a_failing_section_is_reported_and_skipped(monkeypatch):
    from biometal import warmup as wu

    def boom(work: Path) -> None:
        raise RuntimeError("no compiler")

    monkeypatch.setitem(wu.SECTIONS, "assembly", boom)
    lines: list[str] = []
    spent = wu.warmup(["assembly"], log=lines.append)
    assert spent["assembly"] != spent["assembly"]  # nan
    assert lines == ["biometal warmup: assembly: skipped (RuntimeError: no compiler)"]


@pytest.mark.parametrize("name", ["assembly", "quant", "cohort"])
def test_sections_are_listed_in_the_help(name):
    res = subprocess.run(
        [sys.executable, "-m", "biometal", "warmup", "--help"], capture_output=True, text=True
    )
    assert res.returncode == 0 and name in res.stdout
