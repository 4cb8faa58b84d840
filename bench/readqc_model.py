"""The neural base-quality model against the reported qualities and the BQSR table, on the
data of ``bench/readqc_calibration.py`` (its :func:`calibration_data`: simulated reads
with realistic errors; training = aligned bases of one read set, mismatches at non-variant
sites; held-out = another read set scored against the simulator's TRUE errors).

The model (:mod:`biometal.ml.readqc`) and the BQSR table are trained on the same aligned
bases (the first ``--train-bases``); the table is also fitted on all of them
(``bqsr_all``). The model is scored through its exported ONNX file and
:class:`~biometal.ml.readqc.predictor.NeuralQualityPredictor` (what users run), and the
torch model's scores are checked to agree. ``--ship models`` also writes the shipped
files and the model card.

    .venv/bin/python bench/readqc_model.py --out results/bench/readqc_model.tsv --ship models
    .venv/bin/python bench/readqc_cost.py --out results/bench/readqc_cost.tsv   # needs models/
    .venv/bin/python bench/readqc_model.py --reuse --cost results/bench/readqc_cost.tsv \
        --out results/bench/readqc_model.tsv --ship models      # the card with the cost table
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from readqc_calibration import calibration_data, score  # noqa: E402

from biometal.ml.readqc.export import export_onnx  # noqa: E402
from biometal.ml.readqc.model import error_from_logit, n_parameters, pack_features  # noqa: E402
from biometal.ml.readqc.predictor import NeuralQualityPredictor  # noqa: E402
from biometal.ml.readqc.train import (  # noqa: E402
    TrainParams,
    load_model,
    predict_logits,
    save_model,
    train_from_features,
)
from biometal.readqc.bqsr import BqsrTable  # noqa: E402

COMMAND = (
    ".venv/bin/python bench/readqc_model.py --out results/bench/readqc_model.tsv --ship models"
    "\n    .venv/bin/python bench/readqc_cost.py --out results/bench/readqc_cost.tsv"
    "\n    .venv/bin/python bench/readqc_model.py --reuse --cost results/bench/readqc_cost.tsv "
    "--out results/bench/readqc_model.tsv --ship models"
)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workdir", default="results/bench/readqc_calibration")
    ap.add_argument("--outdir", default="results/bench/readqc_model")
    ap.add_argument("--seed", type=int, default=13, help="data seed (calibration_data)")
    ap.add_argument("--train-bases", type=int, default=8_000_000)
    ap.add_argument("--epochs", type=int, default=25)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--model-seed", type=int, default=42)
    ap.add_argument("--out", default=None, help="TSV of the scores (default: stdout only)")
    ap.add_argument("--ship", default=None, help="models folder to write the shipped files to")
    ap.add_argument("--reuse", action="store_true", help="score/ship the model already in --outdir")
    ap.add_argument("--cost", default=None, help="bench/readqc_cost.py TSV for the card")
    a = ap.parse_args(argv)
    data = calibration_data(a.workdir, seed=a.seed)
    ftr, etr = data["train_features"], data["train_error"]
    fte, ete, pte = data["test_features"], data["test_error"], data["test_p_true"]
    n = min(a.train_bases, len(etr))
    fsub, esub = ftr.take(slice(0, n)), etr[:n]
    out = Path(a.outdir)
    out.mkdir(parents=True, exist_ok=True)
    if a.reuse:  # the model and training summary of an earlier run in --outdir
        model, _ = load_model(out / "readqc_quality.pt")
        summary = json.loads((out / "summary.json").read_text())
        n = int(summary["bases_train"] + summary["bases_val"])
        fsub, esub = ftr.take(slice(0, n)), etr[:n]
    else:
        params = TrainParams(epochs=a.epochs, threads=a.threads, seed=a.model_seed)
        t0 = time.process_time()
        model, hist, summary = train_from_features(fsub, esub, params)
        summary["train_cpu_seconds"] = time.process_time() - t0
        save_model(model, out / "readqc_quality.pt")
        hist.to_csv(out / "history.tsv", sep="\t", index=False)
    export_onnx(model, out / "readqc_quality.onnx")

    pred = NeuralQualityPredictor(out / "readqc_quality.onnx", threads=a.threads)
    t1 = time.process_time()
    p_nn = pred.error_probability(fte)
    infer_s = time.process_time() - t1
    p_torch = error_from_logit(predict_logits(model, pack_features(fte)))
    rel = float(np.max(np.abs(p_nn - p_torch) / p_torch))
    table = BqsrTable.fit(fsub, esub)
    table_all = BqsrTable.fit(ftr, etr)
    reported = 10.0 ** (-fte.quality.astype(np.float64) / 10.0)
    rows = [
        score("reported", reported, ete, pte, train_bases=0),
        score("bqsr", table.error_probability(fte), ete, pte, train_bases=n),
        score("bqsr_all", table_all.error_probability(fte), ete, pte, train_bases=len(etr)),
        score("neural_onnx", p_nn, ete, pte, train_bases=n),
        score("true_p", pte, ete, pte, train_bases=0),
    ]
    df = pd.DataFrame(rows)
    print(df.to_csv(sep="\t", index=False), end="")
    summary.update(
        parameters=n_parameters(model),
        onnx_vs_torch_max_rel_diff=rel,
        inference_cpu_seconds=infer_s,
        test_bases=int(ete.size),
    )
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    print(
        f"# {n_parameters(model)} parameters; training {summary['train_cpu_seconds']:.0f} CPU s "
        f"({summary['epochs_run']} epochs, best {summary['best_epoch']}, "
        f"T={summary['temperature']:.3f}); held-out inference {infer_s:.1f} CPU s "
        f"({infer_s / ete.size * 1e9:.0f} ns/base, ONNX Runtime {a.threads} thread); "
        f"ONNX vs torch max relative difference {rel:.1e}",
        file=sys.stderr,
    )
    if a.out:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        df.to_csv(a.out, sep="\t", index=False)
    if a.ship:
        from biometal.ml.readqc.ship import ship_quality_model

        desc = (
            "Simulated (seeded) by `bench/readqc_calibration.py` (`calibration_data`, seed "
            f"{a.seed}): 150 bp read pairs of a 1 Mb simulated genome sequenced with its "
            "realistic error model (qualities binned to 2/12/23/37, 8x errors after GGC, 5x "
            "at homopolymer ends, errors rising 3x along the read, two bad cycles). Training "
            f"labels: the first {n:,} aligned bases (mappy sr) of one read set, error = "
            "mismatch to the reference at a site that is not a truth variant (what an "
            "aligner sees; the simulator's truth is not used for training). Held-out: "
            f"{ete.size:,} bases of another read set, scored against the simulator's truth. "
            "`bqsr` is the joint recalibration table (biometal.readqc.bqsr) fitted on the same "
            f"bases; `bqsr_all` on all {len(etr):,} aligned bases."
        )
        cost = pd.read_csv(a.cost, sep="\t") if a.cost else None
        rep = ship_quality_model(model, summary, df, a.ship, desc, COMMAND, cost)
        print(f"# shipped to {a.ship}: {rep['total_bytes']} bytes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
