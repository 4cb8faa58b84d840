"""The shared export functions (biometal.ml.export) on a small torch module: ONNX Runtime
against torch (and the check failing when they differ), Core ML spec validation."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

from biometal.ml import export as ex  # noqa: E402


def _module(seed: int = 0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(6, 3), torch.nn.Tanh()).eval()


def _feed(b: int) -> dict:
    return {"x": np.random.default_rng(b).normal(size=(b, 6)).astype(np.float32)}


def _torch(m):
    def fn(feed):
        with torch.no_grad():
            return m(torch.from_numpy(feed["x"])).numpy()

    return fn


def test_onnx_export_and_check(tmp_path):
    m = _module()
    path = tmp_path / "m.onnx"
    ex.export_onnx(m, (torch.zeros(2, 6),), path, ["x"], ["y"])
    diffs = ex.check_onnx(path, (1, 5, 64), _feed, _torch(m), 1e-6)
    assert set(diffs) == {"1", "5", "64"} and max(diffs.values()) <= 1e-6
    # another model: the check fails, naming the file and the batch
    with pytest.raises(ex.ExportError, match=r"m\.onnx: ONNX Runtime differs .* at batch 5"):
        ex.check_onnx(path, (5,), _feed, _torch(_module(1)), 1e-4)
    # a reference of another shape
    with pytest.raises(ex.ExportError, match=r"output shape \(5, 3\) for batch 5, want \(5,\)"):
        ex.check_onnx(path, (5,), _feed, lambda f: _torch(m)(f)[:, 0], 1e-4, "y")
    rep = ex.onnx_report(path, diffs, 1e-6)
    assert rep["bytes"] == path.stat().st_size and rep["max_abs_diff_vs_torch"] == diffs


def test_coreml_export_and_validate(tmp_path):
    pytest.importorskip("coremltools")
    m = _module()
    fp16, int8 = tmp_path / "m.mlpackage", tmp_path / "m8.mlpackage"
    ex.export_coreml(
        m,
        (torch.zeros(4, 6),),
        fp16,
        [ex.enumerated_input("x", [(4, 6), (16, 6)])],
        "y",
        int8_path=int8,
        description="test",
        input_descriptions={"x": "(B, 6)"},
        output_description="(B, 3)",
    )
    a = ex.validate_mlpackage(fp16, (16, 4), input_name="x", output_name="y")
    b = ex.validate_mlpackage(int8, (4, 16), True, input_name="x", output_name="y")
    assert a["batch_sizes"] == b["batch_sizes"] == [4, 16]
    assert a["quantized_weight_ops"] == 0 < b["quantized_weight_ops"]
    with pytest.raises(ex.ExportError, match="enumerated batch sizes"):
        ex.validate_mlpackage(fp16, (4, 8), input_name="x", output_name="y")
    with pytest.raises(ex.ExportError, match="want x -> z"):
        ex.validate_mlpackage(fp16, (4, 16), input_name="x", output_name="z")
    with pytest.raises(ex.ExportError, match="no quantised"):
        ex.validate_mlpackage(fp16, (4, 16), True, input_name="x", output_name="y")
    # a module that does not trace: one ExportError naming the package
    with pytest.raises(ex.ExportError, match=r"bad\.mlpackage: Core ML conversion failed"):
        ex.export_coreml(
            m, (torch.zeros(4, 7),), tmp_path / "bad.mlpackage", [], "y", description="x"
        )
