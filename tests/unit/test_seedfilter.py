"""Seed filter: labelled windows against naive constructions and the truth, the CNN's shape,
split and threshold rules, seeded training, ONNX export (vs torch, 1e-5), Core ML packages
(spec-validated) and the inference backends (real ONNX Runtime sessions)."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from biometal.align import align_batch
from biometal.align.smem import build_fm_index, reverse_complement
from biometal.errors import BiometalError
from biometal.io.encoding import decode
from biometal.ml.seedfilter import backends
from biometal.ml.seedfilter.export import (
    ExportError,
    export_all,
    random_windows,
    validate_mlpackage,
)
from biometal.ml.seedfilter.model import SeedFilterCNN, SeedFilterProb, n_parameters
from biometal.ml.seedfilter.train import (
    TrainParams,
    choose_threshold,
    split_by_pair,
    train_cnn,
    train_seedfilter,
)
from biometal.ml.seedfilter.windows import WindowParams, label_windows, load_windows

LETTERS = np.array(list("ACGT"))


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A 40 kb genome with 8 copies (3% divergent) of a 600 bp unit, 600 read pairs with a
    truth table in the simulator's format, the FM-index, and the labelled windows."""
    d = tmp_path_factory.mktemp("sf")
    rng = np.random.default_rng(5)
    unit = rng.integers(0, 4, 600)
    parts = []
    for _ in range(8):
        parts.append(rng.integers(0, 4, 4400))
        cp = unit.copy()
        m = rng.random(600) < 0.03
        cp[m] = rng.integers(0, 4, int(m.sum()))
        parts.append(cp)
    g = np.concatenate(parts)
    (d / "ref.fa").write_text(f">chr1\n{''.join(LETTERS[g])}\n")
    r1, r2, truth = [], [], []
    for i in range(600):
        p = int(rng.integers(0, len(g) - 400))
        a, b = g[p : p + 150].copy(), reverse_complement(g[p + 250 : p + 400]).copy()
        for s in (a, b):
            m = rng.random(150) < 0.01
            s[m] = (s[m] + 1) % 4
        minus = bool(rng.random() < 0.5)
        if minus:  # R1 on the reverse strand: swap the mates' sequences
            a, b = b, a
        r1.append(f"@chr1_{i}\n{''.join(LETTERS[a])}\n+\n{'I' * 150}\n")
        r2.append(f"@chr1_{i}\n{''.join(LETTERS[b])}\n+\n{'I' * 150}\n")
        s1, s2 = (p + 250, p) if minus else (p, p + 250)
        truth.append(("chr1_" + str(i), "chr1", "-" if minus else "+", s1, s2))
    for name, recs in (("r1.fq.gz", r1), ("r2.fq.gz", r2)):
        with gzip.open(d / name, "wt") as fh:
            fh.write("".join(recs))
    cols = ["read_name", "contig", "strand", "r1_ref_start", "r2_ref_start"]
    pd.DataFrame(truth, columns=cols).to_csv(d / "truth.tsv.gz", sep="\t", index=False)
    build_fm_index(d / "ref.fa").save(d / "ref.fmi.npz")
    params = WindowParams()
    bal = label_windows(
        d / "ref.fmi.npz",
        str(d / "r1.fq.gz"),
        str(d / "r2.fq.gz"),
        d / "w.npz",
        d / "bal.tsv",
        n_pairs=500,
        truth=str(d / "truth.tsv.gz"),
        params=params,
    )
    return d, g, bal, load_windows(d / "w.npz"), params


def test_class_balance_and_labels_follow_the_truth(data) -> None:
    d, g, bal, ws, params = data
    assert bal["read_pairs"] == 500 and bal["reads"] == 1000
    assert bal["viable"] > 0 and bal["non_viable"] > 0
    assert bal["viable"] + bal["non_viable"] == len(ws)
    table = pd.read_csv(d / "bal.tsv", sep="\t").set_index("metric")["value"]
    assert table["windows"] == len(ws)
    truth = pd.read_csv(d / "truth.tsv.gz", sep="\t")
    y = ws["label"].astype(bool)
    for i in np.flatnonzero(y)[::25]:
        row = truth.iloc[ws["pair"][i]]
        start = row.r1_ref_start if ws["mate"][i] == 1 else row.r2_ref_start
        qs_f = ws["read_len"][i] - ws["qend"][i] if ws["reverse"][i] else ws["qstart"][i]
        assert abs(ws["pos"][i] - qs_f - start) <= params.locus_tolerance
        assert ws["score"][i] >= params.min_score
    # non-viable seeds are off the true locus, inside another copy of the repeated unit
    assert not ws["on_locus"][~y].any()
    off = (ws["pos"][~y] - 4400) % 5000
    assert ((off < 600) | (off > 5000 - 150)).all()


