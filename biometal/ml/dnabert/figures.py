"""Figures of the DNABERT case study (matplotlib, Agg): loss, throughput, memory, comparison."""

from __future__ import annotations

import os
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from biometal.io.atomic import atomic_path  # noqa: E402


def _save(fig, out: str | os.PathLike) -> None:
    fig.tight_layout()
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)


def plot_dnabert(
    logs: Sequence[str | os.PathLike],
    evaluation: str | os.PathLike,
    thresholds: str | os.PathLike,
    outs: dict[str, str | os.PathLike],
    *,
    quality_threshold: int = 20,
) -> None:
    """Write the four figures named in ``outs`` (loss, throughput, memory, comparison)."""
    train = pd.concat([pd.read_csv(p, sep="\t") for p in logs], ignore_index=True)
    ev = pd.read_csv(evaluation, sep="\t")
    thr = pd.read_csv(thresholds, sep="\t")
    modes = list(dict.fromkeys(train["mode"]))

    fig, ax = plt.subplots(figsize=(6, 4))
    for mode in modes:
        t = train[train["mode"] == mode]
        ax.plot(t["step"], t["loss"], label=mode)
    ax.set(xlabel="training step", ylabel="MLM loss (cross-entropy, nats)", title="Loss")
    ax.legend(title="tokenization")
    _save(fig, outs["loss"])

    fig, ax = plt.subplots(figsize=(6, 4))
    for mode in modes:
        t = train[train["mode"] == mode]
        ax.plot(t["elapsed_s"], t["tokens_per_s"], marker=".", label=mode)
    ax.set(xlabel="elapsed time (s)", ylabel="tokens / s (training)", title="Training throughput")
    ax.set_ylim(bottom=0)
    ax.legend(title="tokenization")
    _save(fig, outs["throughput"])

    fig, ax = plt.subplots(figsize=(6, 4))
    for mode in modes:
        t = train[train["mode"] == mode]
        line = ax.plot(t["reads"], t["rss_mb"], label=f"{mode} (RSS)")[0]
        ax.plot(t["reads"], t["peak_rss_mb"], ls="--", color=line.get_color(), lw=0.8)
    ax.set(xlabel="reads streamed", ylabel="resident memory (MiB)", title="Memory over the stream")
    ax.set_ylim(bottom=0)
    ax.legend(title="dashed: peak")
    _save(fig, outs["memory"])

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    x = range(len(ev))
    acc = ev["accuracy"]
    err = [acc - ev["accuracy_ci_low"], ev["accuracy_ci_high"] - acc]
    a1.bar(x, acc, yerr=err, capsize=4, color=["0.5"] + ["C1"] * (len(ev) - 1))
    a1.set_xticks(list(x), ev["mode"])
    for i, v in enumerate(acc):
        a1.annotate(f"{v:.3f}", (i, v), ha="center", va="bottom", xytext=(0, 6),
                    textcoords="offset points")  # fmt: skip
    a1.set(
        ylabel="masked-token accuracy (95% CI)",
        title=f"Held-out reads, all bases >= Q{int(ev['min_quality'].iloc[0])} "
        f"(n={int(ev['masked_tokens'].iloc[0])} tokens)",
    )
    a2.plot(thr["threshold"], 100 * thr["fraction_tokens"], marker="o", label="k-mer tokens")
    a2.plot(thr["threshold"], 100 * thr["fraction_reads"], marker="s", label="reads (>= 1 token)")
    a2.axvline(
        quality_threshold, color="0.6", ls=":", label=f"training threshold Q{quality_threshold}"
    )
    a2.set(xlabel="Phred threshold", ylabel="% affected", title="Tokens changed by quality masking")
    a2.legend()
    _save(fig, outs["comparison"])
