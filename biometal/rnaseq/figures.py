"""Figures of the RNA-seq case study (PNG, written atomically; matplotlib Agg).

Each function reads the tables the workflow wrote and draws one figure:
:func:`plot_pca`, :func:`plot_correlation`, :func:`plot_accuracy`, :func:`plot_cost`,
:func:`plot_memory`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import numpy as np
import pandas as pd

from biometal.io.atomic import atomic_path

METHOD_COLOURS = {"biometal": "#1b9e77", "kallisto": "#d95f02", "salmon": "#7570b3"}


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, png_out: str | os.PathLike) -> None:
    plt = _plt()
    with atomic_path(png_out) as tmp:
        fig.savefig(tmp, dpi=150, format="png")
    plt.close(fig)


def _colour(method: str, i: int = 0):
    return METHOD_COLOURS.get(method, _plt().get_cmap("tab10")(i % 10))


def plot_pca(pca_path: str | os.PathLike, variance_path: str | os.PathLike, png_out) -> None:
    """PC1 vs PC2 (and PC2 vs PC3 when there is one) of the samples, coloured by condition."""
    plt = _plt()
    pca = pd.read_csv(pca_path, sep="\t", index_col=0)
    var = pd.read_csv(variance_path, sep="\t", index_col=0)["variance_ratio"]
    pcs = [c for c in pca.columns if c.startswith("PC")]
    pairs = [("PC1", "PC2")] if len(pcs) >= 2 else [("PC1", "PC1")]
    if len(pcs) >= 3:
        pairs.append(("PC2", "PC3"))
    conditions = list(dict.fromkeys(pca["condition"]))
    cmap = plt.get_cmap("Set1")
    fig, axes = plt.subplots(1, len(pairs), figsize=(5.2 * len(pairs), 4.4), squeeze=False)
    for ax, (a, b) in zip(axes[0], pairs, strict=True):
        for i, cond in enumerate(conditions):
            sub = pca[pca["condition"] == cond]
            ax.scatter(sub[a], sub[b], s=60, color=cmap(i % 9), label=cond, edgecolor="k", lw=0.5)
            for name, row in sub.iterrows():
                ax.annotate(
                    name, (row[a], row[b]), fontsize=7, xytext=(4, 3), textcoords="offset points"
                )
        ax.set_xlabel(f"{a} ({100 * var.get(a, 0):.1f}% of variance)")
        ax.set_ylabel(f"{b} ({100 * var.get(b, 0):.1f}% of variance)")
        ax.axhline(0, color="0.85", lw=0.8, zorder=0)
        ax.axvline(0, color="0.85", lw=0.8, zorder=0)
    axes[0][0].legend(title="condition", frameon=False, fontsize=8)
    fig.suptitle("Samples in gene expression space (PCA of log2(CPM + 1))")
    fig.tight_layout()
    _save(fig, png_out)


def plot_correlation(
    correlation_path: str | os.PathLike,
    clustering_path: str | os.PathLike,
    pca_path: str | os.PathLike,
    png_out,
) -> None:
    """Sample-sample Pearson correlation of log2 CPM, clustered, with the dendrogram."""
    from scipy.cluster.hierarchy import dendrogram

    plt = _plt()
    corr = pd.read_csv(correlation_path, sep="\t", index_col=0)
    link = pd.read_csv(clustering_path, sep="\t", index_col=0)
    conditions = pd.read_csv(pca_path, sep="\t", index_col=0)["condition"]
    n = len(corr)
    fig = plt.figure(figsize=(6.4, 7.0))
    ax_d = fig.add_axes([0.18, 0.80, 0.62, 0.11])
    ax_c = fig.add_axes([0.18, 0.77, 0.62, 0.025])
    ax_h = fig.add_axes([0.18, 0.12, 0.62, 0.64])
    ax_bar = fig.add_axes([0.83, 0.12, 0.03, 0.64])
    if len(link):
        z = link[["left", "right", "distance", "size"]].to_numpy(dtype=np.float64)
        dendrogram(z, ax=ax_d, color_threshold=0, above_threshold_color="0.3", no_labels=True)
    ax_d.set_axis_off()
    conds = list(dict.fromkeys(conditions))
    cmap = plt.get_cmap("Set1")
    strip = np.array([[conds.index(conditions[s]) for s in corr.index]])
    ax_c.imshow(strip, aspect="auto", cmap=cmap, vmin=0, vmax=8, interpolation="nearest")
    ax_c.set_xticks([])
    ax_c.set_yticks([0])
    ax_c.set_yticklabels(["condition"], fontsize=7)
    lo = float(np.floor(corr.to_numpy().min() * 100) / 100)
    im = ax_h.imshow(corr.to_numpy(), cmap="viridis", vmin=min(lo, 0.99), vmax=1.0)
    ax_h.set_xticks(range(n))
    ax_h.set_xticklabels(corr.columns, rotation=90, fontsize=7)
    ax_h.set_yticks(range(n))
    ax_h.set_yticklabels(corr.index, fontsize=7)
    if n <= 12:
        for i in range(n):
            for j in range(n):
                ax_h.text(j, i, f"{corr.iat[i, j]:.3f}", ha="center", va="center", fontsize=6,
                          color="w" if corr.iat[i, j] < (lo + 1) / 2 else "k")  # fmt: skip
    fig.colorbar(im, cax=ax_bar, label="Pearson r of log2(CPM + 1)")
    handles = [
        plt.Rectangle((0, 0), 1, 1, color=cmap(i)) for i in range(len(conds))
    ]  # legend for the condition strip
    fig.legend(
        handles, conds, title="condition", loc="upper left", bbox_to_anchor=(0.83, 0.95),
        fontsize=7, title_fontsize=7, frameon=False,
    )  # fmt: skip
    fig.suptitle("Sample correlation and clustering\n(log2 CPM; average linkage on 1 - r)", y=0.99)
    _save(fig, png_out)


def plot_accuracy(
    accuracy_path: str | os.PathLike,
    quants: Iterable[tuple[str, str, str | os.PathLike]],
    truth_tpm: str | os.PathLike,
    png_out,
) -> None:
    """Estimated vs true TPM of one sample per method, and Spearman / MARD of every sample."""
    from biometal.rnaseq.accuracy import read_truth_tpm
    from biometal.rnaseq.peers import read_method_quant

    plt = _plt()
    acc = pd.read_csv(accuracy_path, sep="\t")
    truth = read_truth_tpm(truth_tpm)
    quants = list(quants)
    methods = list(dict.fromkeys(m for m, _, _ in quants))
    first = quants[0][1]
    fig, axes = plt.subplots(1, len(methods) + 2, figsize=(3.6 * (len(methods) + 2), 3.8))
    for i, method in enumerate(methods):
        ax = axes[i]
        path = next(p for m, s, p in quants if m == method and s == first)
        est = read_method_quant(method, path)["tpm"].reindex(truth.index).fillna(0)
        t = truth[first]
        ax.scatter(np.log10(t + 1), np.log10(est + 1), s=4, alpha=0.5, color=_colour(method, i))
        top = np.log10(max(t.max(), est.max()) + 1) * 1.05
        ax.plot([0, top], [0, top], color="0.5", lw=0.8)
        row = acc[(acc.method == method) & (acc["sample"] == first)].iloc[0]
        ax.set_title(f"{method}, {first}", fontsize=9)
        ax.text(0.04, 0.96, f"Spearman {row.spearman:.4f}\nMARD {row.mard:.4f}",
                transform=ax.transAxes, va="top", fontsize=8)  # fmt: skip
        ax.set_xlabel("log10(true TPM + 1)")
        ax.set_ylabel("log10(estimated TPM + 1)")
    for ax, metric, label in (
        (axes[-2], "spearman", "Spearman vs truth (higher is better)"),
        (axes[-1], "mard", "MARD vs truth (lower is better)"),
    ):
        for i, method in enumerate(methods):
            vals = acc.loc[acc.method == method, metric].to_numpy()
            x = i + np.linspace(-0.15, 0.15, len(vals)) if len(vals) > 1 else np.array([i])
            ax.bar(i, vals.mean(), color=_colour(method, i), alpha=0.35, width=0.6)
            ax.scatter(x, vals, color=_colour(method, i), s=14, zorder=3)
            ax.text(i, 0.02, f"{vals.mean():.4f}", ha="center", va="bottom", fontsize=7,
                    transform=ax.get_xaxis_transform())  # fmt: skip
        ax.set_xticks(range(len(methods)))
        ax.set_xticklabels(methods)
        ax.set_title(label, fontsize=9)
        vals = acc[metric].to_numpy()
        pad = (vals.max() - vals.min()) * 0.5 + 1e-3
        ax.set_ylim(max(0.0, vals.min() - pad), min(1.0, vals.max() + pad))
    fig.suptitle("Transcript abundance (TPM) against the simulated truth")
    fig.tight_layout()
    _save(fig, png_out)


def plot_cost(cost_path: str | os.PathLike, index_cost_path: str | os.PathLike, png_out) -> None:
    """Quantification throughput per core, wall time and peak RSS per method; index cost."""
    plt = _plt()
    cost = pd.read_csv(cost_path, sep="\t")
    idx = pd.read_csv(index_cost_path, sep="\t")
    methods = list(dict.fromkeys(cost.method))
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.8))
    panels = (
        ("reads_per_s_per_core", "read pairs / s per core (CPU s)", "{:,.0f}"),
        ("wall_s", "wall time per sample, s", "{:.2f}"),
        ("max_rss_mb", "peak RSS per sample, MiB", "{:.0f}"),
    )
    for ax, (col, label, fmt) in zip(axes[:3], panels, strict=True):
        for i, method in enumerate(methods):
            vals = cost.loc[cost.method == method, col].to_numpy(dtype=float)
            x = i + np.linspace(-0.15, 0.15, len(vals)) if len(vals) > 1 else np.array([i])
            med = float(np.median(vals))
            ax.bar(i, med, color=_colour(method, i), alpha=0.35, width=0.6)  # median
            ax.scatter(x, vals, color=_colour(method, i), s=14, zorder=3)
            ax.text(i, 0.02, fmt.format(med), ha="center", va="bottom", fontsize=7,
                    transform=ax.get_xaxis_transform())  # fmt: skip
        ax.set_xticks(range(len(methods)))
        ax.set_xticklabels(methods)
        ax.set_title(label, fontsize=9)
    ax = axes[3]
    x = np.arange(len(idx))
    ax.bar(x - 0.2, idx.cpu_s, width=0.4, color=[_colour(m, i) for i, m in enumerate(idx.method)])
    ax2 = ax.twinx()
    ax2.bar(x + 0.2, idx.size_mb, width=0.4, color="0.6")
    ax.set_xticks(x)
    ax.set_xticklabels(idx.method)
    ax.set_ylabel("build CPU time, s (coloured)")
    ax2.set_ylabel("index size, MiB (grey)")
    ax.set_title("index build", fontsize=9)
    threads = ", ".join(sorted({str(t) for t in cost.threads}))
    fig.suptitle(
        f"Quantification cost, same samples, same run ({threads} thread(s) per job; "
        "Snakemake benchmark files)"
    )
    fig.tight_layout()
    _save(fig, png_out)


def plot_memory(
    memory_path: str | os.PathLike, throughput_path: str | os.PathLike, png_out
) -> None:
    """Peak RSS and CPU time against input size (one sample replicated 1x..Nx), per method."""
    plt = _plt()
    mem = pd.read_csv(memory_path, sep="\t")
    thr = pd.read_csv(throughput_path, sep="\t").set_index("method")
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for i, (method, grp) in enumerate(mem.groupby("method", sort=False)):
        grp = grp.sort_values("reads")
        c = _colour(method, i)
        axes[0].plot(grp.reads / 1e6, grp.peak_rss_mb, "o-", color=c, label=method)
        ratio = grp.peak_rss_mb.iloc[-1] / grp.peak_rss_mb.iloc[0]
        axes[0].annotate(
            f"{grp.factor.iloc[-1]}x / {grp.factor.iloc[0]}x: {ratio:.3f}",
            (grp.reads.iloc[-1] / 1e6, grp.peak_rss_mb.iloc[-1]),
            fontsize=7, xytext=(-60, 6), textcoords="offset points", color=c,
        )  # fmt: skip
        label = method
        if method in thr.index:
            t = thr.loc[method]
            xs = np.array([0.0, grp.reads.max()])
            axes[1].plot(xs / 1e6, t.fixed_cpu_s + xs * t.cpu_us_per_read / 1e6, ":", color=c)
            label = (
                f"{method}: {t.fixed_cpu_s:.2f} s + {t.cpu_us_per_read:.2f} us/pair "
                f"({t.marginal_reads_per_s_per_core / 1e3:,.0f}k pairs/s/core)"
            )
        axes[1].plot(grp.reads / 1e6, grp.cpu_s, "o", color=c, label=label)
    axes[0].set_ylim(0, mem.peak_rss_mb.max() * 1.25)
    axes[0].set_xlabel("read pairs, millions")
    axes[0].set_ylabel("peak RSS, MiB")
    axes[0].set_title("memory stays flat", fontsize=9)
    axes[1].set_xlabel("read pairs, millions")
    axes[1].set_ylabel("CPU time, s")
    axes[1].set_title("CPU time: start-up + per read pair (least squares)", fontsize=9)
    axes[1].set_xlim(left=0)
    axes[1].set_ylim(bottom=0)
    axes[0].legend(frameon=False)
    axes[1].legend(frameon=False, fontsize=7, loc="upper left")
    fig.suptitle("Quantifying one sample replicated 1x..Nx (fresh process per run)")
    fig.tight_layout()
    _save(fig, png_out)
