"""Export of the base-quality model: ONNX (checked against torch) and Core ML ``.mlpackage``
(float16 and INT8 weights), through the shared export functions of :mod:`biometal.ml.export`.

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
  (:class:`~biometal.ml.export.ExportError`).
- Core ML: ``coremltools.convert`` of the traced model to an ML program (macOS 13+) with
  enumerated batch sizes, float16 compute; the INT8 variant quantises every weight tensor
  (:func:`biometal.ml.export.quantize_int8`). Both are saved atomically and
  validated by reloading their specs (:func:`biometal.ml.export.validate_mlpackage`);
  Core ML cannot run predictions on Linux.
"""

from __future__ import annotations

import logging
import os

import numpy as np

from biometal.ml import export as ex
from biometal.ml.export import ExportError  # noqa: F401  (re-exported)
from biometal.ml.readqc.model import CONTEXT, N_FEATURES, FusedQualityNet

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
    import torch

    dummy = torch.from_numpy(random_features(4))
    ex.export_onnx(FusedQualityNet(model).eval(), (dummy,), path, [INPUT_NAME], [OUTPUT_NAME])


def check_onnx(model, onnx_path, batch_sizes, atol: float = 1e-4) -> dict:
    """Largest |ORT - torch| of the logits per batch size; raises :class:`ExportError`
    above ``atol``."""
    import torch

    def torch_fn(feed: dict) -> np.ndarray:
        with torch.no_grad():
            return model(torch.from_numpy(feed[INPUT_NAME])).numpy()

    return ex.check_onnx(
        onnx_path,
        batch_sizes,
        lambda b: {INPUT_NAME: random_features(b, seed=b)},
        torch_fn,
        atol,
        OUTPUT_NAME,
        what="ONNX Runtime logits differ",
    )


def export_coreml(model, path: str | os.PathLike, batch_sizes, int8: bool = False) -> None:
    """Convert to a Core ML ML program (``.mlpackage``, float16; INT8 weights if ``int8``)."""
    import torch

    sizes = sorted(int(b) for b in batch_sizes)
    ex.export_coreml(
        FusedQualityNet(model).eval(),
        (torch.from_numpy(random_features(sizes[0])),),
        path,
        [ex.enumerated_input(INPUT_NAME, [(b, N_FEATURES) for b in sizes])],
        OUTPUT_NAME,
        int8=int8,
        description="biometal base-quality model: P(base call is wrong)",
        input_descriptions={
            INPUT_NAME: "(B, 13): 9 context base codes (A0 C1 G2 T3 N4), reported Q, cycle, "
            "mate, read length"
        },
        output_description="(B,) logit of the probability that the call is wrong",
    )


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
    report = {"onnx": ex.onnx_report(onnx_out, diffs, atol, "max_abs_logit_diff_vs_torch")}
    report |= ex.coreml_variants(
        lambda out, int8: export_coreml(model, out, batch_sizes, int8=int8),
        mlpackage_out,
        mlpackage_int8_out,
        batch_sizes,
        input_name=INPUT_NAME,
        output_name=OUTPUT_NAME,
    )
    log.info("export: %s", report)
    return report
