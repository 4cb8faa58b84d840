"""Cost per million bases of per-base quality models, by batch size, measured in one run.

Methods (same held-out reads, ``bench/readqc_calibration.py``'s test FASTQ, R1):

- ``neural_onnx``: the base-quality model (:class:`~biometal.ml.readqc.predictor.
  NeuralQualityPredictor`, ONNX Runtime CPU provider) on 1 thread and on all threads: the
  packing of the features, the session run (one fixed batch of ``B`` bases) and the
  float64 sigmoid;
- ``bqsr_table``: the BQSR table lookup (:meth:`biometal.readqc.bqsr.BqsrTable.
  error_probability`, numpy gathers) on the same features;
- ``features``: the per-base covariates both need (:func:`biometal.readqc.covariates.
  chunk_features`, numba), reported apart;
- ``meanq_filter``: a read-level mean-quality filter (``mean Q >= 20``) with the numba
  ``read_stats`` kernel (:func:`biometal.kernels.read_stats`, CPU backend), what the
  plan's NEON filter does; it needs no per-base features.

Every method processes the same ``--bases`` bases in batches of ``B`` bases (whole reads for
the read-level filter); repeats are interleaved (method order rotates each repeat). CPU
time (``time.process_time``: all threads of this process) is the measure, because the
machine is shared; wall time is reported too. Median and min-max over repeats; ratios are
of medians against ``bqsr_table`` and ``meanq_filter`` at the same batch size.

    .venv/bin/python bench/readqc_cost.py --out results/bench/readqc_cost.tsv
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from biometal.kernels import read_stats  # noqa: E402
from readqc_calibration import calibration_data  # noqa: E402

from biometal._threads import numba_threads, pool_size  # noqa: E402
from biometal.io.fastx import read_fastq_chunks  # noqa: E402
from biometal.ml.readqc.predictor import NeuralQualityPredictor  # noqa: E402
from biometal.readqc.bqsr import BqsrTable  # noqa: E402
from biometal.readqc.covariates import chunk_features  # noqa: E402


def _reads(path: Path, n_bases: int):
    for chunk in read_fastq_chunks(path, 200_000):
        k = int(np.searchsorted(chunk.offsets, n_bases, side="right")) - 1
        off = chunk.offsets[: k + 1]
        return chunk.codes[: off[-1]], chunk.qual[: off[-1]], off
    raise SystemExit(f"{path}: no reads")


def _slices(offsets: np.ndarray, batch: int) -> list[tuple[int, int]]:
    """Read-aligned (start, end) base ranges of about ``batch`` bases (>= 1 read)."""
    out, r = [], 0
    n_reads = len(offsets) - 1
    while r < n_reads:
        e = int(np.searchsorted(offsets, offsets[r] + batch, side="right")) - 1
        e = max(e, r + 1)
        out.append((r, e))
        r = e
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workdir", default="results/bench/readqc_calibration")
    ap.add_argument("--model", default="models/readqc_quality.onnx")
    ap.add_argument("--bases", type=int, default=1_000_000)
    ap.add_argument("--batch-sizes", default="1024,8192,65536,262144")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument(
        "--extra-model",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="another .onnx of the same input/output to time as method NAME (1 thread)",
    )
    ap.add_argument("--out", default=None)
    a = ap.parse_args(argv)
    data = calibration_data(a.workdir)
    table = BqsrTable.fit(
        data["train_features"].take(slice(0, 2_000_000)), data["train_error"][:2_000_000]
    )
    codes, qual, offsets = _reads(Path(data["workdir"]) / "test_R1.fq.gz", a.bases)
    feats = chunk_features(codes, qual, offsets, 0)
    n = int(offsets[-1])
    sizes = [int(b) for b in a.batch_sizes.split(",")]
    all_threads = pool_size()
    preds = {
        (t, b): NeuralQualityPredictor(a.model, backend="onnx", threads=t, batch_sizes=(b,))
        for t in (1, all_threads)
        for b in sizes
    }
    extra = dict(e.split("=", 1) for e in a.extra_model)
    for name, path in extra.items():
        for b in sizes:
            preds[(name, b)] = NeuralQualityPredictor(
                path, backend="onnx", threads=1, batch_sizes=(b,)
            )
    for p in preds.values():
        p.backend.warmup(1)
    read_stats(codes[:1000], qual[:1000], offsets[:2], backend="cpu")  # compile

    def run(method: str, threads: int, b: int) -> None:
        for r0, r1 in _slices(offsets, b):
            s, e = int(offsets[r0]), int(offsets[r1])
            if method == "neural_onnx" or method in extra:
                key = (threads if method == "neural_onnx" else method, b)
                preds[key].error_probability(feats.take(slice(s, e)), batch_size=e - s)
            elif method == "bqsr_table":
                table.error_probability(feats.take(slice(s, e)))
            elif method == "features":
                chunk_features(codes[s:e], qual[s:e], offsets[r0 : r1 + 1] - s, 0)
            else:
                st = read_stats(codes[s:e], qual[s:e], offsets[r0 : r1 + 1] - s, backend="cpu")
                _ = st.mean_quality >= 20

    jobs = [("neural_onnx", t, b) for t in (1, all_threads) for b in sizes]
    jobs += [(name, 1, b) for name in extra for b in sizes]
    jobs += [(m, 1, b) for m in ("bqsr_table", "features", "meanq_filter") for b in sizes]
    rows = []
    for rep in range(a.repeats):
        k = rep % len(jobs)
        for method, threads, b in jobs[k:] + jobs[:k]:
            with numba_threads(threads):
                c0, w0 = time.process_time(), time.perf_counter()
                run(method, threads, b)
                c1, w1 = time.process_time(), time.perf_counter()
            rows.append(
                {
                    "method": method,
                    "threads": threads,
                    "batch_bases": b,
                    "repeat": rep,
                    "cpu_s_per_mbase": (c1 - c0) / n * 1e6,
                    "wall_s_per_mbase": (w1 - w0) / n * 1e6,
                }
            )
    raw = pd.DataFrame(rows)
    g = raw.groupby(["method", "threads", "batch_bases"], sort=False)
    df = g["cpu_s_per_mbase"].agg(["median", "min", "max"]).add_prefix("cpu_")
    df["wall_median"] = g["wall_s_per_mbase"].median()
    df = df.reset_index()
    for peer in ("bqsr_table", "meanq_filter"):
        ref = df[df.method == peer].set_index("batch_bases")["cpu_median"]
        df[f"x_{peer}"] = (df["cpu_median"] / df["batch_bases"].map(ref)).round(1)
    print(f"# {n} bases, {a.repeats} interleaved repeats, CPU s per Mbase (process_time)")
    print(df.round(5).to_csv(sep="\t", index=False), end="")
    if a.out:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        df.to_csv(a.out, sep="\t", index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
