"""assembly end to end with the real snakemake (the tiny run): the evaluation table, graph
steps and figures; biometal against minia (where installed) on the same simulated reads."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

AS = Path("results/assembly")


@pytest.mark.slow
def test_evaluation_table(tiny_run: Path) -> None:
    table = pd.read_csv(tiny_run / AS / "evaluation.tsv", sep="\t")
    assert set(table["dataset"]) == {"genome", "meta_genome1", "meta_genome2"}
    tools = set(table.loc[table["dataset"] == "genome", "tool"])
    assert tools == {"biometal"} | ({"minia"} if shutil.which("minia") else set())
    genome = table[table["dataset"] == "genome"].set_index("tool")
    ours = genome.loc["biometal"]
    # 20 kb at 20x: nearly all of it, no misassembly, at the repeats' ceiling within 10%
    assert ours["genome_fraction"] > 80 and ours["misassemblies"] == 0
    assert ours["nga50"] >= 0.9 * ours["kmer_ceiling"] > 0
    assert ours["cpu_s"] > 0 and ours["max_rss_mb"] > 10 and ours["reference_bp"] == 20000
    if "minia" in genome.index:
        assert genome.loc["minia", "k"] == ours["k"]  # same k for both
    stats = json.loads((tiny_run / AS / "genome/biometal.json").read_text())
    assert stats["k"] == ours["k"] and stats["threshold"] >= 2


@pytest.mark.slow
def test_graph_steps_and_figures(tiny_run: Path) -> None:
    steps = pd.read_csv(tiny_run / AS / "graph_steps.tsv", sep="\t")
    genome = steps[steps["dataset"] == "genome"]
    assert genome["step"].iloc[0] == "unitigs"
    assert {"tips", "bubbles", "low_coverage"} <= set(genome["step"])
    assert genome["nodes"].iloc[-1] <= genome["nodes"].iloc[0]
    for name in ("nga50_time", "graph_steps"):
        png = tiny_run / f"results/figures/assembly_{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    gfa = (tiny_run / AS / "genome/biometal.gfa").read_text()
    assert gfa.startswith("H\tVN:Z:1.0") and "\nS\t" in gfa
