"""Export the trained base-quality model into ``models/`` with its model card.

:func:`ship_quality_model` writes ``readqc_quality.onnx``, ``readqc_quality.mlpackage``
(float16), ``readqc_quality_int8.mlpackage`` and ``readqc_quality.md`` (data, architecture,
training, held-out metrics, export checks, the command that regenerates them). Nothing is
written when the three models would take more than :data:`MAX_TOTAL_BYTES`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from biometal.errors import BiometalError
from biometal.io.atomic import atomic_path
from biometal.ml.readqc.export import export_all
from biometal.ml.readqc.model import n_parameters

MAX_TOTAL_BYTES = 512 * 1024
NAMES = {
    "onnx": "readqc_quality.onnx",
    "mlpackage": "readqc_quality.mlpackage",
    "mlpackage_int8": "readqc_quality_int8.mlpackage",
    "card": "readqc_quality.md",
}


def _size(p: Path) -> int:
    return (
        sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
        if p.is_dir()
        else (p.stat().st_size)
    )


def _cost_section(cost: pd.DataFrame | None) -> str:
    if cost is None or cost.empty:
        return "Not measured for this card (`bench/readqc_cost.py`)."
    cols = ["method", "threads", "batch_bases", "cpu_median", "cpu_min", "cpu_max"]
    cols += [c for c in ("x_bqsr_table", "x_meanq_filter") if c in cost]
    rows = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, r in cost.iterrows():
        rows.append(
            "| "
            + " | ".join(f"{r[c]:.4g}" if isinstance(r[c], float) else str(r[c]) for c in cols)
            + " |"
        )
    return (
        "CPU seconds per million bases (process CPU time, median and min-max over interleaved "
        "repeats, on the shared machine that trained it; `x_*`: ratio of medians against the "
        "BQSR table lookup and a numba read-level mean-quality filter at the same batch size; "
        "`bench/readqc_cost.py`):\n\n" + "\n".join(rows)
    )


def model_card(
    model,
    summary: dict,
    metrics: pd.DataFrame,
    export: dict,
    data: str,
    command: str,
    cost: pd.DataFrame | None = None,
) -> str:
    """Markdown card. ``metrics``: one row per method with columns method, ece_q,
    log_loss, mae_true_q, pearson_r_true_q (held-out bases); ``data``: one paragraph;
    ``cost``: the table of ``bench/readqc_cost.py`` (optional)."""
    cols = ["method", "bases", "errors", "ece_q", "log_loss", "mae_true_q", "pearson_r_true_q"]
    table = "\n".join(
        ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        + ["| " + " | ".join(str(r[c]) for c in cols) + " |" for _, r in metrics.iterrows()]
    )
    diffs = ", ".join(
        f"{b}: {d:.1e}" for b, d in export["onnx"]["max_abs_logit_diff_vs_torch"].items()
    )
    p = summary["params"]
    sizes = export["coreml"]["batch_sizes"]
    h1, h2 = p["hidden"]
    onnx_what = (
        "the network, embeddings folded into its first layer (opset 17): `features` "
        "float32 (B, 13) -> `logit_error` (B,)"
    )
    return f"""# Base-quality model (biometal)

Predicts, for every base of a read, the probability that the base call is wrong, from the
bases around it, its machine cycle, its mate and the quality the instrument reported. Used
by `biometal.readqc.recalibrate.recalibrate_fastq` (through
`biometal.ml.readqc.predictor.NeuralQualityPredictor`) to rewrite a FASTQ's qualities.

| file | what |
|---|---|
| `readqc_quality.onnx` | {onnx_what} |
| `readqc_quality.mlpackage` | Core ML ML program (macOS 13+, float16), batch sizes {sizes} |
| `readqc_quality_int8.mlpackage` | the same with INT8 (linear symmetric) weights |

## Input

Per base, 13 float32 values: the 9 base codes of the context in sequencing order (A0 C1 G2
T3, 4 = N or beyond the read; the base itself in the middle), the reported Phred quality,
the cycle (0-based), the mate (0/1) and the read length
(`biometal.ml.readqc.model.pack_features` of `biometal.readqc.covariates.BaseFeatures`).
The output is the logit of P(error); apply the sigmoid in float64
(`biometal.ml.readqc.model.error_from_logit`).

## Data

{data}

## Architecture and training

Embeddings of the context bases (4-d each), of the reported quality (8-d) and of the
cycle (4-d), four position features and the mate -> MLP 53 -> {h1} -> {h2} -> 1 (ReLU),
added to the reported quality's own log-odds and divided by a temperature:
{n_parameters(model):,} parameters. Plain (unweighted) binary cross-entropy, Adam (lr
{p["lr"]}, batch {p["batch_size"]} bases), seed {p["seed"]}; validation = {p["val_fraction"]:.0%}
of the training bases in blocks of {p["block"]}; early stopping on validation log-loss
(best epoch {summary["best_epoch"]} of {summary["epochs_run"]}); then one temperature fitted on
the validation split (T = {summary["temperature"]:.3f}). Training bases
{summary["bases_train"]:,} ({summary["errors_train"]:,} mismatches), validation
{summary["bases_val"]:,}.

## Held-out metrics

Scored against the simulator's TRUE errors of held-out reads (never aligned): ECE in Phred
units, log-loss (nats per base), MAE and Pearson r against the true per-base Phred.

{table}

## Export checks

ONNX Runtime vs torch, largest |logit difference| per batch size: {diffs} (tolerance
{export["onnx"]["atol"]}). Core ML packages reloaded and spec-validated on Linux (ML
program, input/output, enumerated shapes; INT8: {export["coreml_int8"]["quantized_weight_ops"]}
quantised weight tensors); Core ML predictions were not run (they need macOS).

## Cost

{_cost_section(cost)}

## Regenerate

    {command}
"""


def ship_quality_model(
    model,
    summary: dict,
    metrics: pd.DataFrame,
    models_dir: str | os.PathLike,
    data: str,
    command: str,
    cost: pd.DataFrame | None = None,
) -> dict:
    """Export ``model`` (ONNX + both Core ML packages) into ``models_dir`` and write the
    card; the files are exported into a temporary folder first, checked, sized, then moved.
    Returns the export report."""
    out = Path(models_dir)
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".readqc_quality.", dir=out))
    try:
        paths = {k: tmp / v for k, v in NAMES.items()}
        export = export_all(model, paths["onnx"], paths["mlpackage"], paths["mlpackage_int8"])
        total = sum(_size(paths[k]) for k in ("onnx", "mlpackage", "mlpackage_int8"))
        if total > MAX_TOTAL_BYTES:
            raise BiometalError(f"the read-quality models take {total} bytes, more than 512 KB")
        card = model_card(model, summary, metrics, export, data, command, cost)
        for key in ("onnx", "mlpackage", "mlpackage_int8"):
            final = out / NAMES[key]
            if final.is_dir():
                shutil.rmtree(final)
            os.replace(paths[key], final)
        with atomic_path(out / NAMES["card"]) as t:
            t.write_text(card)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    export["total_bytes"] = total
    return export
