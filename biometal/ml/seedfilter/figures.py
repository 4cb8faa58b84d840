"""Figures and the metrics table of the seed filter (rule seedfilter_figures).

- ROC and precision-recall curves of every model on the test split, with each model's
  operating point (the threshold chosen on validation);
- latency per seed by batch size and backend (Core ML listed as not run where unavailable);
- extension-stage time without and with each filter (median and 95% CI of the repeats);
- ``metrics.tsv``: one row per model (test AUROC, AUPRC, threshold, TPR, FPR, seeds kept).
"""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd

from biometal.io.atomic import atomic_path


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def metrics_table(cnn_metrics: dict, feature_metrics: dict) -> pd.DataFrame:
    """One row per model of the test metrics."""
    rows = []
    for name, m in [("cnn", cnn_metrics), *feature_metrics.items()]:
        t = m["test"]
        rows.append(
            {
                "model": name,
                "n_test": t["n"],
                "n_viable": t["n_viable"],
                "auroc": t["auroc"],
                "auprc": t["auprc"],
                "threshold": t["threshold"],
                "tpr": t["tpr"],
                "fpr": t["fpr"],
                "kept_fraction": t["kept_fraction"],
                "val_tpr": m["validation"]["tpr"],
                "val_fpr": m["validation"]["fpr"],
                "meets_target": bool(t["tpr"] >= 0.95 and t["fpr"] <= 0.40),
            }
        )
    return pd.DataFrame(rows)


def seedfilter_figures(inputs: dict[str, str], outputs: dict[str, str]) -> pd.DataFrame:
    """Write the four figures and the metrics table (keys as in rule seedfilter_figures)."""
    from sklearn.metrics import precision_recall_curve, roc_curve

    plt = _plt()
    cnn_m = json.loads(open(inputs["cnn_metrics"]).read())
    feat_m = json.loads(open(inputs["feature_metrics"]).read())
    table = metrics_table(cnn_m, feat_m)
    with atomic_path(outputs["metrics"]) as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
    cp = pd.read_csv(inputs["cnn_predictions"], sep="\t")
    fp = pd.read_csv(inputs["feature_predictions"], sep="\t")
    cp, fp = cp[cp.split == "test"], fp[fp.split == "test"]
    curves = {"cnn": (cp.label.to_numpy(), cp.score.to_numpy())}
    for name in feat_m:
        curves[name] = (fp.label.to_numpy(), fp[name].to_numpy())
    thr = dict(zip(table.model, table.threshold, strict=True))

    fig, ax = plt.subplots(figsize=(5, 4.5))
    for name, (y, s) in curves.items():
        fpr, tpr, _ = roc_curve(y, s)
        row = table[table.model == name].iloc[0]
        ax.plot(fpr, tpr, label=f"{name} (AUROC {row.auroc:.3f})")
        ax.plot(row.fpr, row.tpr, "o", color=ax.lines[-1].get_color())
    ax.axhline(0.95, ls=":", color="grey", lw=1)
    ax.axvline(0.40, ls=":", color="grey", lw=1)
    ax.set(
        xlabel="FPR (non-viable seeds kept)",
        ylabel="TPR (viable seeds kept)",
        title="Seed filter ROC (test split)",
    )
    ax.legend(loc="lower right", fontsize=8)
    _save(fig, outputs["roc"], plt)

    fig, ax = plt.subplots(figsize=(5, 4.5))
    for name, (y, s) in curves.items():
        prec, rec, _ = precision_recall_curve(y, s)
        row = table[table.model == name].iloc[0]
        ax.plot(rec, prec, label=f"{name} (AUPRC {row.auprc:.3f})")
        keep = s >= thr[name]
        if keep.any():
            ax.plot(row.tpr, float(y[keep].mean()), "o", color=ax.lines[-1].get_color())
    ax.set(
        xlabel="recall (viable seeds kept)",
        ylabel="precision",
        title="Seed filter precision-recall (test split)",
    )
    ax.legend(loc="lower left", fontsize=8)
    _save(fig, outputs["pr"], plt)

    lat = pd.read_csv(inputs["latency"], sep="\t")
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for name, g in lat[lat.available.astype(bool)].groupby("backend", sort=False):
        g = g.sort_values("batch_size")
        ax.plot(g.batch_size, g.us_per_seed, "o-", label=name)
    cost = pd.read_csv(inputs["cost"], sep="\t")
    ext = float(cost.iloc[0].extend_us_per_seed)
    ax.axhline(ext, color="black", ls="--", lw=1, label=f"extension ({ext:.2f} us/seed)")
    missing = sorted(set(lat.backend[~lat.available.astype(bool)]))
    title = "Inference latency per seed"
    if missing:
        title += f"\n(not run here: {', '.join(missing)})"
    ax.set(xscale="log", yscale="log", xlabel="batch size", ylabel="us per seed", title=title)
    ax.legend(fontsize=8)
    _save(fig, outputs["latency"], plt)

    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    y = np.arange(len(cost))
    med = cost.stage_s_median.to_numpy() * 1e3
    lo = np.nan_to_num(med - cost.stage_s_ci_low.to_numpy() * 1e3)
    hi = np.nan_to_num(cost.stage_s_ci_high.to_numpy() * 1e3 - med)
    colors = ["grey"] + ["tab:green" if s else "tab:red" for s in cost.saves_time.iloc[1:]]
    ax.barh(y, med, xerr=[np.abs(lo), np.abs(hi)], color=colors)
    labels = [
        f"{m}\n{100 * r:.1f}% seeds removed, {100 * lost:.2f}% reads lost" if i else f"{m}"
        for i, (m, r, lost) in enumerate(
            zip(cost.method, cost.seeds_removed, cost.reads_lost, strict=True)
        )
    ]
    ax.set_yticks(y, labels, fontsize=7)
    ax.invert_yaxis()
    ax.set(
        xlabel=f"extension stage, ms ({int(cost.seeds.iloc[0])} seeds, "
        f"{int(cost.read_pairs.iloc[0])} read pairs)",
        title="Extension stage with and without filtering\n(green: saves time, red: costs time)",
    )
    _save(fig, outputs["stage"], plt)
    return table


def _save(fig, path: str | os.PathLike, plt) -> None:
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)
