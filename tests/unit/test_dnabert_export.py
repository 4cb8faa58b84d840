"""DNABERT export: ONNX Runtime == torch, Core ML packages valid, backend interface."""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("onnxruntime")

from biometal.ml.dnabert import export as ex  # noqa: E402
from biometal.ml.dnabert.finetune import SequenceClassifier  # noqa: E402
from biometal.ml.dnabert.model import BertConfig, BertMLM  # noqa: E402

VOCAB = 5 + 4**3


def _encoder(norm_first: bool = True, seed: int = 0) -> BertMLM:
    torch.manual_seed(seed)
    return BertMLM(BertConfig(VOCAB, 24, 32, 2, 4, 64, 0.1, 0, norm_first)).eval()


@pytest.mark.parametrize("norm_first", [True, False])
def test_onnx_encoder_equals_torch(tmp_path, norm_first):
    model = _encoder(norm_first)
    path = tmp_path / "enc.onnx"
    ex.export_onnx(model, path)
    diffs = ex.check_onnx(model, path, batch_sizes=(1, 7, 33), atol=1e-4)
    assert max(diffs.values()) < 1e-4
    # the check is not vacuous: a different model is far away
    other = _encoder(norm_first, seed=1)
    with pytest.raises(ex.ExportError):
        ex.check_onnx(other, path, batch_sizes=(4,), atol=1e-4)


def test_onnx_classifier_through_backend(tmp_path):
    torch.manual_seed(3)
    clf = SequenceClassifier(_encoder(), 5, "multiclass").eval()
    path = tmp_path / "clf.onnx"
    ex.export_onnx(clf, path)
    backend = ex.DnaBertOnnxBackend(path, ("CPUExecutionProvider",), batch_sizes=(8, 16))
    ids = ex.random_tokens(21, 24, VOCAB, seed=5)  # 21: two batches of 16, the last padded
    got = backend.predict(ids)
    ref = ex.torch_reference(clf, ids)
    assert got.shape == (21, 5)
    np.testing.assert_allclose(got, ref, atol=1e-4)
    assert backend.provider == "CPUExecutionProvider"
    with pytest.raises(Exception, match="token ids"):
        backend.predict(np.zeros((2, 24, 3)))


def test_padding_does_not_change_output(tmp_path):
    """Padding (id 0) positions are masked: a read's output is the same in any batch."""
    clf = SequenceClassifier(_encoder(), 3).eval()
    path = tmp_path / "clf.onnx"
    ex.export_onnx(clf, path)
    b = ex.DnaBertOnnxBackend(path, ("CPUExecutionProvider",), batch_sizes=(1, 4))
    ids = ex.random_tokens(4, 24, VOCAB, seed=9)
    one = np.concatenate([b.predict(ids[i : i + 1]) for i in range(4)])
    np.testing.assert_allclose(one, b.predict(ids), atol=1e-5)


def test_coreml_packages(tmp_path):
    pytest.importorskip("coremltools")
    model = _encoder()
    rep = ex.export_all(
        model,
        tmp_path / "enc.onnx",
        tmp_path / "enc.mlpackage",
        tmp_path / "enc_int8.mlpackage",
        tmp_path / "report.json",
        batch_sizes=(1, 8),
    )
    assert (tmp_path / "enc.mlpackage" / "Manifest.json").is_file()
    assert rep["coreml"]["batch_sizes"] == [1, 8]
    assert rep["coreml_int8"]["quantized_weight_ops"] > 0
    assert rep["coreml"]["quantized_weight_ops"] == 0
    assert rep["coreml_int8"]["bytes"] < rep["coreml"]["bytes"]
    import coremltools as ct

    spec = ct.models.MLModel(str(tmp_path / "enc.mlpackage"), skip_model_load=True).get_spec()
    (inp,) = spec.description.input
    (out,) = spec.description.output
    assert (inp.name, out.name) == ("input_ids", "hidden")
    shapes = [tuple(s.shape) for s in inp.type.multiArrayType.enumeratedShapes.shapes]
    assert sorted(shapes) == [(1, 24), (8, 24)]  # fixed sequence length
    assert inp.type.multiArrayType.dataType == ct.proto.FeatureTypes_pb2.ArrayFeatureType.INT32


def test_coreml_backend_unavailable_on_linux(tmp_path):
    import sys

    if sys.platform == "darwin":
        pytest.skip("Core ML runs here")
    with pytest.raises(Exception, match="macOS"):
        ex.DnaBertCoreMLBackend(tmp_path / "x.mlpackage")
