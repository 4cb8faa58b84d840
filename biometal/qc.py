"""Read QC: per-read statistics of FASTQ files, streamed chunk by chunk through the
``read_stats`` kernel (Metal or numba), aggregated into per-file summaries and histograms.

Memory is bounded by one chunk (``chunk_reads`` reads) whatever the file size.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from biometal._threads import numba_threads
from biometal.io import read_fastq_chunks
from biometal.io.atomic import atomic_path
from biometal.io.sinks import write_text_output
from biometal.io.sources import display_name
from biometal.kernels import read_stats, resolve_backend

log = logging.getLogger(__name__)

GC_BINS = 50  # GC-fraction histogram: 50 bins of width 0.02 over [0, 1]
MAX_Q = 60  # mean-quality histogram: bins of width 1 over [0, 60], last bin open-ended

SUMMARY_COLUMNS = [
    "sample",
    "mate",
    "file",
    "reads",
    "bases",
    "mean_length",
    "min_length",
    "max_length",
    "gc_fraction",
    "n_fraction",
    "mean_quality",
    "low_quality_fraction",
    "quality_threshold",
    "backend",
]


@dataclass
class FileStats:
    """Running totals for one FASTQ file."""

    reads: int = 0
    bases: int = 0
    base_counts: np.ndarray = field(default_factory=lambda: np.zeros(5, np.int64))
    quality_sum: int = 0
    low_quality: int = 0
    min_length: int | None = None
    max_length: int = 0
    gc_hist: np.ndarray = field(default_factory=lambda: np.zeros(GC_BINS, np.int64))
    no_acgt_reads: int = 0
    quality_hist: np.ndarray = field(default_factory=lambda: np.zeros(MAX_Q + 1, np.int64))

    def add(self, stats) -> None:  # noqa: ANN001 (biometal.kernels.ReadStats)
        lengths = stats.lengths
        if lengths.size == 0:
            return
        self.reads += int(lengths.size)
        self.bases += int(lengths.sum())
        self.base_counts += stats.counts.sum(axis=0, dtype=np.int64)
        self.quality_sum += int(stats.quality_sum.sum(dtype=np.uint64))
        self.low_quality += int(stats.n_low_quality.sum(dtype=np.int64))
        lo, hi = int(lengths.min()), int(lengths.max())
        self.min_length = lo if self.min_length is None else min(self.min_length, lo)
        self.max_length = max(self.max_length, hi)
        has_acgt = stats.counts[:, :4].sum(axis=1) > 0
        self.no_acgt_reads += int((~has_acgt).sum())
        gc_bin = np.minimum((stats.gc_fraction[has_acgt] * GC_BINS).astype(np.int64), GC_BINS - 1)
        self.gc_hist += np.bincount(gc_bin, minlength=GC_BINS)
        nonempty = lengths > 0
        q_bin = np.minimum(stats.mean_quality[nonempty].astype(np.int64), MAX_Q)
        self.quality_hist += np.bincount(q_bin, minlength=MAX_Q + 1)

    def summary(self) -> dict:
        acgt = int(self.base_counts[:4].sum())
        gc = int(self.base_counts[1] + self.base_counts[2])
        return {
            "reads": self.reads,
            "bases": self.bases,
            "mean_length": self.bases / self.reads if self.reads else 0.0,
            "min_length": self.min_length or 0,
            "max_length": self.max_length,
            "gc_fraction": gc / acgt if acgt else 0.0,
            "n_fraction": int(self.base_counts[4]) / self.bases if self.bases else 0.0,
            "mean_quality": self.quality_sum / self.bases if self.bases else 0.0,
            "low_quality_fraction": self.low_quality / self.bases if self.bases else 0.0,
        }


def fastq_stats(
    path: str | os.PathLike,
    *,
    quality_threshold: int = 20,
    chunk_reads: int = 65536,
    backend: str | None = None,
) -> FileStats:
    """Stream one FASTQ (plain, gz, URL or ``-``) through the read_stats kernel."""
    totals = FileStats()
    for i, chunk in enumerate(read_fastq_chunks(path, chunk_reads=chunk_reads)):
        totals.add(
            read_stats(chunk.codes, chunk.qual, chunk.offsets, quality_threshold, backend=backend)
        )
        if (i + 1) % 20 == 0:
            log.info("%s: %d reads", display_name(path), totals.reads)
    log.info("%s: %d reads, %d bases", display_name(path), totals.reads, totals.bases)
    return totals


def sample_qc(
    sample: str,
    fastqs: Sequence[str | os.PathLike],
    summary_out: str | os.PathLike,
    hist_out: str | os.PathLike | None,
    *,
    quality_threshold: int = 20,
    chunk_reads: int = 65536,
    backend: str | None = None,
    threads: int | None = None,
) -> pd.DataFrame:
    """QC of one sample's FASTQ files (R1[, R2]); writes the summary and histogram TSVs.

    ``summary_out``: one row per file with :data:`SUMMARY_COLUMNS` (``-``: standard output).
    ``hist_out`` (None: not written): long table ``sample, mate, metric, bin_left,
    bin_right, reads`` for ``metric`` in {``gc_fraction``, ``mean_quality``}; reads without
    A/C/G/T are left out of the GC histogram, empty reads out of the quality histogram.
    ``threads``: numba threads of the cpu kernel (None: unchanged). Both tables are written
    only when every file was read.
    """
    used = resolve_backend(backend)
    rows, hists = [], []
    for mate_index, path in enumerate(fastqs, start=1):
        mate = f"R{mate_index}"
        with numba_threads(threads if used == "cpu" else None):
            stats = fastq_stats(
                path, quality_threshold=quality_threshold, chunk_reads=chunk_reads, backend=used
            )
        rows.append(
            {
                "sample": sample,
                "mate": mate,
                "file": display_name(path),
                **stats.summary(),
                "quality_threshold": quality_threshold,
                "backend": used,
            }
        )
        edges = np.linspace(0.0, 1.0, GC_BINS + 1)
        for j, n in enumerate(stats.gc_hist):
            hists.append((sample, mate, "gc_fraction", edges[j], edges[j + 1], int(n)))
        for q, n in enumerate(stats.quality_hist):
            hists.append((sample, mate, "mean_quality", float(q), float(q + 1), int(n)))
    summary = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    hist = pd.DataFrame(
        hists, columns=["sample", "mate", "metric", "bin_left", "bin_right", "reads"]
    )
    if hist_out is not None:
        with atomic_path(hist_out) as tmp:
            hist.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
    write_text_output(summary_out, summary.to_csv(sep="\t", index=False, float_format="%.6g"))
    return summary


def plot_qc(hist_paths: Sequence[str | os.PathLike], png_out: str | os.PathLike) -> None:
    """Figure: per-sample read GC-fraction and mean-quality distributions (R1 and R2)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    hist = pd.concat([pd.read_csv(p, sep="\t") for p in hist_paths], ignore_index=True)
    samples = sorted(hist["sample"].unique())
    cmap = plt.get_cmap("tab10" if len(samples) <= 10 else "tab20")
    colour = {s: cmap(i % cmap.N) for i, s in enumerate(samples)}
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    for ax, metric, xlabel in (
        (axes[0], "gc_fraction", "read GC fraction"),
        (axes[1], "mean_quality", "read mean Phred quality"),
    ):
        sub = hist[hist.metric == metric]
        for (sample, mate), grp in sub.groupby(["sample", "mate"], sort=True):
            total = grp.reads.sum()
            if total == 0:
                continue
            centres = (grp.bin_left + grp.bin_right) / 2
            ax.plot(
                centres,
                grp.reads / total,
                label=f"{sample} {mate}",
                color=colour[sample],
                linestyle="-" if mate == "R1" else "--",
                linewidth=1.2,
            )
        nonzero = sub[sub.reads > 0]
        if len(nonzero):
            pad = 2 * (sub.bin_right - sub.bin_left).max()
            ax.set_xlim(max(0.0, nonzero.bin_left.min() - pad), nonzero.bin_right.max() + pad)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("fraction of reads")
    axes[1].legend(fontsize=7, ncol=2, frameon=False)
    fig.suptitle("Read QC (read_stats kernel)")
    with atomic_path(png_out) as tmp:
        fig.savefig(tmp, dpi=150, format="png")
    plt.close(fig)
