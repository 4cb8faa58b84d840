"""The assembly experiment (workflow target ``assembly``): per-genome read sets of the
simulated metagenome, the evaluation table of every tool on every data set, and figures.

Evaluation table (TSV, one row per data set and tool): ``dataset tool k cpu_s wall_s
max_rss_mb`` + :func:`biometal.assembly.evaluate.evaluate_contigs`'s metrics +
``kmer_ceiling`` / ``repeat_ceiling`` (the best NGA50 the repeats allow, see
:func:`repeat_ceiling`) and ``nga50_vs_ceiling`` (NGA50 / kmer_ceiling).
Graph steps table (TSV): biometal's graph size after each simplification step, per data set.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from biometal.assembly.evaluate import evaluate_contigs, read_sequences, repeat_ceiling
from biometal.assembly.peers import VELVET_MAX_K, run_assembler
from biometal.io.atomic import atomic_path
from biometal.io.fastx import FastqWriter, ReadChunk, read_fastq_chunks

COLUMNS = [
    "dataset", "tool", "k", "cpu_s", "wall_s", "max_rss_mb", "contigs", "total_bp", "largest",
    "n50", "ng50", "nga50", "genome_fraction", "misassemblies", "mismatches_per_100kb",
    "indels_per_100kb", "unaligned_bp", "reference_bp", "kmer_ceiling", "repeat_ceiling",
    "nga50_vs_ceiling",
]  # fmt: skip


def _subset(chunk: ReadChunk, idx: np.ndarray) -> ReadChunk:
    starts = chunk.offsets[idx]
    lens = chunk.offsets[idx + 1] - starts
    offsets = np.zeros(len(idx) + 1, np.int64)
    np.cumsum(lens, out=offsets[1:])
    gather = np.repeat(starts - offsets[:-1], lens) + np.arange(offsets[-1])
    names = [chunk.names[i] for i in idx.tolist()] if chunk.names is not None else None
    return ReadChunk(chunk.codes[gather], chunk.qual[gather], offsets, names)


def split_metagenome(
    genomes_fa: str | os.PathLike,
    r1: str | os.PathLike,
    r2: str | os.PathLike,
    truth: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    compresslevel: int = 1,
    chunk_reads: int = 16384,
) -> dict[str, int]:
    """Write each genome's mates and sequence (``out_dir/meta_<genome>/{R1.fq.gz, R2.fq.gz,
    reference.fa}``) from the metagenome's truth table (the pairs' source genome: an oracle
    binning). Returns pairs per genome."""
    out = Path(out_dir)
    genome_of = pd.read_csv(truth, sep="\t", usecols=["genome"])["genome"].to_numpy()
    names = sorted(set(genome_of.tolist()), key=lambda g: (len(g), g))
    seqs = read_sequences(genomes_fa)
    writers = {}
    for g in names:
        d = out / f"meta_{g}"
        d.mkdir(parents=True, exist_ok=True)
        with atomic_path(d / "reference.fa") as tmp, open(tmp, "w") as fh:
            for name, seq in seqs:
                if name.rsplit("_c", 1)[0] == g:
                    fh.write(f">{name}\n{seq}\n")
        writers[g] = (
            FastqWriter(d / "R1.fq.gz", compresslevel),
            FastqWriter(d / "R2.fq.gz", compresslevel),
        )
    done = 0
    chunks = zip(
        read_fastq_chunks(r1, chunk_reads, with_names=True),
        read_fastq_chunks(r2, chunk_reads, with_names=True),
        strict=True,
    )
    for c1, c2 in chunks:
        source = genome_of[done : done + len(c1)]
        for g, (w1, w2) in writers.items():
            idx = np.flatnonzero(source == g)
            if len(idx):
                w1.write_chunk(_subset(c1, idx))
                w2.write_chunk(_subset(c2, idx))
        done += len(c1)
    for w1, w2 in writers.values():
        w1.close()
        w2.close()
    return {g: int((genome_of == g).sum()) for g in names}


def evaluation_rows(
    dataset: str,
    reference: str | os.PathLike,
    runs: Mapping[str, tuple[str, str]],
    *,
    k: int,
    repeats_bed: str | os.PathLike | None = None,
    min_contig: int = 500,
) -> list[dict]:
    """Rows of the evaluation table for one data set: ``runs`` maps tool -> (contigs FASTA,
    run statistics JSON as :func:`biometal.assembly.peers.run_assembler` returns)."""
    import mappy

    aligner = mappy.Aligner(os.fspath(reference), preset="asm5")
    ceiling = repeat_ceiling(reference, k, repeats_bed, min_contig=min_contig)
    rows = []
    for tool, (contigs, run_json) in runs.items():
        run = json.loads(Path(run_json).read_text())
        ev = evaluate_contigs(contigs, reference, min_contig=min_contig, aligner=aligner)
        row = {"dataset": dataset, "tool": tool, "k": run.get("k", k), **run, **ev}
        row["kmer_ceiling"] = ceiling["kmer_ceiling"]
        row["repeat_ceiling"] = ceiling.get("repeat_ceiling", "")
        row["nga50_vs_ceiling"] = (
            round(ev["nga50"] / ceiling["kmer_ceiling"], 3) if ceiling["kmer_ceiling"] else ""
        )
        rows.append({c: row.get(c, "") for c in COLUMNS})
    return rows


def graph_steps(dataset: str, stats_json: str | os.PathLike) -> list[dict]:
    """biometal's graph size per simplification step (from the assembler's stats JSON)."""
    stats = json.loads(Path(stats_json).read_text())
    return [
        {"dataset": dataset, "k": stats["k"], "threshold": stats["threshold"], **s}
        for s in stats["steps"]
    ]


def write_tsv(rows: list[dict], path: str | os.PathLike) -> None:
    with atomic_path(path) as tmp:
        pd.DataFrame(rows).to_csv(tmp, sep="\t", index=False)


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_nga50_time(table: pd.DataFrame, png: str | os.PathLike) -> None:
    """NGA50 (with the repeats' ceiling) and CPU seconds per tool, one group per data set."""
    plt = _plt()
    datasets = list(dict.fromkeys(table["dataset"]))
    tools = list(dict.fromkeys(table["tool"]))
    fig, axes = plt.subplots(2, 1, figsize=(max(6, 1.4 * len(datasets) + 2), 6.5), sharex=True)
    width = 0.8 / max(1, len(tools))
    x = np.arange(len(datasets))
    for j, tool in enumerate(tools):
        sub = table[table["tool"] == tool].set_index("dataset").reindex(datasets)
        pos = x - 0.4 + width * (j + 0.5)
        axes[0].bar(pos, sub["nga50"].fillna(0) / 1000, width, label=tool)
        axes[1].bar(pos, sub["cpu_s"].fillna(0), width, label=tool)
    ceil = table.groupby("dataset", sort=False)["kmer_ceiling"].first().reindex(datasets)
    axes[0].scatter(x, ceil / 1000, marker="_", s=600, color="k", label="repeat ceiling (k)")
    axes[0].set_ylabel("NGA50 (kb)")
    axes[1].set_ylabel("CPU time (s, 1 thread)")
    axes[1].set_xticks(x, datasets, rotation=20)
    axes[0].legend(fontsize=8, ncol=3)
    fig.tight_layout()
    with atomic_path(png) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)


