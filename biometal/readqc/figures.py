"""Figures of the read-QC target (matplotlib, Agg; written atomically), from the tables of
:mod:`biometal.readqc.experiment`."""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np
import pandas as pd

from biometal.io.atomic import atomic_path

COLOURS = {
    "reported": "#8c8c8c",
    "bqsr": "#4c72b0",
    "neural": "#dd8452",
    "true_p": "#55a868",
}


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _tsv(path: str | os.PathLike) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t")


def _save(fig, path: str | os.PathLike) -> None:
    plt = _plt()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)


def plot_calibration(
    summary: pd.DataFrame,
    curves: pd.DataFrame,
    by_cycle: pd.DataFrame,
    by_context: pd.DataFrame,
    png: str | os.PathLike,
) -> None:
    """Calibration curves (predicted vs empirical Q), error by cycle (R1 and R2), and the
    contexts (3 bases before) with the largest reported-Q error."""
    plt = _plt()
    fig, ax = plt.subplots(1, 3, figsize=(16, 4.6), constrained_layout=True)
    ece = summary.set_index("method")["ece_q"]
    top = 0.0
    for m, c in curves.groupby("method", sort=False):
        ok = c["bases"] >= 100
        ax[0].plot(
            c.loc[ok, "predicted_q"],
            c.loc[ok, "empirical_q"],
            "o-",
            ms=3,
            color=COLOURS.get(m),
            label=f"{m} (ECE {ece.get(m, np.nan):.2f} Q)",
        )
        top = max(top, float(c.loc[ok, "predicted_q"].max()), float(c.loc[ok, "empirical_q"].max()))
    ax[0].plot([0, top], [0, top], "k:", lw=1)
    ax[0].set_xlabel("predicted Q (bins of 1 Q, >= 100 bases)")
    ax[0].set_ylabel("empirical Q (true errors)")
    ax[0].set_title("calibration of held-out bases")
    ax[0].legend(fontsize=8, frameon=False)
    methods = [c[:-2] for c in by_cycle.columns if c.endswith("_q") and c != "empirical_q"]
    for mate, sub in by_cycle.groupby("mate"):
        x = sub["cycle"] + (0 if mate == 1 else sub["cycle"].max() + 10)
        ax[1].plot(
            x, sub["empirical_q"], color="k", lw=1.2, label="empirical" if mate == 1 else None
        )
        for m in methods:
            ax[1].plot(x, sub[f"{m}_q"], color=COLOURS.get(m), lw=1, label=m if mate == 1 else None)
    ax[1].set_xlabel("cycle (R1, then R2)")
    ax[1].set_ylabel("Q of the mean error probability")
    ax[1].set_title("error by machine cycle")
    ax[1].legend(fontsize=8, frameon=False)
    ctx = by_context[~by_context["before"].str.contains("N")].copy()
    ctx["gap"] = ctx["reported_q"] - ctx["empirical_q"]
    ctx = ctx.sort_values("gap", ascending=False).head(12)
    y = np.arange(len(ctx))
    ax[2].scatter(ctx["empirical_q"], y, color="k", marker="|", s=200, label="empirical", zorder=3)
    for m in methods:
        ax[2].scatter(ctx[f"{m}_q"], y, color=COLOURS.get(m), s=18, label=m)
    ax[2].set_yticks(
        y, [f"{b} ({n:,} bases)" for b, n in zip(ctx["before"], ctx["bases"], strict=True)]
    )
    ax[2].invert_yaxis()
    ax[2].set_xlabel("Q of the mean error probability")
    ax[2].set_title("contexts most over-confident as reported\n(3 bases before the base)")
    ax[2].legend(fontsize=8, frameon=False)
    _save(fig, png)


