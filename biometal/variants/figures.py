"""Figures of the variant-calling case study (matplotlib, Agg; written atomically)."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from biometal.io.atomic import atomic_path


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_precision_recall(eval_tsv: str | os.PathLike, png_out: str | os.PathLike) -> None:
    """Precision, recall and F1 per caller for SNPs and indels, and each caller's wall time."""
    plt = _plt()
    table = pd.read_csv(eval_tsv, sep="\t")
    callers = list(dict.fromkeys(table["caller"]))
    samples = list(dict.fromkeys(table["sample"]))
    sample = samples[0]
    table = table[table["sample"] == sample]
    fig, axes = plt.subplots(
        1, 3, figsize=(14, 4.2), constrained_layout=True, gridspec_kw={"width_ratios": [1, 1, 0.8]}
    )
    metrics = ("precision", "recall", "F1")
    colours = ("#4c72b0", "#dd8452", "#55a868")
    width = 0.8 / len(metrics)
    x = np.arange(len(callers))
    for ax, vtype in zip(axes[:2], ("SNP", "INDEL"), strict=True):
        sub = table[table["type"] == vtype].set_index("caller").reindex(callers)
        lows = []
        for k, (metric, colour) in enumerate(zip(metrics, colours, strict=True)):
            values = sub[metric].to_numpy(dtype=float)
            bars = ax.bar(x + (k - 1) * width, values, width, label=metric, color=colour)
            lows.append(np.nanmin(values) if np.isfinite(values).any() else 0.0)
            for rect, v in zip(bars, values, strict=True):
                if np.isfinite(v):
                    ax.annotate(
                        f"{v:.4f}",
                        (rect.get_x() + rect.get_width() / 2, v),
                        ha="center",
                        va="bottom",
                        fontsize=6,
                        rotation=90,
                        xytext=(0, 2),
                        textcoords="offset points",
                    )
        low = min(lows)
        ax.set_ylim(max(0.0, low - (1 - low) * 0.6 - 0.002), 1.0 + (1 - low) * 0.35 + 0.002)
        n_truth = int((sub["TP"] + sub["FN"]).dropna().iloc[0]) if len(sub.dropna()) else 0
        ax.set_title(f"{vtype}s ({n_truth} in the truth)")
        ax.set_xticks(x, callers, rotation=20, ha="right")
        ax.set_ylabel("score")
    axes[0].legend(fontsize=8, frameon=False, loc="upper center", ncol=3)
    cost = table.drop_duplicates("caller").set_index("caller").reindex(callers)
    bars = axes[2].bar(x, cost["wall_s"], color="#8172b3")
    for rect, v, m in zip(bars, cost["wall_s"], cost["max_rss_mb"], strict=True):
        if np.isfinite(v):
            axes[2].annotate(
                f"{v:.1f} s\n{m:.0f} MB",
                (rect.get_x() + rect.get_width() / 2, v),
                ha="center",
                va="bottom",
                fontsize=7,
            )
    axes[2].set_xticks(x, callers, rotation=20, ha="right")
    axes[2].set_ylabel("wall time of the calling jobs (s)")
    axes[2].set_title("cost (same BAM)")
    axes[2].margins(y=0.25)
    fig.suptitle(
        f"Variant calls of sample {sample} against the truth (allele match after normalisation)"
    )
    with atomic_path(png_out) as tmp:
        fig.savefig(tmp, dpi=150, format="png")
    plt.close(fig)


def plot_pileup_throughput(summary_tsv: str | os.PathLike, png_out: str | os.PathLike) -> None:
    """Median wall time (95% CI) of each pileup method, with the speed-up over samtools."""
    plt = _plt()
    s = pd.read_csv(summary_tsv, sep="\t")
    labels = [
        f"{m}\n{b} backend, {t} thread{'s' if t > 1 else ''}" if b != "-" else f"{m}\n{t} thread"
        for m, b, t in zip(s["method"], s["backend"], s["threads"], strict=True)
    ]
    y = np.arange(len(s))[::-1]
    fig, ax = plt.subplots(figsize=(9, 0.8 * len(s) + 1.6), constrained_layout=True)
    err = np.vstack([s["median_s"] - s["ci95_low_s"], s["ci95_high_s"] - s["median_s"]])
    colours = ["#999999" if m == "samtools mpileup" else "#4c72b0" for m in s["method"]]
    ax.barh(y, s["median_s"], xerr=err, color=colours, capsize=3)
    for yi, med, sp, hi, cpu, cpu_sp in zip(
        y,
        s["median_s"],
        s["speedup_vs_samtools"],
        s["ci95_high_s"],
        s["median_cpu_s"],
        s["cpu_speedup_vs_samtools"],
        strict=True,
    ):
        ax.annotate(
            f"wall {med:.2f} s ({sp:.2f}x)  CPU {cpu:.2f} s ({cpu_sp:.2f}x)",
            (hi, yi),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
        )
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xlabel(
        "wall time, BAM -> pileup output (s); bars: median, whiskers: 95% CI; "
        "(x): samtools' median / this one"
    )
    ax.margins(x=0.6)
    load = s["median_load_1min"].median()
    ax.set_title(
        f"Pileup of the same BAM ({int(s['positions'].iloc[0]):,} positions), "
        f"{int(s['repeats'].iloc[0])} repeats; median 1-min load {load:.1f}"
    )
    with atomic_path(png_out) as tmp:
        fig.savefig(tmp, dpi=150, format="png")
    plt.close(fig)
