"""What the seed filter saves, measured on this machine (no assumed costs).

On the seeds of the windows file (every occurrence, all splits, so that timings cover
enough seeds) this times, in interleaved repeats with the same thread count for every
method:

- ``prepare``: windows and extension inputs of every occurrence (needed with or without a
  filter: the windows feed the models, the flanks feed the features);
- ``extend``: the extension of every occurrence (:func:`windows.extend`, banded
  ``align_batch`` in extension mode, both sides): the work a filter could avoid;
- per model (CNN through ONNX Runtime and torch, the gradient-boosted and logistic models
  on seed features): one-hot or feature building + inference of every seed, then the
  extension of the seeds it keeps.

The extension stage with a filter is ``infer(all) + extend(kept)``, without it
``extend(all)`` (``prepare`` is common to both and reported apart). Accuracy comes from
the held-out test split only, at the thresholds chosen on validation: seeds removed,
viable seeds lost, and reads whose every viable seed was removed (the read loses its
correct alignment). Latency by batch size is timed for each backend at the fixed batch
sizes. Core ML cannot run here (Linux) and is listed as unavailable.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from biometal._threads import numba_threads, torch_threads
from biometal.align.smem import FMIndex
from biometal.io.atomic import atomic_path
from biometal.ml.seedfilter.backends import (
    CoreMLBackend,
    OnnxRuntimeBackend,
    TorchBackend,
)
from biometal.ml.seedfilter.train import split_by_pair
from biometal.ml.seedfilter.windows import (
    WindowParams,
    extend,
    load_windows,
    one_hot,
    prepare,
    run_features,
)
from biometal.stats import summarize

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CostParams:
    """Timing settings (config ``seedfilter.cost``)."""

    repeats: int = 5
    threads: int = 1
    batch_sizes: tuple[int, ...] = (512, 1024, 2048)
    providers: tuple[str, ...] = (
        "CoreMLExecutionProvider",
        "CUDAExecutionProvider",
        "CPUExecutionProvider",
    )


def _params_from(ws) -> WindowParams:
    p = ws["params"]
    return WindowParams(
        min_seed_len=int(p[0]),
        max_occ=int(p[1]),
        flank=int(p[2]),
        max_seed=int(p[3]),
        width=int(p[4]),
        band=int(p[5]),
        min_score=int(p[6]),
        locus_tolerance=int(p[7]),
    )


def _time(fn: Callable[[], object]) -> tuple[float, object]:
    t0 = time.perf_counter()
    res = fn()
    return time.perf_counter() - t0, res


def measure_cost(
    index_path: str | os.PathLike,
    windows_path: str | os.PathLike,
    cnn_pt: str | os.PathLike,
    cnn_onnx: str | os.PathLike,
    cnn_metrics: str | os.PathLike,
    feature_models_path: str | os.PathLike,
    split: tuple[float, float, float],
    seed: int,
    table_out: str | os.PathLike,
    latency_out: str | os.PathLike,
    summary_out: str | os.PathLike,
    params: CostParams | None = None,
) -> pd.DataFrame:
    """Time the extension stage with and without each filter; write the cost table (TSV),
    the latency table (TSV) and a JSON summary (the plain answer: does filtering save time
    here, and by how much)."""
    params = params or CostParams()
    with numba_threads(params.threads), torch_threads(params.threads):
        return _measure_cost(
            index_path,
            windows_path,
            cnn_pt,
            cnn_onnx,
            cnn_metrics,
            feature_models_path,
            split,
            seed,
            table_out,
            latency_out,
            summary_out,
            params,
        )


def _measure_cost(
    index_path: str | os.PathLike,
    windows_path: str | os.PathLike,
    cnn_pt: str | os.PathLike,
    cnn_onnx: str | os.PathLike,
    cnn_metrics: str | os.PathLike,
    feature_models_path: str | os.PathLike,
    split: tuple[float, float, float],
    seed: int,
    table_out: str | os.PathLike,
    latency_out: str | os.PathLike,
    summary_out: str | os.PathLike,
    params: CostParams,
) -> pd.DataFrame:
    import joblib

    index = FMIndex.load(index_path)
    ws = load_windows(windows_path)
    wp = _params_from(ws)
    n = len(ws)
    n_pairs = int(np.unique(ws["pair"]).shape[0])
    occ = {k: ws[k] for k in ("read", "qstart", "qend", "contig", "pos", "reverse")}
    codes, offsets = ws["read_codes"], ws["read_offsets"]
    thr_cnn = json.loads(open(cnn_metrics).read())["test"]["threshold"]
    fm = joblib.load(feature_models_path)
    ort_b = OnnxRuntimeBackend(cnn_onnx, params.providers, params.batch_sizes, params.threads)
    torch_b = TorchBackend(cnn_pt, params.batch_sizes, params.threads)
    seed_len = ws["seed_len"]

    def feats(inp) -> np.ndarray:
        return run_features(ws, inp)

    models: dict[str, Callable] = {
        "cnn_onnxruntime": lambda inp: ort_b.predict(one_hot(inp.qwin, inp.rwin)) >= thr_cnn,
        "cnn_torch": lambda inp: torch_b.predict(one_hot(inp.qwin, inp.rwin)) >= thr_cnn,
    }
    for name, m in fm.items():
        models[name] = lambda inp, m=m: (
            m["estimator"].predict_proba(feats(inp))[:, 1] >= m["threshold"]
        )

    # warm-up: compile numba, load sessions
    inp = prepare(index, codes, offsets, occ, wp)
    extend(inp, seed_len, wp, threads=params.threads)
    ort_b.warmup(1, wp.width)
    torch_b.warmup(1, wp.width)
    keep_masks = {k: f(inp) for k, f in models.items()}

    times: dict[str, list[float]] = {"prepare": [], "extend_all": []}
    for k in models:
        times[f"{k}:infer"] = []
        times[f"{k}:extend_kept"] = []
    for _ in range(params.repeats):
        t, inp = _time(lambda: prepare(index, codes, offsets, occ, wp))
        times["prepare"].append(t)
        t, _ = _time(lambda inp=inp: extend(inp, seed_len, wp, threads=params.threads))
        times["extend_all"].append(t)
        for k, f in models.items():
            t, keep = _time(lambda f=f, inp=inp: f(inp))
            times[f"{k}:infer"].append(t)
            sub = _subset(inp, keep)
            t, _ = _time(lambda sub=sub, keep=keep: extend(sub, seed_len[keep], wp, params.threads))
            times[f"{k}:extend_kept"].append(t)

    # accuracy on the test split
    part = split_by_pair(ws["pair"], split, seed)
    te = part == 2
    y = ws["label"].astype(bool)
    reads_te = ws["read"][te]
    viable_reads = np.unique(ws["read"][te & y])
    ext = np.asarray(times["extend_all"])
    rows = [
        {
            "method": "no filter",
            "seeds": n,
            "read_pairs": n_pairs,
            "infer_us_per_seed": 0.0,
            "extend_us_per_seed": float(np.median(ext)) / n * 1e6,
            "stage_s_median": float(np.median(ext)),
            "stage_s_ci_low": summarize(ext).ci_low,
            "stage_s_ci_high": summarize(ext).ci_high,
            "stage_ms_per_read_pair": float(np.median(ext)) / n_pairs * 1e3,
            "seeds_removed": 0.0,
            "test_tpr": 1.0,
            "test_fpr": 1.0,
            "viable_seeds_lost": 0.0,
            "reads_lost": 0.0,
            "speedup": 1.0,
            "saves_time": False,
        }
    ]
    for k in models:
        inf = np.asarray(times[f"{k}:infer"])
        ek = np.asarray(times[f"{k}:extend_kept"])
        stage = inf + ek
        keep = keep_masks[k]
        kept_viable_reads = np.unique(ws["read"][te & y & keep])
        s = summarize(stage)
        rows.append(
            {
                "method": k,
                "seeds": n,
                "read_pairs": n_pairs,
                "infer_us_per_seed": float(np.median(inf)) / n * 1e6,
                "extend_us_per_seed": float(np.median(ek)) / max(int(keep.sum()), 1) * 1e6,
                "stage_s_median": s.median,
                "stage_s_ci_low": s.ci_low,
                "stage_s_ci_high": s.ci_high,
                "stage_ms_per_read_pair": s.median / n_pairs * 1e3,
                "seeds_removed": float(1 - keep.mean()),
                "test_tpr": float(keep[te & y].mean()),
                "test_fpr": float(keep[te & ~y].mean()) if (te & ~y).any() else float("nan"),
                "viable_seeds_lost": float(1 - keep[te & y].mean()),
                "reads_lost": float(1 - len(kept_viable_reads) / max(len(viable_reads), 1)),
                "speedup": float(np.median(ext / stage)),
                "saves_time": bool(np.median(ext / stage) > 1.0),
            }
        )
    table = pd.DataFrame(rows)
    table["prepare_s_median"] = float(np.median(times["prepare"]))
    with atomic_path(table_out) as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format="%.6g")

    lat = latency_table(ort_b, torch_b, cnn_onnx, fm, ws, params, inp, feats)
    with atomic_path(latency_out) as tmp:
        lat.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
    best = table.iloc[1:].sort_values("speedup", ascending=False).iloc[0]
    cnn = table[table.method == "cnn_onnxruntime"].iloc[0]
    summary = {
        "seeds": n,
        "read_pairs": n_pairs,
        "reads_in_test": int(np.unique(reads_te).shape[0]),
        "threads": params.threads,
        "extend_us_per_seed": rows[0]["extend_us_per_seed"],
        "extension_ms_per_read_pair": rows[0]["stage_ms_per_read_pair"],
        "design_assumed_ms_per_read_pair": 40.0,
        "cnn_onnx_infer_us_per_seed": float(cnn.infer_us_per_seed),
        "cnn_saves_time": bool(cnn.saves_time),
        "cnn_speedup": float(cnn.speedup),
        "best_method": str(best.method),
        "best_speedup": float(best.speedup),
        "best_saves_time": bool(best.saves_time),
        "best_reads_lost": float(best.reads_lost),
        "verdict": _verdict(table),
    }
    with atomic_path(summary_out) as tmp:
        tmp.write_text(json.dumps(summary, indent=2) + "\n")
    log.info("cost: %s", summary)
    return table


def _verdict(table: pd.DataFrame) -> str:
    base = table.iloc[0]
    parts = [
        f"extension costs {base.extend_us_per_seed:.2f} us per seed "
        f"({base.stage_ms_per_read_pair:.3f} ms per read pair, not the assumed 40 ms)"
    ]
    for r in table.iloc[1:].itertuples():
        what = "saves" if r.saves_time else "does not save"
        parts.append(
            f"{r.method} {what} time ({r.infer_us_per_seed:.2f} us/seed to infer, "
            f"stage x{r.speedup:.2f}, {100 * r.seeds_removed:.1f}% seeds removed, "
            f"{100 * r.reads_lost:.2f}% test reads lose their correct alignment)"
        )
    return "; ".join(parts)


def _subset(inp, keep: np.ndarray):
    """Extension inputs of the kept occurrences only."""
    from biometal.align import SequenceBatch
    from biometal.ml.seedfilter.windows import ExtensionInputs

    idx = np.flatnonzero(keep)

    def take(sb: SequenceBatch) -> SequenceBatch:
        lens = np.diff(sb.offsets)[idx]
        off = np.zeros(len(idx) + 1, np.int64)
        np.cumsum(lens, out=off[1:])
        starts = sb.offsets[idx]
        gather = np.repeat(starts - off[:-1], lens) + np.arange(off[-1])
        return SequenceBatch(sb.codes[gather], off)

    return ExtensionInputs(
        inp.qwin[idx],
        inp.rwin[idx],
        inp.flank_mm[idx],
        take(inp.left_q),
        take(inp.left_t),
        take(inp.right_q),
        take(inp.right_t),
    )


def latency_table(ort_b, torch_b, cnn_onnx, fm, ws, params: CostParams, inp, feats) -> pd.DataFrame:
    """Seconds per batch (median of repeats) by backend and fixed batch size."""
    rows = []
    x_all = one_hot(inp.qwin, inp.rwin)
    f_all = feats(inp)
    n = x_all.shape[0]
    rng = np.random.default_rng(0)
    for b in params.batch_sizes:
        idx = rng.integers(0, n, b)
        xb, fb = x_all[idx], f_all[idx]
        runs: dict[str, Callable] = {
            f"onnxruntime ({ort_b.provider})": lambda xb=xb: ort_b._run(xb),
            "torch (cpu)": lambda xb=xb: torch_b._run(xb),
        }
        for name, m in fm.items():
            runs[f"{name} (sklearn)"] = lambda fb=fb, m=m: m["estimator"].predict_proba(fb)
        for name, fn in runs.items():
            fn()
            ts = [_time(fn)[0] for _ in range(max(params.repeats, 3))]
            s = summarize(ts)
            rows.append(
                {
                    "backend": name,
                    "batch_size": b,
                    "available": True,
                    "batch_s_median": s.median,
                    "batch_s_ci_low": s.ci_low,
                    "batch_s_ci_high": s.ci_high,
                    "us_per_seed": s.median / b * 1e6,
                }
            )
        if not CoreMLBackend.available():
            rows.append(
                {
                    "backend": "coreml (mlpackage)",
                    "batch_size": b,
                    "available": False,
                    "batch_s_median": float("nan"),
                    "batch_s_ci_low": float("nan"),
                    "batch_s_ci_high": float("nan"),
                    "us_per_seed": float("nan"),
                }
            )
    return pd.DataFrame(rows)
