"""dnabert_classify end to end with the real snakemake (the shared tiny run): the
classification and export tables, the exported models and figures, and that the numbers
come back from the files they were computed from."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from .conftest import TINY

DC = Path("results/dnabert/classify")
METHODS = ["kmer", "dnabert_pretrained", "dnabert_scratch"]


def _tsv(root: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(root / DC / name, sep="\t")


def _tiny() -> dict:
    return yaml.safe_load(TINY.read_text())["dnabert_classify"]


@pytest.mark.slow
def test_classification_table(tiny_run: Path) -> None:
    cfg = _tiny()
    t = _tsv(tiny_run, "classification.tsv")
    sets = ["heldout", *(f"diverged_{d * 100:g}pct" for d in cfg["divergences"])]
    assert list(t["method"].unique()) == METHODS
    assert sorted(t["set"].unique()) == sorted(sets)
    assert len(t) == len(METHODS) * len(sets)
    held = t[t["set"] == "heldout"].set_index("method")
    assert (held["reads"] == cfg["n_test"]).all()
    assert t["accuracy"].between(0, 1).all() and t["macro_f1"].between(0, 1).all()
    assert (t["accuracy_ci_low"] <= t["accuracy"]).all()
    assert (t["accuracy"] <= t["accuracy_ci_high"]).all()
    # two genomes of different GC, k = 31: the exact classifier gets nearly every read
    assert held.loc["kmer", "accuracy"] > 0.9
    assert (t["cpu_s_per_million_reads"] > 0).all() and (t["fit_cpu_s"] > 0).all()
    # DNABERT never abstains; the k-mer classifier does on diverged reads
    assert (t.loc[t["method"] != "kmer", "unclassified"] == 0).all()
    by_len = _tsv(tiny_run, "by_length.tsv")
    assert set(by_len["length"]) == {0, *cfg["lengths"]}
    conf = _tsv(tiny_run, "confusion.tsv")
    merged = conf.groupby(["method", "set"]).sum(numeric_only=True).sum(axis=1)
    counts = t.set_index(["method", "set"])["reads"]
    assert (merged.loc[counts.index] == counts).all()
    cost = _tsv(tiny_run, "cost.tsv")
    assert {"numba", "onnxruntime", "torch"} <= set(cost["engine"])
    assert (cost.loc[cost["engine"] == "torch", "onnx_torch_agreement"] == 1).all()


@pytest.mark.slow
def test_exports(tiny_run: Path) -> None:
    cfg = _tiny()
    e = _tsv(tiny_run, "export.tsv").set_index(["model", "format"])
    onnx = e.xs("onnx", level="format")
    assert set(onnx.index) == {"encoder", "classifier_pretrained", "classifier_scratch"}
    assert (onnx["max_abs_diff_vs_torch"] <= onnx["atol"]).all()
    for model in ("encoder", "classifier_pretrained"):
        fp16, int8 = e.loc[(model, "coreml")], e.loc[(model, "coreml_int8")]
        assert fp16["quantized_weight_ops"] == 0 and int8["quantized_weight_ops"] > 0
        assert int8["bytes"] < fp16["bytes"]
        assert fp16["batch_sizes"] == ",".join(map(str, cfg["export"]["batch_sizes"]))
        assert (tiny_run / fp16["path"] / "Manifest.json").is_file()
    for fig in ("confusion", "length", "cost"):
        png = tiny_run / f"results/figures/dnabert_classify_{fig}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    card = (tiny_run / DC / "MODEL_CARD.md").read_text()
    assert "dnabert_classify" in card and "kmer" in card


@pytest.mark.slow
def test_predictions_reproduce(tiny_run: Path, monkeypatch) -> None:
    """The exported ONNX classifier and a rerun of the k-mer classifier give back the
    stored predictions, read for read."""
    from biometal.ml.dnabert.classify import load_sets, run_kmer
    from biometal.ml.dnabert.export import DnaBertOnnxBackend
    from biometal.ml.dnabert.finetune import load_classifier
    from biometal.ml.tokenizer import KmerTokenizer

    monkeypatch.chdir(tiny_run)
    _, sets = load_sets(DC / "data")
    chunk, true = sets["heldout"]
    stored = pd.read_csv(DC / "pred/dnabert_pretrained.tsv.gz", sep="\t")
    stored = stored[(stored["set"] == "heldout") & (stored["length"] == 0)]
    assert stored["true"].tolist() == true.tolist()
    _, meta = load_classifier(DC / "models/classifier_pretrained.pt")
    tok = KmerTokenizer(meta["tokenizer"]["k"], meta["tokenizer"]["stride"])
    ids = tok.encode_chunk(chunk, max_length=meta["model"]["max_length"]).ids
    backend = DnaBertOnnxBackend(
        DC / "models/classifier_pretrained.onnx", ("CPUExecutionProvider",)
    )
    assert backend.predict(ids).argmax(1).tolist() == stored["pred"].tolist()
    pred = tiny_run / "kmer_again.tsv"
    run_kmer(
        "results/data/metagenome/genomes.fa",
        DC / "data",
        pred,
        tiny_run / "c.tsv",
        lengths=_tiny()["lengths"],
    )
    again = pd.read_csv(pred, sep="\t")
    first = pd.read_csv(DC / "pred/kmer.tsv.gz", sep="\t")
    assert np.array_equal(again.to_numpy(), first.to_numpy())
