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


# --- the real-sequence chain (issue 12 item 7): MAF reference, repeat strata, side input ---


def _write_maf(path: Path) -> None:
    path.write_text(
        "##maf version=1\n#\n"
        "a\n"
        "s Hsap.22 100 10 + 1000 ACGT-acgtAA\n"
        "s Ptro.22 5 11 + 900 ACGTTACGTAA\n\n"
        "a\n"
        "s Hsap.22 200 8 + 1000 ttttGGGG\n"
        "s Ptro.22 50 8 + 900 TTTTGGGG\n\n"
        "a\n"
        "s Hsap.22 110 5 + 1000 cc-CCa\n"
        "s Ptro.22 20 6 + 900 CCGCCA\n"
    )


def test_maf_reference_merges_abutting_blocks_and_keeps_the_soft_mask(tmp_path: Path) -> None:
    from biometal.io.fastx import read_fasta
    from biometal.ml.seedfilter.realseq import RepeatMask, maf_reference

    _write_maf(tmp_path / "a.maf")
    info = maf_reference(tmp_path / "a.maf", tmp_path / "r.fa", tmp_path / "m.npz")
    recs = {r.id: str(r.seq) for r in read_fasta(tmp_path / "r.fa")}
    assert recs == {"chr22_100": "ACGTACGTAACCCCA", "chr22_200": "TTTTGGGG"}
    raw = {"chr22_100": "ACGTacgtAAccCCa", "chr22_200": "ttttGGGG"}
    assert info["contigs"] == 2 and info["bp"] == 23
    assert info["repeat_fraction"] == pytest.approx(
        sum(c.islower() for c in "".join(raw.values())) / 23
    )
    mask = RepeatMask.load(tmp_path / "m.npz")
    assert mask.names == ["chr22_100", "chr22_200"]
    rng = np.random.default_rng(0)
    for _ in range(200):
        c = int(rng.integers(0, 2))
        s = raw[mask.names[c]]
        a, ln = int(rng.integers(0, len(s))), int(rng.integers(1, 8))
        want = sum(ch.islower() for ch in s[a : a + ln]) / max(min(a + ln, len(s)) - a, 1)
        got = mask.fraction(np.array([c]), np.array([a]), np.array([ln]))[0]
        assert got == pytest.approx(want)


def test_maf_reference_errors_name_the_file_and_line(tmp_path: Path) -> None:
    from biometal.errors import InputFormatError
    from biometal.ml.seedfilter.realseq import maf_reference

    bad = tmp_path / "bad.maf"
    bad.write_text("a\ns Hsap.22 0 5 + 100 ACG\n")
    with pytest.raises(InputFormatError, match=r"bad\.maf.*2.*size 5 but 3"):
        maf_reference(bad, tmp_path / "r.fa", tmp_path / "m.npz")
    assert not (tmp_path / "r.fa").exists()
    none = tmp_path / "none.maf"
    none.write_text("a\ns Ptro.22 0 3 + 100 ACG\n")
    with pytest.raises(InputFormatError, match="no 'Hsap.' rows"):
        maf_reference(none, tmp_path / "r.fa", tmp_path / "m.npz")


def test_viable_fractions_per_locus_and_per_seed(tmp_path: Path) -> None:
    from biometal.ml.seedfilter.realseq import RepeatMask, maf_reference, viable_fractions
    from biometal.ml.seedfilter.windows import WindowSet

    _write_maf(tmp_path / "a.maf")
    maf_reference(tmp_path / "a.maf", tmp_path / "r.fa", tmp_path / "m.npz")
    mask = RepeatMask.load(tmp_path / "m.npz")
    rng = np.random.default_rng(3)
    n = 300
    arrays = {
        "read": rng.integers(0, 40, n),
        "qstart": rng.integers(0, 3, n),
        "label": (rng.random(n) < 0.6).astype(np.uint8),
        "contig": rng.integers(0, 2, n),
        "pos": rng.integers(0, 6, n),
        "seed_len": np.full(n, 2),
        "occ": rng.integers(1, 30, n),
    }
    arrays["qend"] = arrays["qstart"] + 2
    f = viable_fractions(WindowSet(arrays), mask).set_index("stratum")
    df = pd.DataFrame(arrays)
    for stratum, sel in (
        ("all", np.ones(n, bool)),
        ("occ <= 20 (chain default)", arrays["occ"] <= 20),
        ("seed occ > 1", arrays["occ"] > 1),
    ):
        sub = df[sel]
        per_seed = sub.groupby(["read", "qstart", "qend"])["label"].max()
        assert f.loc[stratum, "loci"] == len(sub)
        assert f.loc[stratum, "viable_fraction_per_locus"] == pytest.approx(sub.label.mean())
        assert f.loc[stratum, "seeds"] == len(per_seed)
        assert f.loc[stratum, "viable_fraction_per_seed"] == pytest.approx(per_seed.mean())
    rep = f.loc["locus in repeat (>= 50% soft-masked)", "loci"]
    assert rep + f.loc["locus not in repeat", "loci"] == n


