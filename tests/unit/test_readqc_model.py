"""Neural base-quality model: input packing, the untrained model = the reported qualities,
seeded training, calibration (temperature), learning a known context effect better than a
constant and the reported qualities, ONNX == torch, Core ML packages (spec-validated), and
the predictor as an ErrorPredictor inside the streaming FASTQ recalibration."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

from biometal.errors import BiometalError  # noqa: E402
from biometal.ml.readqc.export import (  # noqa: E402
    check_onnx,
    export_onnx,
    random_features,
)
from biometal.ml.readqc.model import (  # noqa: E402
    N_FEATURES,
    ReadQualityNet,
    error_from_logit,
    n_parameters,
    pack_features,
    reported_error,
)
from biometal.ml.readqc.predictor import NeuralQualityPredictor  # noqa: E402
from biometal.ml.readqc.train import (  # noqa: E402
    TrainParams,
    fit_temperature,
    load_model,
    log_loss_logits,
    predict_logits,
    save_model,
    split_blocks,
    train_from_features,
)
from biometal.readqc.covariates import read_features  # noqa: E402
from biometal.readqc.recalibrate import ErrorPredictor, phred, recalibrate_fastq  # noqa: E402

LETTERS = np.array(list("ACGTN"))


def context_task(n_reads: int, length: int, seed: int, q: int = 20):
    """Reads of random bases, every quality ``q`` (so it carries no information); a base
    after ``GG`` is wrong with probability 0.2, any other with 0.01."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, (n_reads, length)).astype(np.uint8)
    quals = np.full((n_reads, length), q, np.uint8)
    feats = read_features(codes, quals, np.full(n_reads, length), mate=0)
    gg = (feats.context[:, 2] == 2) & (feats.context[:, 3] == 2)
    p = np.where(gg, 0.2, 0.01)
    return feats, rng.random(p.shape[0]) < p, p, gg


SMALL = TrainParams(epochs=3, batch_size=1024, patience=2, block=500, threads=1, seed=3)


@pytest.fixture(scope="module")
def trained():
    feats, err, _, _ = context_task(1500, 60, seed=1)
    model, hist, summary = train_from_features(feats, err, TrainParams(epochs=6, threads=1))
    return model, hist, summary


def test_pack_features_columns():
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 5, (3, 12)).astype(np.uint8)
    quals = rng.integers(2, 41, (3, 12)).astype(np.uint8)
    feats = read_features(codes, quals, np.array([12, 7, 10]), mate=1)
    x = pack_features(feats)
    assert x.shape == (29, N_FEATURES) and x.dtype == np.float32
    np.testing.assert_array_equal(x[:, :9], feats.context)
    np.testing.assert_array_equal(x[:, 9], feats.quality)
    np.testing.assert_array_equal(x[:, 10], feats.cycle)
    assert (x[:, 11] == 1).all()
    np.testing.assert_array_equal(x[:, 12], feats.read_length)
    with pytest.raises(ValueError, match="context"):
        pack_features(feats.take(slice(0, 5)).__class__(*(x[:, :1] for _ in range(5))))


def test_untrained_model_reports_the_given_qualities():
    model = ReadQualityNet().eval()
    x = random_features(500, seed=2)
    with torch.no_grad():
        p = error_from_logit(model(torch.from_numpy(x)).numpy())
    np.testing.assert_allclose(p, reported_error(x[:, 9]), rtol=1e-5)
    assert n_parameters(model) == 5397
    assert model(torch.from_numpy(x)).shape == (500,)


def test_split_blocks_are_whole_and_seeded():
    v = split_blocks(10_000, 0.2, 100, seed=4)
    assert v.shape == (10_000,)
    blocks = v.reshape(100, 100)
    assert (blocks.all(1) | ~blocks.any(1)).all()  # every block on one side
    assert blocks.all(1).sum() == 20
    np.testing.assert_array_equal(v, split_blocks(10_000, 0.2, 100, seed=4))
    with pytest.raises(BiometalError):
        split_blocks(10, 1.5, 2, 0)


