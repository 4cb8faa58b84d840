"""The learned variant filter's figure (matplotlib, Agg; written atomically).

Top row, one panel per depth: precision against recall on the held-out contigs, of the
candidates ranked by the caller's QUAL and by the filter's P(real) (recall over every
truth allele there, so a curve ends at the candidates' recall), with the caller's own
filters, the QUAL threshold tuned on the training contigs and the learned filter at its
threshold as points. Bottom row: F1 of each method by stratum.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from biometal.io.atomic import atomic_path

COLOURS = {
    "caller": "#4c72b0",
    "candidates": "#bbbbbb",
    "qual_tuned": "#55a868",
    "learned": "#dd8452",
}


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def pr_curve(label: np.ndarray, score: np.ndarray, n_truth: int) -> tuple[np.ndarray, np.ndarray]:
    """(recall, precision) of keeping the calls with score >= t, for every distinct t
    (highest first); recall is over ``n_truth`` truth alleles."""
    order = np.argsort(-score, kind="stable")
    s, y = score[order], label[order].astype(np.int64)
    tp = np.cumsum(y)
    kept = np.arange(1, len(y) + 1)
    last = np.r_[np.flatnonzero(np.diff(s) != 0), len(s) - 1] if len(s) else np.zeros(0, int)
    return tp[last] / max(n_truth, 1), tp[last] / kept[last]


def plot_varfilter(
    table_tsv: str | os.PathLike, scores_tsv: str | os.PathLike, png_out: str | os.PathLike
) -> None:
    """The figure of the module doc from ``varfilter.tsv`` and ``varfilter_scores.tsv``."""
    plt = _plt()
    table = pd.read_csv(table_tsv, sep="\t")
    scores = pd.read_csv(scores_tsv, sep="\t")
    depths = list(dict.fromkeys(table["depth"]))
    fig, axes = plt.subplots(
        2, len(depths), figsize=(5.2 * len(depths), 8), constrained_layout=True, squeeze=False
    )
    for j, depth in enumerate(depths):
        ax = axes[0, j]
        t = table[table["depth"] == depth]
        s = scores[(scores["depth"] == depth) & scores["heldout"]]
        n_truth = int(t[(t["stratum"] == "all")]["truth"].iloc[0])
        label = s["label"].to_numpy(bool)
        for name, col, colour in (
            ("caller QUAL", "qual", COLOURS["caller"]),
            ("learned P(real)", "p_real", COLOURS["learned"]),
        ):
            r, p = pr_curve(label, s[col].fillna(0).to_numpy(float), n_truth)
            ax.plot(r, p, color=colour, label=f"candidates ranked by {name}")
        marks = (("caller", "o"), ("qual_tuned", "D"), ("learned", "s"), ("candidates", "^"))
        for method, marker in marks:
            row = t[(t["method"] == method) & (t["stratum"] == "all")].iloc[0]
            ax.scatter(
                row["recall"],
                row["precision"],
                marker=marker,
                s=60,
                color=COLOURS[method],
                edgecolor="black",
                zorder=3,
                label=f"{method}: F1 {row['F1']:.3f}",
            )
        ax.set_xlabel("recall (held-out contigs)")
        ax.set_ylabel("precision")
        ax.set_title(f"{depth}: {n_truth} truth alleles held out")
        ax.legend(fontsize=8, loc="lower left")
        ax.grid(alpha=0.3)
        ax = axes[1, j]
        strata = list(dict.fromkeys(t["stratum"]))
        x = np.arange(len(strata))
        w = 0.8 / len(COLOURS)
        for k, method in enumerate(COLOURS):
            sub = t[t["method"] == method].set_index("stratum").reindex(strata)
            ax.bar(x + (k - 1.5) * w, sub["F1"], w, color=COLOURS[method], label=method)
        n = t[t["method"] == "caller"].set_index("stratum").reindex(strata)["truth"]
        ax.set_xticks(x, [f"{st}\n(n={int(v)})" for st, v in zip(strata, n, strict=True)])
        ax.tick_params(axis="x", labelsize=8)
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("F1")
        ax.set_title(f"{depth}: F1 by stratum")
        ax.legend(fontsize=8, loc="lower left")
    with atomic_path(png_out) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)
