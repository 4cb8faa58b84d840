"""bench_alignment with the real snakemake on a tiny grid: outputs, columns, scores equal
parasail's, and the target stays out of `all`."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from .conftest import TINY, snakemake
from .test_workflow import _jobs

TINY_BENCH = {
    "bench": {
        "alignment": {
            "lengths": [40, 300],
            "batch_sizes": [1, 70],
            "identities": [0.9],
            "repeats": 2,
            "max_cells": 2_000_000,
        }
    }
}


def test_bench_is_not_part_of_all(tmp_path: Path) -> None:
    proc = snakemake(tmp_path, "all", "-n")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert not any(r.startswith("bench") for r in _jobs(proc.stdout))
    proc = snakemake(tmp_path, "bench_alignment", "-n")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert _jobs(proc.stdout) == {"bench_alignment_run": 1, "bench_alignment": 1}


@pytest.mark.slow
def test_bench_alignment_tiny_grid(tmp_path: Path) -> None:
    pytest.importorskip("parasail", reason="parasail not installed (the benchmark's peer)")
    cfg = tmp_path / "bench.yaml"
    cfg.write_text(yaml.safe_dump(TINY_BENCH))
    proc = snakemake(tmp_path, "bench_alignment", configfiles=(TINY, cfg))
    assert proc.returncode == 0, proc.stderr[-3000:]
    table = pd.read_csv(tmp_path / "results/bench/alignment.tsv", sep="\t")
    methods = set(table.method)
    for peer in ("sw_striped_16", "sw_trace_striped_16", "nw_striped_16"):
        assert any(peer in m for m in methods), peer
    assert {"biometal-cpu-1t:score", "biometal-cpu-1t:trace", "biometal-cpu-1t:global"} <= methods
    assert len(table) == 2 * 2 * len(methods)  # lengths x batch sizes x methods
    bio = table[table.kind == "biometal"]
    assert (bio.score_mismatches == 0).all()
    assert (table.repeats == 2).all() and (table.gcups_median > 0).all()
    for col in ("time_mean", "time_sd", "time_ci_low", "time_ci_high", "aln_per_s_median"):
        assert col in table.columns
    big = table[(table.length == 300) & (table.batch == 70)]
    assert (big.batch_measured == 2_000_000 // 300**2).all()
    assert big.note.str.contains("max_cells").all()
    summary = pd.read_csv(tmp_path / "results/bench/alignment_summary.tsv", sep="\t")
    assert {"speedup_median", "cohens_d_time", "peer"} <= set(summary.columns)
    assert (tmp_path / "results/figures/bench_alignment_gcups.png").stat().st_size > 10_000
