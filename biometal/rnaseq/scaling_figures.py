"""The paper-scale experiment's tables and figures: quantification cost against sample size,
a cost model projected to a whole study, and the count-matrix step per implementation.

Tables (TSV, written by ``bench/rnaseq_paper_scale.py`` and ``bench/count_matrix.py``):

* ``runs.tsv``: ``tool pairs rep wall_s cpu_s user_s sys_s peak_rss_mib pseudoaligned``, one
  fresh process per row (``cpu_s`` = user + sys seconds, ``peak_rss_mib`` = ``ru_maxrss``);
* ``fit.tsv`` (:func:`fit_cost`): per tool the least-squares line ``cpu_s = a + b * pairs``;
* ``projection.tsv`` (:func:`projection`): a study of ``samples`` x ``sample_gb`` GB;
* ``count_matrix.tsv``: ``step impl threads seconds seconds_min seconds_max cpu_seconds
  [cpu_seconds_min cpu_seconds_max] extrapolated x_numpy x_numpy_cpu`` (wall and CPU).

Figures (PNG, matplotlib Agg, written atomically): :func:`plot_scaling` (CPU seconds and peak
RSS against read pairs, fitted lines), :func:`plot_count_matrix` (seconds per step and
implementation, log scale). :func:`paper_scale_figures` draws both.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pandas as pd

from biometal.rnaseq.figures import _colour, _plt, _save

FIT_COLUMNS = [
    "tool",
    "runs",
    "a_cpu_s",
    "a_se",
    "b_cpu_us_per_pair",
    "b_se",
    "cov_ab",
    "marginal_pairs_per_cpu_s",
    "wall_a_s",
    "wall_b_us_per_pair",
    "rss_min_mib",
    "rss_max_mib",
    "rss_slope_mib_per_10m_pairs",
]


def _line(x: np.ndarray, y: np.ndarray) -> tuple[float, float, np.ndarray]:
    """(a, b, 2x2 covariance of (a, b)) of the least-squares line y = a + b x."""
    design = np.column_stack([np.ones_like(x), x])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    dof = len(x) - 2
    if dof > 0:
        resid = y - design @ coef
        cov = (resid @ resid / dof) * np.linalg.inv(design.T @ design)
    else:
        cov = np.full((2, 2), np.nan)
    return float(coef[0]), float(coef[1]), cov


def fit_cost(runs: pd.DataFrame) -> pd.DataFrame:
    """Per tool: ``cpu_s = a + b * pairs`` (a in s, b in us per pair) with standard errors.

    Also the wall-time line, and peak RSS: min, max and the slope of its own line (MiB per
    10M pairs; ~0 when memory is flat). Needs >= 2 distinct sizes per tool.
    """
    rows = []
    for tool, grp in runs.groupby("tool", sort=False):
        x = grp["pairs"].to_numpy(float)
        if np.unique(x).size < 2:
            raise ValueError(f"fit_cost: {tool} has fewer than 2 distinct sizes")
        a, b, cov = _line(x, grp["cpu_s"].to_numpy(float))
        wa, wb, _ = _line(x, grp["wall_s"].to_numpy(float))
        _, rb, _ = _line(x, grp["peak_rss_mib"].to_numpy(float))
        rows.append(
            {
                "tool": tool,
                "runs": len(grp),
                "a_cpu_s": a,
                "a_se": math.sqrt(cov[0, 0]),
                "b_cpu_us_per_pair": b * 1e6,
                "b_se": math.sqrt(cov[1, 1]) * 1e6,
                "cov_ab": cov[0, 1] * 1e6,
                "marginal_pairs_per_cpu_s": 1.0 / b if b > 0 else float("nan"),
                "wall_a_s": wa,
                "wall_b_us_per_pair": wb * 1e6,
                "rss_min_mib": grp["peak_rss_mib"].min(),
                "rss_max_mib": grp["peak_rss_mib"].max(),
                "rss_slope_mib_per_10m_pairs": rb * 1e7,
            }
        )
    return pd.DataFrame(rows, columns=FIT_COLUMNS)


def projection(
    fit: pd.DataFrame,
    runs: pd.DataFrame,
    generator: dict,
    samples: int = 50,
    sample_gb: float = 10.0,
    cores: int = 8,
) -> pd.DataFrame:
    """A study of ``samples`` x ``sample_gb`` GB (1e9 bytes) of FASTQ, per tool and input kind.

    Pairs per sample: ``sample_gb * 1e9 / plain_bytes_per_pair`` for plain FASTQ and that
    times ``gzip6_ratio`` for gzip (``generator``: measured on the simulated reads). CPU per
    sample from the fit (+- 1 standard error); one process per core with one thread each, so
    on ``cores`` cores the study takes ``ceil(samples / cores)`` rounds of one sample (no I/O
    limit assumed, and gzip inflation not included: the measured stream was plain). Memory:
    the largest peak RSS measured, times ``cores`` processes running at once.
    """
    rows = []
    per_plain = sample_gb * 1e9 / generator["plain_bytes_per_pair"]
    kinds = {"plain": per_plain, "gzip": per_plain * generator["gzip6_ratio"]}
    rounds = math.ceil(samples / cores)
    for _, f in fit.iterrows():
        rss = runs.loc[runs["tool"] == f["tool"], "peak_rss_mib"].max() / 1024
        for kind, n in kinds.items():
            cpu = f["a_cpu_s"] + f["b_cpu_us_per_pair"] * 1e-6 * n
            var = f["a_se"] ** 2 + (n * 1e-6 * f["b_se"]) ** 2 + 2 * n * 1e-6 * f["cov_ab"]
            se = math.sqrt(max(var, 0.0))
            rows.append(
                {
                    "tool": f["tool"],
                    "input": f"{sample_gb:g} GB {kind}",
                    "pairs_per_sample": n,
                    "cpu_s_per_sample": cpu,
                    "cpu_s_se": se,
                    "hours_1_core": samples * cpu / 3600,
                    f"hours_{cores}_cores": rounds * cpu / 3600,
                    "peak_rss_gib_1_core": rss,
                    f"peak_rss_gib_{cores}_cores": rss * cores,
                }
            )
    return pd.DataFrame(rows)


def plot_scaling(runs: pd.DataFrame, fit: pd.DataFrame, png_out: str | os.PathLike) -> None:
    """CPU seconds (left) and peak RSS (right) against read pairs, one colour per tool."""
    plt = _plt()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10.5, 4.2))
    xmax = runs["pairs"].max()
    xs = np.linspace(0, xmax, 50)
    for i, (tool, grp) in enumerate(runs.groupby("tool", sort=False)):
        c = _colour(tool, i)
        f = fit.set_index("tool").loc[tool]
        ax1.scatter(grp["pairs"] / 1e6, grp["cpu_s"], color=c, s=25, label=tool, zorder=3)
        ax1.plot(
            xs / 1e6,
            f["a_cpu_s"] + f["b_cpu_us_per_pair"] * 1e-6 * xs,
            color=c,
            lw=1,
            label=f"{tool}: {f['a_cpu_s']:.1f} s + {f['b_cpu_us_per_pair']:.2f} us/pair",
        )
        med = grp.groupby("pairs")["peak_rss_mib"].median()
        ax2.scatter(grp["pairs"] / 1e6, grp["peak_rss_mib"], color=c, s=15)
        ax2.plot(med.index / 1e6, med.to_numpy(), "-", color=c, label=f"{tool} (median)")
    ax1.set(xlabel="read pairs (millions)", ylabel="CPU seconds (user + sys), 1 thread")
    ax1.set_title("Quantification cost, reads streamed through FIFOs", fontsize=10)
    ax1.legend(fontsize=7)
    ax2.set(xlabel="read pairs (millions)", ylabel="peak RSS (MiB)", ylim=(0, None))
    ax2.set_title("Peak memory", fontsize=10)
    ax2.legend(fontsize=8)
    fig.tight_layout()
    _save(fig, png_out)


def plot_count_matrix(
    table: pd.DataFrame, png_out: str | os.PathLike, metric: str = "cpu_seconds"
) -> None:
    """Seconds per count-matrix step, bars per implementation and thread count (log scale).

    ``metric``: ``cpu_seconds`` (the process's CPU time, all threads: the fair measure on a
    shared machine) or ``seconds`` (wall); min-max error bars where the table has them.
    Extrapolated bars (plain Python, timed on a subsample) are hatched.
    """
    plt = _plt()
    steps = list(dict.fromkeys(table["step"]))
    table = table.assign(label=table["impl"] + " x" + table["threads"].astype(str))
    labels = list(dict.fromkeys(table["label"]))
    width = 0.8 / len(labels)
    fig, ax = plt.subplots(figsize=(10, 4.2))
    cmap = plt.get_cmap("tab10")
    for j, lab in enumerate(labels):
        sub = table[table["label"] == lab].set_index("step").reindex(steps)
        x = np.arange(len(steps)) + (j - (len(labels) - 1) / 2) * width
        y = sub[metric]
        err = None
        if f"{metric}_min" in sub:
            err = np.vstack([y - sub[f"{metric}_min"], sub[f"{metric}_max"] - y])
        bars = ax.bar(x, y, width, yerr=err, color=cmap(j), label=lab, capsize=2)
        for bar, extra in zip(bars, sub["extrapolated"].fillna(False), strict=True):
            if extra:
                bar.set_hatch("//")
    ax.set_xticks(np.arange(len(steps)), steps)
    ax.set_yscale("log")
    what = "CPU seconds, all threads" if metric == "cpu_seconds" else "wall seconds"
    ax.set_ylabel(f"{what} (median, min-max)")
    ax.set_title("Count-matrix step per implementation (hatched: extrapolated)", fontsize=10)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    _save(fig, png_out)


def paper_scale_figures(
    runs_tsv: str | os.PathLike,
    fit_tsv: str | os.PathLike,
    matrix_tsv: str | os.PathLike,
    scaling_png: str | os.PathLike,
    matrix_png: str | os.PathLike,
) -> None:
    """Both figures from the benchmark tables."""
    runs = pd.read_csv(runs_tsv, sep="\t")
    plot_scaling(runs, pd.read_csv(fit_tsv, sep="\t"), scaling_png)
    plot_count_matrix(pd.read_csv(matrix_tsv, sep="\t"), matrix_png)