def test_fit_temperature_recovers_a_known_temperature():
    rng = np.random.default_rng(7)
    z = rng.normal(-2, 3, 200_000)
    y = rng.random(z.shape[0]) < error_from_logit(z / 2.0)
    t = fit_temperature(z, y)
    assert abs(t - 2.0) < 0.1
    assert log_loss_logits(z / t, y) < log_loss_logits(z, y)


def test_training_is_deterministic(tmp_path):
    feats, err, _, _ = context_task(200, 40, seed=5)
    m1, h1, _ = train_from_features(feats, err, SMALL)
    m2, h2, _ = train_from_features(feats, err, SMALL)
    for (k, a), b in zip(m1.state_dict().items(), m2.state_dict().values(), strict=True):
        assert torch.equal(a, b), k
    assert h1["val_loss"].tolist() == h2["val_loss"].tolist()
    save_model(m1, tmp_path / "m.pt")
    m3, meta = load_model(tmp_path / "m.pt")
    x = pack_features(feats)
    np.testing.assert_array_equal(predict_logits(m1, x), predict_logits(m3, x))
    assert meta["hidden"] == [32, 32]
    with pytest.raises(BiometalError, match="both classes"):
        train_from_features(feats, np.zeros(len(feats), bool), SMALL)


def test_model_learns_a_context_effect(trained):
    model, hist, summary = trained
    feats, err, p_true, gg = context_task(800, 60, seed=11)  # held out
    z = predict_logits(model, pack_features(feats))
    p = error_from_logit(z).astype(np.float64)
    ll_model = -np.mean(err * np.log(p) + (~err) * np.log1p(-p))
    rate = summary["errors_train"] / summary["bases_train"]
    ll_const = -np.mean(err * np.log(rate) + (~err) * np.log1p(-rate))
    rep = 10**-2.0
    ll_reported = -np.mean(err * np.log(rep) + (~err) * np.log1p(-rep))
    ll_true = -np.mean(err * np.log(p_true) + (~err) * np.log1p(-p_true))
    assert ll_model < ll_const - 0.01 and ll_model < ll_reported
    assert ll_model < ll_true + 0.005
    # the effect itself, calibrated: P(error | GG) ~ 0.2, elsewhere ~ 0.01
    assert 0.15 < p[gg].mean() < 0.25
    assert 0.007 < p[~gg].mean() < 0.014
    assert 0.5 < summary["temperature"] < 2.0
    assert summary["val_logloss"] <= summary["val_logloss_reported_q"]


def test_onnx_matches_torch_and_predictor(trained, tmp_path):
    model = trained[0]
    path = tmp_path / "q.onnx"
    export_onnx(model, path)
    diffs = check_onnx(model, path, (7, 1024))
    assert max(diffs.values()) <= 1e-4
    pred = NeuralQualityPredictor(path, threads=1, batch_sizes=(256, 1000))
    assert isinstance(pred, ErrorPredictor)
    feats, _, _, _ = context_task(37, 60, seed=12)  # 2,220 bases: padded last batch
    got = pred.error_probability(feats)
    want = error_from_logit(predict_logits(model, pack_features(feats)))
    assert got.dtype == np.float32 and got.shape == (len(feats),)
    np.testing.assert_allclose(got, want, rtol=1e-4)
    assert ((got > 0) & (got < 1)).all()
    assert pred.error_probability(feats.take(slice(0, 0))).shape == (0,)
    with pytest.raises(BiometalError, match="features"):
        pred.backend.predict(np.zeros((4, 5), np.float32))
    with pytest.raises(BiometalError, match="no such model"):
        NeuralQualityPredictor(tmp_path / "missing.onnx")