def test_windows_equal_a_naive_construction(data) -> None:
    d, g, _, ws, params = data
    codes, offsets = ws["read_codes"], ws["read_offsets"]
    rng = np.random.default_rng(0)
    for i in rng.choice(len(ws), 60, replace=False):
        read = codes[offsets[ws["read"][i]] : offsets[ws["read"][i] + 1]]
        qs, qe = int(ws["qstart"][i]), int(ws["qend"][i])
        if ws["reverse"][i]:
            read = reverse_complement(read)
            qs, qe = len(read) - qe, len(read) - qs
        pos = int(ws["pos"][i])
        ln = qe - qs

        def win(seq, s, e):
            left = "".join(decode(seq[k : k + 1]) if k >= 0 else "N" for k in range(s - 32, s))
            seed = (
                decode(seq[s:e])
                if e - s <= 64
                else decode(seq[s : s + 32]) + decode(seq[e - 32 : e])
            )
            right = decode(seq[e : e + 32])
            right += "N" * (32 - len(right))
            return (left + seed + right).ljust(128, "N")

        assert decode(ws["qwin"][i]) == win(read, qs, qe)
        assert decode(ws["rwin"][i]) == win(g, pos, pos + ln)
        # the extension score, recomputed directly
        sc = params.scoring
        lt = g[max(0, pos - qs - params.band) : pos][::-1]
        rt = g[pos + ln : pos + ln + len(read) - qe + params.band]
        kw = {"scoring": sc, "mode": "extension", "band": params.band}
        left = align_batch([read[:qs][::-1].copy()], [lt.copy()], **kw).score[0]
        right = align_batch([read[qe:].copy()], [rt.copy()], **kw).score[0]
        assert ws["score"][i] == left + right + ln * sc.match


def test_model_shape_and_parameters() -> None:
    import torch

    net = SeedFilterCNN()
    assert n_parameters(net) == 26913
    x = torch.from_numpy(random_windows(5))
    net.eval()
    p = SeedFilterProb(net)(x)
    assert p.shape == (5,) and bool(((p > 0) & (p < 1)).all())


def test_split_by_pair_has_no_leakage() -> None:
    pairs = np.repeat(np.arange(1000), np.random.default_rng(1).integers(1, 6, 1000))
    part = split_by_pair(pairs, (0.8, 0.1, 0.1), seed=3)
    for k in range(3):
        others = set(pairs[part != k])
        assert not set(pairs[part == k]) & others
    frac = np.bincount([part[np.searchsorted(pairs, p)] for p in range(1000)]) / 1000
    assert np.allclose(frac, [0.8, 0.1, 0.1], atol=0.001)
    assert np.array_equal(part, split_by_pair(pairs, (0.8, 0.1, 0.1), seed=3))
    with pytest.raises(BiometalError, match="3 fractions summing to 1"):
        split_by_pair(pairs, (0.8, 0.3, 0.1), seed=3)


def test_threshold_is_the_highest_reaching_the_tpr() -> None:
    rng = np.random.default_rng(2)
    y = rng.random(1000) < 0.7
    s = rng.random(1000) + y * 0.3
    t = choose_threshold(y, s, 0.95)
    assert (s[y] >= t).mean() >= 0.95
    higher = np.sort(s[y])[np.sort(s[y]) > t]
    assert len(higher) == 0 or (s[y] >= higher[0]).mean() < 0.95


