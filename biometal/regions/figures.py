"""Figures of the regions case study (matplotlib, Agg; written atomically).

- :func:`plot_intervals`: CPU seconds per interval operation of biometal (on parsed arrays,
  and with BED parsing and text output), bedtools and bioframe (median, min-max bars), and
  the peers' CPU over biometal's (median of per-repeat ratios).
- :func:`plot_loader`: the region loader's and the pysam + cyvcf2 + pyfaidx loader's
  regions/s and MB/s per CPU second (median, min-max), and the loader's peak RSS by number
  of windows.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from biometal.io.atomic import atomic_path
from biometal.regions.bench import summarize_intervals

TOOL_COLOURS = {
    "biometal": "#dd8452",
    "biometal_io": "#f0b27a",
    "bedtools": "#4c72b0",
    "bioframe": "#55a868",
}


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, png_out: str | os.PathLike) -> None:
    import matplotlib.pyplot as plt

    with atomic_path(png_out) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)


def plot_intervals(runs_tsv: str | os.PathLike, png_out: str | os.PathLike) -> None:
    """Interval benchmark figure (module doc) from the rows of ``write_interval_bench``."""
    plt = _plt()
    runs = pd.read_csv(runs_tsv, sep="\t")
    s = summarize_intervals(runs)
    ops = list(dict.fromkeys(s["op"]))
    tools = [t for t in TOOL_COLOURS if t in set(s["tool"])]
    n = int(runs["n"].iloc[0]) if len(runs) else 0
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(13, 4.4), constrained_layout=True)
    x = np.arange(len(ops))
    w = 0.8 / max(1, len(tools))
    for k, tool in enumerate(tools):
        sub = s[s["tool"] == tool].set_index("op").reindex(ops)
        med = sub["median_cpu_s"].to_numpy(float)
        err = np.vstack([med - sub["min_cpu_s"], sub["max_cpu_s"] - med])
        label = "biometal (op + BED I/O)" if tool == "biometal_io" else tool
        ax.bar(x + (k - (len(tools) - 1) / 2) * w, med, w, yerr=err, capsize=2,
               color=TOOL_COLOURS[tool], label=label)  # fmt: skip
    ax.set_xticks(x, ops)
    ax.set_ylabel("CPU seconds (median, min-max)")
    ax.set_yscale("log")
    ax.set_title(f"{n:,} x {n:,} sorted intervals")
    ax.legend(fontsize=8)
    peers = [t for t in tools if t not in ("biometal", "biometal_io")]
    w2 = 0.8 / max(1, len(peers))
    for k, tool in enumerate(peers):
        sub = s[s["tool"] == tool].set_index("op").reindex(ops)
        ax2.bar(x + (k - (len(peers) - 1) / 2) * w2, sub["ratio_vs_biometal"], w2,
                color=TOOL_COLOURS[tool], label=tool)  # fmt: skip
    ax2.axhline(1.0, color="black", lw=0.8)
    ax2.set_xticks(x, ops)
    ax2.set_yscale("log")
    ax2.set_ylabel("CPU / biometal's (op on parsed arrays); > 1: biometal faster")
    ax2.set_title("same run, same data")
    ax2.legend(fontsize=8)
    _save(fig, png_out)


def plot_loader(loader_tsv: str | os.PathLike, png_out: str | os.PathLike) -> None:
    """Loader throughput and memory figure (module doc) from ``write_loader_bench``'s TSV."""
    plt = _plt()
    t = pd.read_csv(loader_tsv, sep="\t")
    speed = t[t["kind"] == "throughput"]
    memory = t[t["kind"] == "memory"]
    width = int(t["width"].iloc[0]) if len(t) else 0
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2), constrained_layout=True)
    loaders = list(dict.fromkeys(speed["loader"]))
    colours = ["#dd8452", "#4c72b0", "#55a868"]
    for ax, col, unit in zip(
        axes[:2], ("regions_per_s", "mb_per_s"), ("regions / CPU s", "MB of arrays / CPU s"),
        strict=True,
    ):  # fmt: skip
        med = [speed[speed["loader"] == name][col].median() for name in loaders]
        lo = [speed[speed["loader"] == name][col].min() for name in loaders]
        hi = [speed[speed["loader"] == name][col].max() for name in loaders]
        err = np.vstack([np.subtract(med, lo), np.subtract(hi, med)])
        ax.bar(range(len(loaders)), med, yerr=err, capsize=3, color=colours[: len(loaders)])
        ax.set_xticks(range(len(loaders)), loaders, fontsize=8)
        ax.set_ylabel(f"{unit} (median, min-max)")
        ax.set_yscale("log")
        if len(med) > 1 and med[1] > 0:
            ax.set_title(f"{width} bp windows: {med[0] / med[1]:.1f}x the peer")
        else:
            ax.set_title(f"{width} bp windows")
    ax = axes[2]
    if len(memory):
        ax.plot(memory["regions"], memory["peak_rss_mb"], "o-", color=colours[0], label="peak")
        ax.plot(memory["regions"], memory["rss_before_mb"], "s--", color="#999999",
                label="after imports")  # fmt: skip
        ax.set_xscale("log")
        ax.set_ylim(0, max(memory["peak_rss_mb"].max() * 1.3, 1))
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "not measured\n(regions.loader.memory_counts: [])", ha="center",
                va="center", transform=ax.transAxes)  # fmt: skip
    ax.set_xlabel(f"windows of {width} bp loaded")
    ax.set_ylabel("RSS (MB)")
    ax.set_title("biometal loader memory")
    _save(fig, png_out)