def test_recalibrate_fastq_with_the_neural_predictor(trained, tmp_path):
    model = trained[0]
    path = tmp_path / "q.onnx"
    export_onnx(model, path)
    pred = NeuralQualityPredictor(path, threads=1)
    rng = np.random.default_rng(3)
    codes = rng.integers(0, 4, (25, 50)).astype(np.uint8)
    codes[0, 5] = 4
    fq = tmp_path / "in.fq"
    with open(fq, "w") as fh:
        for i, row in enumerate(codes):
            fh.write(f"@r{i}\n{''.join(LETTERS[row])}\n+\n{'5' * 50}\n")
    out = tmp_path / "out.fq.gz"
    recalibrate_fastq(fq, out, pred, mate=0, chunk_reads=7)
    lines = gzip.open(out, "rt").read().splitlines()
    got = np.array([[ord(c) - 33 for c in q] for q in lines[3::4]])
    feats = read_features(codes, np.full((25, 50), 20, np.uint8), np.full(25, 50))
    want = phred(pred.error_probability(feats)).reshape(25, 50)
    want[0, 5] = 20  # N keeps its quality
    np.testing.assert_array_equal(got, want)
    assert lines[1::4] == ["".join(LETTERS[r]) for r in codes]


def test_coreml_packages(trained, tmp_path):
    pytest.importorskip("coremltools")
    from biometal.ml.readqc.export import INPUT_NAME, OUTPUT_NAME, export_coreml
    from biometal.ml.seedfilter.export import validate_mlpackage

    for int8 in (False, True):
        out = tmp_path / f"q{int(int8)}.mlpackage"
        export_coreml(trained[0], out, (1024, 8192), int8=int8)
        info = validate_mlpackage(
            out, (1024, 8192), int8=int8, input_name=INPUT_NAME, output_name=OUTPUT_NAME
        )
        assert info["batch_sizes"] == [1024, 8192]
        assert (info["quantized_weight_ops"] > 0) == int8


def test_ship_writes_models_and_card(trained, tmp_path):
    pytest.importorskip("coremltools")
    import pandas as pd

    from biometal.ml.readqc.ship import NAMES, ship_quality_model

    model, _, summary = trained
    metrics = pd.DataFrame(
        [
            {
                "method": "neural_onnx",
                "bases": 10,
                "errors": 1,
                "ece_q": 0.5,
                "log_loss": 0.1,
                "mae_true_q": 1.0,
                "pearson_r_true_q": 0.9,
            }
        ]
    )
    rep = ship_quality_model(model, summary, metrics, tmp_path / "models", "data.", "make it")
    for name in NAMES.values():
        assert (tmp_path / "models" / name).exists(), name
    card = (tmp_path / "models" / NAMES["card"]).read_text()
    assert "| neural_onnx | 10 | 1 | 0.5 |" in card and "    make it" in card
    assert "5,397 parameters" in card
    assert rep["total_bytes"] < 512 * 1024
    assert not [p for p in (tmp_path / "models").iterdir() if p.name.startswith(".")]


def test_fused_model_is_the_same_function(trained):
    from biometal.ml.readqc.model import FusedQualityNet

    model = trained[0]
    x = torch.from_numpy(random_features(4096, read_length=250, seed=9))
    with torch.no_grad():
        np.testing.assert_allclose(FusedQualityNet(model)(x), model(x), atol=2e-5)


def test_shipped_model_loads_and_orders_qualities():
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "models" / "readqc_quality.onnx"
    if not path.exists():
        pytest.skip("models/readqc_quality.onnx not shipped (bench/readqc_model.py --ship)")
    pred = NeuralQualityPredictor(path, threads=1)
    rng = np.random.default_rng(2)
    codes = rng.integers(0, 4, (400, 150)).astype(np.uint8)
    p = {}
    for q in (12, 23, 37):  # the binned qualities it was trained on
        feats = read_features(codes, np.full((400, 150), q, np.uint8), np.full(400, 150))
        p[q] = float(pred.error_probability(feats).mean())
    assert p[12] > p[23] > p[37] > 0