def test_cnn_with_occurrence_input_exports_and_runs_in_the_backends(data, tmp_path: Path) -> None:
    import torch

    from biometal.ml.seedfilter.export import check_onnx, export_coreml, export_onnx
    from biometal.ml.seedfilter.train import occ_side

    _, _, _, ws, _ = data
    side = occ_side(ws["occ"])
    assert side.shape == (len(ws), 1)
    assert np.allclose(side[:, 0], np.log2(1 + ws["occ"]))
    part = split_by_pair(ws["pair"], (0.8, 0.1, 0.1), 1)
    model, _ = train_cnn(ws, part, TrainParams(epochs=1, batch_size=128, seed=1, threads=1), side)
    assert model.n_side == 1 and n_parameters(model) == 26913 + 32
    with pytest.raises(ValueError, match="side input"):
        model(torch.from_numpy(random_windows(2)))
    torch.save(
        {"state_dict": model.state_dict(), "meta": {"width": 128, "threshold": 0.5, "n_side": 1}},
        tmp_path / "occ.pt",
    )
    export_onnx(model, tmp_path / "occ.onnx")
    diffs = check_onnx(model, tmp_path / "occ.onnx", (512, 1024))
    assert max(diffs.values()) <= 1e-5
    ort_b = backends.OnnxRuntimeBackend(tmp_path / "occ.onnx")
    torch_b = backends.make_backend("torch", tmp_path / "occ.pt")
    assert ort_b.n_side == 1 and torch_b.n_side == 1
    x = random_windows(700, seed=4)
    s = np.random.default_rng(4).uniform(0, 9, (700, 1)).astype(np.float32)
    p = ort_b.predict(x, side=s)
    assert np.abs(p - torch_b.predict(x, side=s)).max() <= 1e-5
    # the occurrence count changes the output: the input is used
    assert np.abs(p - ort_b.predict(x, side=s + 3)).max() > 1e-4
    assert ort_b.warmup(1) > 0
    with pytest.raises(BiometalError, match="needs side inputs"):
        ort_b.predict(x)
    with pytest.raises(BiometalError, match="2 columns, want 1"):
        ort_b.predict(x, side=np.zeros((700, 2), np.float32))
    export_onnx(SeedFilterCNN().eval(), tmp_path / "plain.onnx")
    plain = backends.OnnxRuntimeBackend(tmp_path / "plain.onnx")
    assert plain.n_side == 0 and plain.predict(x).shape == (700,)
    with pytest.raises(BiometalError, match="takes no side input"):
        plain.predict(x, side=s)
    # Core ML: windows + side with one batch range, spec-validated (INT8 too)
    export_coreml(model, tmp_path / "occ.mlpackage", (512, 1024, 2048))
    spec = validate_mlpackage(tmp_path / "occ.mlpackage", (512, 1024, 2048))
    assert spec["convs"] == 3 and spec["batch_sizes"] == [512, 1024, 2048]
    with pytest.raises(ExportError, match="batch range"):
        validate_mlpackage(tmp_path / "occ.mlpackage", (512, 4096))
    export_coreml(model, tmp_path / "occ8.mlpackage", (512, 2048), int8=True)
    assert (
        validate_mlpackage(tmp_path / "occ8.mlpackage", (512, 2048), int8=True)[
            "quantized_weight_ops"
        ]
        >= 5
    )


def test_evaluate_real_tables_agree_with_the_windows(data, tmp_path: Path) -> None:
    """The real-sequence evaluation end to end on the small genome (its 8 repeat copies
    marked as soft-masked): rates recomputed from the windows, stage rows consistent."""
    from biometal.ml.seedfilter.realseq import (
        RealParams,
        evaluate_real,
        load_evaluation,
        markdown_tables,
        real_card,
    )

    d, g, _, ws, _ = data
    mask = np.zeros(g.shape[0], bool)
    for k in range(8):
        mask[k * 5000 + 4400 : (k + 1) * 5000] = True
    np.savez(
        tmp_path / "m.npz",
        names=np.array(["chr1"]),
        offsets=np.array([0, g.shape[0]]),
        mask=np.packbits(mask),
        n=g.shape[0],
    )
    params = RealParams(epochs=1, repeats=2, threads=1, seed=3)
    res = evaluate_real(d / "w.npz", tmp_path / "m.npz", d / "ref.fmi.npz", tmp_path / "e", params)
    assert set(load_evaluation(tmp_path / "e")) == set(res)
    y = ws["label"].astype(bool)
    f = res["fractions"].set_index("stratum")
    assert f.loc["all", "loci"] == len(ws)
    assert f.loc["all", "viable_fraction_per_locus"] == pytest.approx(y.mean())
    m = res["models"].set_index("model")
    assert list(m.index) == ["cnn", "cnn_occ", "hgb", "logistic", "occ_rule", "seed_len_rule"]
    part = split_by_pair(ws["pair"], (0.8, 0.1, 0.1), 3)
    te = part == 2
    keep = -ws["occ"].astype(float) >= m.loc["occ_rule", "threshold"]
    assert m.loc["occ_rule", "tpr"] == pytest.approx(keep[te & y].mean())
    assert m.loc["occ_rule", "fpr"] == pytest.approx(keep[te & ~y].mean())
    st = res["stage"].set_index("method")
    assert st.loc["no filter", "loci_extended"] == len(ws)
    assert st.loc["occ_rule", "loci_extended"] == int(keep.sum())
    lost = set(ws["read"][te & y]) - set(ws["read"][te & y & keep])
    assert st.loc["occ_rule", "test_reads_losing_true_alignment"] == len(lost)
    assert (st["stage_cpu_s_min"] <= st["stage_cpu_s"]).all()
    assert (
        max(max(v.values()) for v in res["summary"]["onnx_max_abs_diff_vs_torch"].values()) < 1e-5
    )
    assert res["summary"]["coreml_spec"]["cnn_occ"]["convs"] == 3
    md = markdown_tables(res)
    assert md.count("\n| cnn_occ |") == 2 and "| occ <= 20 (chain default) |" in md
    card = real_card(res, params)
    assert "--epochs 1 --repeats 2 --seed 3" in card and md in card
