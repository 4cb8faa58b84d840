"""Tokens/s of the DNABERT encoder by batch size: ONNX Runtime (CPU provider) vs torch (CPU),
measured in one run on the same token batches.

Model: the case study's encoder (``--model results/dnabert/models/standard.pt``) or, when
absent, a randomly initialised encoder of the default case-study size (k = 6, 64 tokens,
hidden 64, 2 layers, 4 heads, ff 256: speed does not depend on the weights). Exported with
:func:`biometal.ml.dnabert.export.export_onnx` and run through
:class:`~biometal.ml.dnabert.export.DnaBertOnnxBackend` (the seed filter's backend
interface); torch runs the model's own ``forward`` under ``no_grad``. Both on ``--threads``
threads (default 1). Each repeat runs ``--tokens`` tokens (full-length reads, no padding) per
engine and batch size; engines alternate, the first one rotating every repeat. The measure is
CPU time (``time.process_time``: the machine is shared) -> tokens per CPU second; wall-time
tokens/s beside. Median and min-max over ``--repeats``; ratio = median ONNX / median torch.

    .venv/bin/python bench/dnabert_export.py --out results/bench/dnabert_export.tsv
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from biometal._threads import set_torch_threads
from biometal.ml.dnabert import export as ex
from biometal.ml.dnabert.model import BertConfig, BertMLM


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="results/dnabert/models/standard.pt")
    ap.add_argument("--batch-sizes", default="1,8,32,128,512")
    ap.add_argument("--tokens", type=int, default=65536)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default="results/bench/dnabert_export.tsv")
    a = ap.parse_args()
    set_torch_threads(a.threads)
    if Path(a.model).is_file():
        from biometal.ml.dnabert.train import load_model

        model, _ = load_model(a.model)
        source = a.model
    else:
        torch.manual_seed(0)
        model = BertMLM(BertConfig(5 + 4**6, 64, 64, 2, 4, 256, 0.1, 0)).eval()
        source = "random encoder, default case-study size"
    cfg = model.config
    sizes = [int(b) for b in a.batch_sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        onnx = Path(tmp) / "encoder.onnx"
        ex.export_onnx(model, onnx)
        diff = ex.check_onnx(model, onnx, (1, 8))
        backend = ex.DnaBertOnnxBackend(
            onnx, ("CPUExecutionProvider",), batch_sizes=sizes, threads=a.threads
        )
        rng = np.random.default_rng(0)

        def run_onnx(ids):
            return backend.predict(ids, batch_size=len(ids))

        @torch.no_grad()
        def run_torch(ids):
            t = torch.from_numpy(ids.astype(np.int64))
            return model(t, torch.ones_like(t)).numpy()

        engines = {"onnxruntime": run_onnx, "torch": run_torch}
        rows = []
        for b in sizes:
            n_batches = max(1, a.tokens // (b * cfg.max_length))
            batches = [
                rng.integers(5, cfg.vocab_size, (b, cfg.max_length)).astype(np.int32)
                for _ in range(n_batches)
            ]
            for fn in engines.values():  # warm-up
                fn(batches[0])
            names = list(engines)
            for r in range(a.repeats):
                order = names[r % 2 :] + names[: r % 2]
                for name in order:
                    c0, w0 = time.process_time(), time.perf_counter()
                    for ids in batches:
                        engines[name](ids)
                    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
                    tokens = n_batches * b * cfg.max_length
                    rows.append([name, b, r, tokens, cpu, wall, tokens / cpu, tokens / wall])
    raw = pd.DataFrame(
        rows,
        columns=["engine", "batch", "repeat", "tokens", "cpu_s", "wall_s", "tok_per_cpu_s",
                 "tok_per_wall_s"],
    )  # fmt: skip
    g = raw.groupby(["engine", "batch"])["tok_per_cpu_s"]
    summary = pd.DataFrame(
        {
            "median_tok_per_cpu_s": g.median(),
            "min": g.min(),
            "max": g.max(),
            "median_tok_per_wall_s": raw.groupby(["engine", "batch"])["tok_per_wall_s"].median(),
        }
    ).reset_index()
    onnx_med = summary[summary.engine == "onnxruntime"].set_index("batch")["median_tok_per_cpu_s"]
    torch_med = summary[summary.engine == "torch"].set_index("batch")["median_tok_per_cpu_s"]
    summary["onnx_over_torch"] = summary["batch"].map(onnx_med / torch_med)
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    summary.to_csv(out, sep="\t", index=False, float_format="%.6g")
    raw.to_csv(out.with_suffix(".raw.tsv"), sep="\t", index=False, float_format="%.6g")
    print(f"model: {source}; L={cfg.max_length}, hidden {cfg.hidden}, {cfg.layers} layers; "
          f"threads {a.threads}; ONNX vs torch max |diff| {max(diff.values()):.2g}")  # fmt: skip
    print(summary.to_string(index=False))


if __name__ == "__main__":
    main()
