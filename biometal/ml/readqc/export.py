"""Export of the base-quality model: ONNX (checked against torch) and Core ML ``.mlpackage``
(float16 and INT8 weights), with the seed filter's export helpers.

- What is exported is :class:`~biometal.ml.readqc.model.FusedQualityNet`, the trained
  network with its embeddings folded into the first layer (the same function, 1.4-1.7x
  cheaper on ONNX Runtime's CPU provider); the checks below compare it with the trained
  (unfused) torch model, so they cover the fusion too.
- ONNX: ``torch.onnx.export`` (TorchScript exporter, opset 17): input ``features`` float32 (B, 13)
  with a dynamic batch axis, output ``logit_error`` (B,), the logit of P(error) (the
  sigmoid is applied in float64 by the predictor; see the model's doc for why). ONNX
  Runtime (CPU) is compared with torch on random realistic features at every export batch
  size: the largest absolute difference of the logits must be <= ``atol`` (1e-4, so P
  differs by < 0.01% relative, 4e-4 Q) or the export fails
  (:class:`~biometal.ml.seedfilter.export.ExportError`).
- Core ML: ``coremltools.convert`` of the traced model to an ML program (macOS 13+) with
  enumerated batch sizes, float16 compute; the INT8 variant quantises every weight tensor
  (:func:`biometal.ml.seedfilter.export.quantize_int8`). Both are saved atomically and
  validated by reloading their specs (:func:`biometal.ml.seedfilter.export.validate_mlpackage`);
  Core ML cannot run predictions on Linux.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

import numpy as np

from biometal.ml.readqc.model import CONTEXT, N_FEATURES, FusedQualityNet
from biometal.ml.seedfilter.export import (
    ExportError,
    _quiet_coremltools,
    convert_mlprogram,
    save_mlpackage,
    validate_mlpackage,
)

log = logging.getLogger(__name__)

INPUT_NAME = "features"
OUTPUT_NAME = "logit_error"
DEFAULT_BATCH_SIZES = (1024, 8192, 65536)


def random_features(n: int, read_length: int = 150, seed: int = 0) -> np.ndarray:
    """float32 (n, 13) packed features of random bases: context codes 0..4 (2% N), Q 2..41,
    cycle 0..read_length-1, mate 0/1."""
    rng = np.random.default_rng(seed)
    x = np.empty((n, N_FEATURES), np.float32)
    ctx = rng.integers(0, 4, (n, 2 * CONTEXT + 1))
    ctx[rng.random(ctx.shape) < 0.02] = 4
    x[:, : 2 * CONTEXT + 1] = ctx
    x[:, 2 * CONTEXT + 1] = rng.integers(2, 42, n)
    x[:, 2 * CONTEXT + 2] = rng.integers(0, read_length, n)
    x[:, 2 * CONTEXT + 3] = rng.integers(0, 2, n)
    x[:, 2 * CONTEXT + 4] = read_length
    return x


def export_onnx(model, path: str | os.PathLike) -> None:
    """Write the probability model (sigmoid included) as ONNX with a dynamic batch axis."""
    import onnx
    import torch

    from biometal.io.atomic import atomic_path

    prob = FusedQualityNet(model).eval()
    dummy = torch.from_numpy(random_features(4))
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            prob,
            (dummy,),
            str(tmp),
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
        onnx.checker.check_model(onnx.load(str(tmp)))


def check_onnx(model, onnx_path, batch_sizes, atol: float = 1e-4) -> dict:
    """Largest |ORT - torch| of the logits per batch size; raises :class:`ExportError`
    above ``atol``."""
    import onnxruntime as ort
    import torch

    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    out = {}
    for b in batch_sizes:
        x = random_features(int(b), seed=int(b))
        with torch.no_grad():
            ref = model(torch.from_numpy(x)).numpy()
        got = sess.run([OUTPUT_NAME], {INPUT_NAME: x})[0]
        if got.shape != (b,):
            raise ExportError(f"{onnx_path}: output shape {got.shape} for batch {b}, want ({b},)")
        diff = float(np.max(np.abs(got - ref)))
        out[str(b)] = diff
        if not diff <= atol:
            raise ExportError(
                f"{onnx_path}: ONNX Runtime logits differ from torch by {diff:.3g} at batch "
                f"{b} (tolerance {atol:g})"
            )
    return out


def export_coreml(model, path: str | os.PathLike, batch_sizes, int8: bool = False) -> None:
    """Convert to a Core ML ML program (``.mlpackage``, float16; INT8 weights if ``int8``)."""
    import torch

    ct = _quiet_coremltools()
    prob = FusedQualityNet(model).eval()
    sizes = sorted(int(b) for b in batch_sizes)
    example = torch.from_numpy(random_features(sizes[0]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        shapes = ct.EnumeratedShapes(
            shapes=[(b, N_FEATURES) for b in sizes], default=(sizes[0], N_FEATURES)
        )
        inputs = [ct.TensorType(name=INPUT_NAME, shape=shapes, dtype=np.float32)]
        ml = convert_mlprogram(torch.jit.trace(prob, example), inputs, OUTPUT_NAME, int8)
    ml.short_description = "biometal base-quality model: P(base call is wrong)"
    ml.input_description[INPUT_NAME] = (
        "(B, 13): 9 context base codes (A0 C1 G2 T3 N4), reported Q, cycle, mate, read length"
    )
    ml.output_description[OUTPUT_NAME] = "(B,) logit of the probability that the call is wrong"
    save_mlpackage(ml, path)


def export_all(
    model,
    onnx_out: str | os.PathLike,
    mlpackage_out: str | os.PathLike,
    mlpackage_int8_out: str | os.PathLike,
    batch_sizes=DEFAULT_BATCH_SIZES,
    atol: float = 1e-4,
) -> dict:
    """Export a trained model to ONNX (checked against torch) and both Core ML packages
    (spec-validated); returns the report (differences, spec summaries, sizes in bytes)."""
    export_onnx(model, onnx_out)
    diffs = check_onnx(model, onnx_out, batch_sizes, atol)
    report = {
        "onnx": {
            "path": str(onnx_out),
            "bytes": Path(onnx_out).stat().st_size,
            "max_abs_logit_diff_vs_torch": diffs,
            "atol": atol,
        }
    }
    for key, out, int8 in (
        ("coreml", mlpackage_out, False),
        ("coreml_int8", mlpackage_int8_out, True),
    ):
        try:
            export_coreml(model, out, batch_sizes, int8=int8)
        except ExportError:
            raise
        except Exception as exc:  # a converter failure is reported with its message
            raise ExportError(f"{out}: Core ML conversion failed: {exc}") from exc
        report[key] = validate_mlpackage(
            out, batch_sizes, int8=int8, input_name=INPUT_NAME, output_name=OUTPUT_NAME
        )
    log.info("export: %s", report)
    return report