def plot_graph_steps(steps: pd.DataFrame, png: str | os.PathLike) -> None:
    """biometal's graph nodes and N50 after each step (unitigs, tips, bubbles, ...)."""
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ds, sub in steps.groupby("dataset", sort=False):
        labels = [f"{s}{r or ''}" for s, r in zip(sub["step"], sub["round"], strict=True)]
        axes[0].plot(labels, sub["nodes"], marker="o", label=ds)
        axes[1].plot(labels, sub["n50"] / 1000, marker="o", label=ds)
    axes[0].set_ylabel("graph nodes")
    axes[0].set_yscale("log")
    axes[1].set_ylabel("node N50 (kb)")
    for ax in axes:
        ax.tick_params(axis="x", rotation=45, labelsize=7)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    with atomic_path(png) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)


def assembly_report(
    datasets: Mapping[str, Mapping],
    table_out: str | os.PathLike,
    steps_out: str | os.PathLike,
    nga50_png: str | os.PathLike,
    steps_png: str | os.PathLike,
    *,
    min_contig: int = 500,
) -> pd.DataFrame:
    """The evaluation and graph-steps tables and both figures. ``datasets``: name ->
    {"reference", "repeats" (BED or None), "runs": {tool: (contigs, run json)},
    "stats": biometal's stats JSON (its k sets the ceiling's)}."""
    rows, steps = [], []
    for name, d in datasets.items():
        k = json.loads(Path(d["stats"]).read_text())["k"]
        rows += evaluation_rows(
            name, d["reference"], d["runs"], k=k, repeats_bed=d.get("repeats"),
            min_contig=min_contig,
        )  # fmt: skip
        steps += graph_steps(name, d["stats"])
    write_tsv(rows, table_out)
    write_tsv(steps, steps_out)
    table = pd.DataFrame(rows)
    plot_nga50_time(table, nga50_png)
    plot_graph_steps(pd.DataFrame(steps), steps_png)
    return table


def run_tool(
    tool: str,
    r1: str | os.PathLike,
    r2: str | os.PathLike,
    contigs_out: str | os.PathLike,
    run_out: str | os.PathLike,
    workdir: str | os.PathLike,
    *,
    k: int = 0,
    min_contig: int = 500,
    biometal_stats: str | os.PathLike | None = None,
    gfa_out: str | os.PathLike | None = None,
    stats_out: str | os.PathLike | None = None,
) -> dict:
    """One timed assembly (:func:`biometal.assembly.peers.run_assembler`) and its run JSON
    (``tool k cpu_s wall_s max_rss_mb``). ``k`` 0: biometal chooses; a peer then takes
    the k in ``biometal_stats``. biometal's GFA and statistics are copied to ``gfa_out`` /
    ``stats_out``."""
    import shutil

    if tool != "biometal" and k == 0 and biometal_stats is not None:
        k = json.loads(Path(biometal_stats).read_text())["k"]
    run = run_assembler(tool, r1, r2, contigs_out, workdir, k=k, min_contig=min_contig)
    work = Path(workdir)
    if tool == "biometal":
        stats = json.loads((work / "biometal.json").read_text())
        k = stats["k"]
        for src, dst in ((work / "biometal.gfa", gfa_out), (work / "biometal.json", stats_out)):
            if dst is not None:
                shutil.copyfile(src, dst)
    run["k"] = {"velvet": min(k, VELVET_MAX_K), "megahit": "auto", "spades": "auto"}.get(tool, k)
    with atomic_path(run_out) as tmp:
        tmp.write_text(json.dumps(run) + "\n")
    return run
