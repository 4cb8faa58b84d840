"""Export of the variant filter: ONNX (checked against torch) and Core ML ``.mlpackage``
(float16 and INT8 weights), through the shared export functions of :mod:`biometal.ml.export`.

- ONNX: ``torch.onnx.export`` (TorchScript exporter, opset 17) of
  :class:`~biometal.ml.varfilter.model.VarFilterProb`: input ``windows`` float32 (B, C, W)
  with a dynamic batch axis, output ``p_real`` (B,). ONNX Runtime (CPU provider) is compared
  with torch on random windows at every export batch size: the largest absolute difference
  must be <= ``atol`` (1e-5) or :class:`~biometal.ml.export.ExportError`.
- Core ML: ML program (macOS 13+, float16) with enumerated batch sizes; the INT8 variant
  quantises every weight (:func:`biometal.ml.export.convert_mlprogram`); both are
  saved atomically and validated by reloading their specs
  (:func:`biometal.ml.export.validate_mlpackage`); Core ML cannot run predictions
  on Linux.
- :class:`VarFilterOnnxBackend`: the seed filter's ONNX Runtime backend (fixed batch sizes,
  providers CoreML -> CUDA -> CPU) on (B, C, W) windows.
"""

from __future__ import annotations

import logging
import os

import numpy as np

from biometal.errors import BiometalError
from biometal.ml import export as ex
from biometal.ml.export import ExportError  # noqa: F401  (re-exported)
from biometal.ml.seedfilter.backends import OnnxRuntimeBackend

log = logging.getLogger(__name__)

INPUT_NAME = "windows"
OUTPUT_NAME = "p_real"
DEFAULT_BATCH_SIZES = (64, 256, 1024)


def random_windows(n: int, n_channels: int, width: int, seed: int = 0) -> np.ndarray:
    """float32 (n, C, W) windows in the range of real ones: one-hot bases in rows 0-3
    (5% N), uniform [0, 1) elsewhere."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, n_channels, width), dtype=np.float32)
    x[:, 0:4] = 0.0
    codes = rng.integers(0, 4, (n, width))
    np.put_along_axis(x[:, 0:4].transpose(0, 2, 1), codes[..., None], 1.0, axis=2)
    x[:, 0:4][np.broadcast_to(rng.random((n, 1, width)) < 0.05, (n, 4, width))] = 0.0
    return x


def export_onnx(model, path: str | os.PathLike) -> None:
    """Write the probability model (sigmoid included) as ONNX with a dynamic batch axis."""
    import torch

    from biometal.ml.varfilter.model import VarFilterProb

    dummy = torch.zeros(2, model.n_channels, model.width)
    ex.export_onnx(VarFilterProb(model).eval(), (dummy,), path, [INPUT_NAME], [OUTPUT_NAME])


def check_onnx(model, onnx_path, batch_sizes=DEFAULT_BATCH_SIZES, atol: float = 1e-5) -> dict:
    """Largest |ORT - torch| of P(real) per batch size; raises ExportError above ``atol``."""
    import torch

    def torch_fn(feed: dict) -> np.ndarray:
        with torch.no_grad():
            return torch.sigmoid(model(torch.from_numpy(feed[INPUT_NAME]))).numpy()

    return ex.check_onnx(
        onnx_path,
        batch_sizes,
        lambda b: {INPUT_NAME: random_windows(b, model.n_channels, model.width, seed=b)},
        torch_fn,
        atol,
        OUTPUT_NAME,
    )


def export_coreml(model, path: str | os.PathLike, batch_sizes, int8: bool = False) -> None:
    """Convert to a Core ML ML program (``.mlpackage``, float16; INT8 weights if ``int8``)."""
    import torch

    from biometal.ml.varfilter.model import VarFilterProb

    sizes = sorted(int(b) for b in batch_sizes)
    c, w = model.n_channels, model.width
    ex.export_coreml(
        VarFilterProb(model).eval(),
        (torch.zeros(sizes[0], c, w),),
        path,
        [ex.enumerated_input(INPUT_NAME, [(b, c, w) for b in sizes])],
        OUTPUT_NAME,
        int8=int8,
        description="biometal variant filter: P(candidate site is a real variant)",
        input_descriptions={INPUT_NAME: f"(B, {c}, {w}) channels of a window around the site"},
        output_description="(B,) probability that the candidate is real",
    )


def export_all(
    model,
    onnx_out: str | os.PathLike,
    mlpackage_out: str | os.PathLike | None = None,
    mlpackage_int8_out: str | os.PathLike | None = None,
    batch_sizes=DEFAULT_BATCH_SIZES,
    atol: float = 1e-5,
) -> dict:
    """ONNX (checked against torch) and, when paths are given, both Core ML packages
    (spec-validated); returns the report (differences, spec summaries, sizes in bytes)."""
    export_onnx(model, onnx_out)
    diffs = check_onnx(model, onnx_out, batch_sizes, atol)
    report: dict = {"onnx": ex.onnx_report(onnx_out, diffs, atol)}
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


def export_model(
    model_path: str | os.PathLike,
    onnx_out: str | os.PathLike,
    report_out: str | os.PathLike,
    mlpackage_out: str | os.PathLike | None = None,
    mlpackage_int8_out: str | os.PathLike | None = None,
    batch_sizes=DEFAULT_BATCH_SIZES,
) -> dict:
    """:func:`export_all` of a trained ``.pt``; the report (JSON, with the model's meta)
    is written to ``report_out``."""
    from biometal.ml.varfilter.train import load_model

    model, meta = load_model(model_path)
    report = export_all(model, onnx_out, mlpackage_out, mlpackage_int8_out, batch_sizes)
    report["meta"] = meta
    ex.write_report(report, report_out)
    return report


class VarFilterOnnxBackend(OnnxRuntimeBackend):
    """ONNX Runtime session of an exported variant filter (``windows`` -> ``p_real``);
    ``predict`` takes (B, C, W) windows."""

    def _check_batch(self, x: np.ndarray) -> None:
        if x.ndim != 3:
            raise BiometalError(f"{self.name}: expected (B, C, W) windows, got {x.shape}")

    def _zeros(self, b: int, width: int) -> np.ndarray:
        shape = self.session.get_inputs()[0].shape
        return np.zeros((b, int(shape[1]), int(shape[2])), np.float32)