def test_training_is_seeded(data) -> None:
    _, _, _, ws, _ = data
    part = split_by_pair(ws["pair"], (0.8, 0.1, 0.1), 1)
    p = TrainParams(epochs=1, batch_size=128, seed=1, threads=1)
    a, _ = train_cnn(ws, part, p)
    b, _ = train_cnn(ws, part, p)
    for (k, va), (_, vb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert np.array_equal(va.numpy(), vb.numpy()), k


@pytest.fixture(scope="module")
def trained(data):
    d, _, _, _, _ = data
    out = d / "train"
    m = train_seedfilter(
        d / "w.npz",
        out / "cnn.pt",
        out / "m.json",
        out / "p.tsv.gz",
        out / "h.tsv",
        TrainParams(epochs=2, batch_size=128, threads=1),
    )
    return out, m


def test_metrics_on_the_test_split(trained) -> None:
    _, m = trained
    assert set(m["test"]) >= {"auroc", "auprc", "tpr", "fpr", "threshold"}
    assert m["validation"]["tpr"] >= 0.95 and m["parameters"] == 26913
    assert sum(m["split_counts"].values()) > 0


def test_export_onnx_matches_torch_and_coreml_validates(trained, tmp_path: Path) -> None:
    out, _ = trained
    rep = export_all(
        out / "cnn.pt",
        tmp_path / "m.onnx",
        tmp_path / "m.mlpackage",
        tmp_path / "m8.mlpackage",
        tmp_path / "rep.json",
    )
    assert set(rep["onnx"]["max_abs_diff_vs_torch"]) == {"512", "1024", "2048"}
    assert max(rep["onnx"]["max_abs_diff_vs_torch"].values()) <= 1e-5
    assert rep["coreml"]["batch_sizes"] == [512, 1024, 2048] and rep["coreml"]["convs"] == 3
    assert rep["coreml"]["quantized_weight_ops"] == 0
    assert rep["coreml_int8"]["quantized_weight_ops"] >= 5
    assert rep["coreml_int8"]["bytes"] < rep["coreml"]["bytes"]
    with pytest.raises(ExportError, match="enumerated batch sizes"):
        validate_mlpackage(tmp_path / "m.mlpackage", [512, 4096])
    with pytest.raises(ExportError, match="no quantised"):
        validate_mlpackage(tmp_path / "m.mlpackage", [512, 1024, 2048], int8=True)
    broken = tmp_path / "broken.mlpackage"
    shutil.copytree(tmp_path / "m.mlpackage", broken)
    for f in broken.rglob("model.mlmodel"):
        f.write_bytes(b"garbage")
    with pytest.raises(ExportError, match="does not load"):
        validate_mlpackage(broken, [512, 1024, 2048])

    # backends: ONNX Runtime through the provider order, padding to the fixed batch sizes
    ort_b = backends.OnnxRuntimeBackend(tmp_path / "m.onnx")
    assert ort_b.provider == "CPUExecutionProvider"  # no CoreML / CUDA in this build
    assert ort_b.optimal_batch_sizes == (512, 1024, 2048)
    assert ort_b.batch_size_for(700) == 1024 and ort_b.batch_size_for(5000) == 2048
    torch_b = backends.make_backend("torch", out / "cnn.pt")
    x = random_windows(700, seed=9)
    assert ort_b.warmup(1) > 0
    assert np.abs(ort_b.predict(x) - torch_b.predict(x)).max() <= 1e-5
    assert np.abs(ort_b.predict(x, batch_size=512) - ort_b.predict(x)).max() <= 1e-6
    with pytest.raises(backends.BackendUnavailable, match="none of the ONNX Runtime providers"):
        backends.OnnxRuntimeBackend(tmp_path / "m.onnx", providers=["CoreMLExecutionProvider"])
    with pytest.raises(BiometalError, match="unknown ONNX Runtime provider"):
        backends.OnnxRuntimeBackend(tmp_path / "m.onnx", providers=["CPU"])
    with pytest.raises(BiometalError, match=r"expected \(B, 2, W, 4\)"):
        ort_b.predict(np.zeros((3, 128, 4), np.float32))
    auto = backends.auto_backend(tmp_path / "m.onnx", tmp_path / "m.mlpackage")
    if backends.CoreMLBackend.available():  # macOS: Core ML directly
        assert auto.name == "coreml"
    else:
        assert auto.name == "onnxruntime"
        with pytest.raises(backends.BackendUnavailable, match="macOS only"):
            backends.CoreMLBackend(tmp_path / "m.mlpackage")