def plot_masking(masking: pd.DataFrame, png: str | os.PathLike) -> None:
    """Share of the true errors removed when each method masks the same number of bases."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.5, 4.4), constrained_layout=True)
    for m, sub in masking.groupby("method", sort=False):
        ax.plot(
            100 * (1 - sub["keep_fraction"]),
            100 * sub["errors_removed_share"],
            "o-",
            color=COLOURS.get(m),
            label=m,
        )
    ax.set_xlabel("bases masked (%) - the same for every method")
    ax.set_ylabel("true errors removed (%)")
    ax.set_title("quality masking at equal bases kept (held-out reads)")
    ax.legend(frameon=False)
    _save(fig, png)


def plot_trimming(trimming: pd.DataFrame, png: str | os.PathLike) -> None:
    """Read-level trimming error (over / under) and reads per CPU second of each tool."""
    plt = _plt()
    fig, ax = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    x = np.arange(len(trimming))
    ax[0].bar(x, trimming["over_pct"], label="over-trimmed", color="#c44e52")
    ax[0].bar(
        x,
        trimming["under_pct"],
        bottom=trimming["over_pct"],
        label="under-trimmed",
        color="#8172b3",
    )
    for xi, v in zip(x, trimming["read_err_pct"], strict=True):
        ax[0].annotate(f"{v:.2f}%", (xi, v), ha="center", va="bottom", fontsize=8)
    ax[0].set_xticks(x, trimming["tool"])
    ax[0].set_ylabel("reads trimmed to a wrong length (%)")
    ax[0].set_title(f"trimming error ({int(trimming['reads'].iloc[0]):,} reads)")
    ax[0].legend(frameon=False, fontsize=8)
    rate = trimming["reads_per_cpu_s"].astype(float)
    ax[1].bar(x, rate.fillna(0), color="#4c72b0")
    for xi, v, w in zip(x, rate, trimming["cpu_s"], strict=True):
        label = f"{v:,.0f}\n({w:.1f} CPU s)" if np.isfinite(v) else "not sampled"
        ax[1].annotate(
            label, (xi, 0 if not np.isfinite(v) else v), ha="center", va="bottom", fontsize=8
        )
    ax[1].set_xticks(x, trimming["tool"])
    ax[1].set_ylabel("reads per CPU second (whole job, 1 thread)")
    ax[1].set_title("speed (Snakemake benchmark of each job)")
    ax[1].margins(y=0.2)
    _save(fig, png)


def plot_variants(variants: pd.DataFrame, png: str | os.PathLike) -> None:
    """SNP and indel F1, precision and recall with reported vs recalibrated qualities."""
    plt = _plt()
    fig, ax = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    quals = list(dict.fromkeys(variants["qualities"]))
    metrics = ("precision", "recall", "f1")
    width = 0.8 / len(quals)
    for a, vtype in zip(ax, ("SNP", "INDEL"), strict=True):
        sub = variants[variants["type"] == vtype].set_index("qualities")
        lo = 1.0
        for k, q in enumerate(quals):
            vals = [float(sub.loc[q, m]) if q in sub.index else np.nan for m in metrics]
            lo = min(lo, np.nanmin(vals) if np.isfinite(vals).any() else 1.0)
            a.bar(np.arange(3) + (k - (len(quals) - 1) / 2) * width, vals, width,
                  color=COLOURS.get(q), label=q)  # fmt: skip
        n = int(sub["tp"].iloc[0] + sub["fn"].iloc[0]) if len(sub) else 0
        a.set_ylim(max(0.0, lo - (1 - lo) * 0.5 - 0.01), 1.0)
        a.set_xticks(np.arange(3), metrics)
        a.set_title(f"{vtype}s ({n} in the truth)")
    ax[0].legend(frameon=False, fontsize=8, title="qualities")
    _save(fig, png)


def readqc_figures(
    inputs: Mapping[str, str | os.PathLike], outputs: Mapping[str, str | os.PathLike]
) -> None:
    """Every read-QC figure: ``inputs`` names the tables (summary, curves, by_cycle,
    by_context, masking, variants, trimming), ``outputs`` the PNGs (calibration, masking,
    trimming, variants)."""
    t = {k: _tsv(v) for k, v in inputs.items()}
    plot_calibration(
        t["summary"], t["curves"], t["by_cycle"], t["by_context"], outputs["calibration"]
    )
    plot_masking(t["masking"], outputs["masking"])
    plot_trimming(t["trimming"], outputs["trimming"])
    plot_variants(t["variants"], outputs["variants"])
