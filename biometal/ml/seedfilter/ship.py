"""Copy the trained seed filter into ``models/`` with its model card (rule seedfilter_ship)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from biometal.errors import BiometalError
from biometal.io.atomic import atomic_path

MAX_TOTAL_BYTES = 2 * 1024 * 1024


def _copy_tree(src: str, dst: str) -> None:
    final = Path(dst)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    try:
        shutil.copytree(src, tmp / final.name)
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp / final.name, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _size(path: str) -> int:
    p = Path(path)
    return (
        sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
        if p.is_dir()
        else p.stat().st_size
    )


#: the real-sequence section (written by ``bench/seedfilter_real.py --card``), next to the card
REAL_CARD = "seedfilter_real.md"


def model_card(inputs: dict[str, str], cfg: dict, real_section: str = "") -> str:
    """Markdown model card: data, architecture, metrics, export checks, cost, regenerate;
    ``real_section`` (the real-sequence evaluation, markdown) is appended when given."""
    metrics = pd.read_csv(inputs["metrics"], sep="\t")
    balance = pd.read_csv(inputs["balance"], sep="\t").set_index("metric")["value"]
    export = json.loads(Path(inputs["export"]).read_text())
    cost = json.loads(Path(inputs["cost"]).read_text())
    rows = "\n".join(
        f"| {r.model} | {r.auroc:.3f} | {r.auprc:.3f} | {r.threshold:.4g} | {r.tpr:.3f} | "
        f"{r.fpr:.3f} | {'yes' if r.meets_target else 'no'} |"
        for r in metrics.itertuples()
    )
    diffs = ", ".join(f"{b}: {d:.1e}" for b, d in export["onnx"]["max_abs_diff_vs_torch"].items())
    src = cfg["source"]
    data = (
        "the workflow's simulated data (seeded): the simulated reference "
        "(results/data/reference.fa) and the first "
        f"{cfg['n_pairs']} pairs of the simulated DNA sample, true loci from its truth table"
        if src == "simulated"
        else f"ENA study {cfg['ena']['project']} (first {cfg['n_pairs']} pairs per run); "
        "true locus = the read's unique best-scoring occurrence"
    )
    files = "\n".join(
        [
            "| file | what |",
            "|---|---|",
            "| `seedfilter.onnx` | the CNN with its sigmoid (opset 17): `windows` float32 "
            "(B, 2, 128, 4) -> `p_viable` (B,) |",
            "| `seedfilter.mlpackage` | Core ML ML program (macOS 13+, float16), batch sizes "
            f"{export['coreml']['batch_sizes']} |",
            "| `seedfilter_int8.mlpackage` | the same with INT8 (linear symmetric) weights |",
            "| `seedfilter_features.joblib` | the cheap peers (gradient boosting, logistic "
            "regression) + thresholds; a scikit-learn 1.9.1 pickle: load only trusted files |",
        ]
    )
    return f"""# Seed-viability filter (biometal)

Predicts whether a BWA-MEM-style SMEM seed occurrence is worth extending: P(the extension
from this seed reaches score >= {cfg["labels"]["min_score"]} at the read's true locus).

{files}

## Input

Per seed occurrence, two windows of 128 bases one-hot encoded over A C G T (N and padding
all zeros): the read on the reference's strand and the reference, each 32 bp before the
seed, the seed (its first and last 32 bp when longer than 64), 32 bp after.
`biometal.ml.seedfilter.windows` builds them; `biometal.ml.seedfilter.backends` runs them
(ONNX Runtime providers CoreML -> CUDA -> CPU; Core ML directly on macOS). The shipped model
takes the windows only; `SeedFilterCNN(n_side=1)` also takes the seed's occurrence count as
a second input `side` (B, 1) = log2(1 + occurrences), which the windows cannot show (the
real-sequence evaluation below trains and exports both).

## Data

Trained on {data}. SMEMs with min length {cfg["min_seed_len"]}, at most {cfg["max_occ"]}
occurrences. Windows: {int(balance["windows"])}, viable {int(balance["viable"])}
({100 * float(balance["viable_fraction"]):.1f}%), non-viable {int(balance["non_viable"])}.
Split 80/10/10 by read pair (seeded); threshold = highest score keeping >= 95% of the
validation split's viable seeds.

## Architecture and training

Conv1d 8->32 k7, 32->64 k5, 64->64 k3 (BatchNorm, ReLU, max-pool /2 after the first two),
global average pool, dense 64->32->1, sigmoid: 26,913 parameters. AdamW, cosine schedule,
pos_weight = negatives/positives, label smoothing, early stopping on validation AUROC.

## Test metrics (held-out read pairs)

| model | AUROC | AUPRC | threshold | TPR | FPR | TPR >= 0.95 and FPR <= 0.40 |
|---|---|---|---|---|---|---|
{rows}

## Export checks

ONNX Runtime vs torch, largest |difference| per batch size: {diffs} (tolerance
{export["onnx"]["atol"]}). Core ML packages reloaded and spec-validated on Linux (ML
program, input/output, enumerated shapes; INT8: {export["coreml_int8"]["quantized_weight_ops"]}
quantised weight tensors); Core ML predictions were not run (they need macOS).

## What it saves (measured where trained, {cost["threads"]} thread(s))

{cost["verdict"]}.

## Regenerate

    snakemake --cores 2 seedfilter_ship          # default config: simulated data
    snakemake --cores 2 --configfile config/1000g.yaml seedfilter_ship   # 1000 Genomes
""" + (f"\n{real_section}" if real_section else "")


def ship_models(inputs: dict[str, str], outputs: dict[str, str], cfg: dict) -> None:
    """Copy the ONNX model, both Core ML packages and the feature models; write the card.
    Fails (and copies nothing) when they would take more than 2 MB together."""
    total = sum(_size(inputs[k]) for k in ("onnx", "mlpackage", "mlpackage_int8", "feature_models"))
    if total > MAX_TOTAL_BYTES:
        raise BiometalError(f"the seed-filter models take {total} bytes, more than 2 MB")
    real = Path(outputs["card"]).with_name(REAL_CARD)
    card = model_card(inputs, cfg, real.read_text() if real.is_file() else "")
    for key in ("onnx", "feature_models"):
        out = outputs["features"] if key == "feature_models" else outputs[key]
        with atomic_path(out) as tmp:
            shutil.copyfile(inputs[key], tmp)
    _copy_tree(inputs["mlpackage"], outputs["mlpackage"])
    _copy_tree(inputs["mlpackage_int8"], outputs["mlpackage_int8"])
    with atomic_path(outputs["card"]) as tmp:
        tmp.write_text(card)
