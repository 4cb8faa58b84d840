"""Export of the trained seed filter: ONNX (checked against torch), Core ML ``.mlpackage``
and its INT8 weight-quantised variant (checked by loading their specs), through the shared
export functions of :mod:`biometal.ml.export`.

- ONNX: ``torch.onnx.export`` (the TorchScript exporter, ``dynamo=False``: the torch.export
  route needs onnxscript, which is not a dependency), opset 17, input ``windows``
  (B, 2, 128, 4) float32 with a dynamic batch axis, output ``p_viable`` (B,). The outputs of
  ONNX Runtime (CPU provider) are compared with torch's on random one-hot windows at every
  configured batch size (512, 1024, 2048): the largest absolute difference must be <= ``atol``
  (1e-5) or the export fails.
- Core ML: ``coremltools.convert`` of the ``torch.jit.trace``d model to an ML program
  (``.mlpackage``, macOS 13+) with enumerated input shapes for the same batch sizes,
  float16 compute (the Neural Engine's precision); the INT8 variant quantises every weight
  tensor (``linear_symmetric`` per channel). coremltools cannot run predictions on Linux;
  both packages are validated by reloading them without compiling (``skip_model_load``)
  and checking the spec: ML program, input/output names, the enumerated shapes, and (INT8)
  that the weights are int8 ``constexpr`` dequantisations.
- A model with side inputs (``SeedFilterCNN(n_side=k)``: the occurrence-aware variant of
  :mod:`biometal.ml.seedfilter.realseq`) gets a second input ``side`` (B, k) float32: in
  ONNX with the same dynamic batch axis (checked against torch on random windows and side
  values), in Core ML with one batch range ``1..max(batch_sizes)`` for both inputs (two
  inputs with enumerated shapes need macOS 15); the spec check accepts that range instead.
"""

from __future__ import annotations

import logging
import os
import warnings

import numpy as np

from biometal.ml import export as ex
from biometal.ml.export import (  # noqa: F401  (re-exported: this module's public names)
    ExportError,
    convert_mlprogram,
    quantize_int8,
    save_mlpackage,
)
from biometal.ml.seedfilter.train import load_cnn

log = logging.getLogger(__name__)

INPUT_NAME = "windows"
#: second input of a model with side inputs (``SeedFilterCNN(n_side=k)``): (B, k) float32
SIDE_NAME = "side"
OUTPUT_NAME = "p_viable"
DEFAULT_BATCH_SIZES = (512, 1024, 2048)


def random_windows(n: int, width: int = 128, seed: int = 0) -> np.ndarray:
    """float32 (n, 2, width, 4) one-hot windows of random bases (5% N = all zeros)."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, (n, 2, width))
    x = np.zeros((n, 2, width, 4), np.float32)
    np.put_along_axis(x, codes[..., None], 1.0, axis=3)
    x[rng.random((n, 2, width)) < 0.05] = 0.0
    return x


def random_side(n: int, n_side: int, seed: int = 0) -> np.ndarray:
    """float32 (n, n_side) side inputs in the range of ``log2(1 + occ)`` (0..10)."""
    return np.random.default_rng(seed).uniform(0, 10, (n, n_side)).astype(np.float32)


def export_onnx(model, path: str | os.PathLike, width: int = 128) -> None:
    """Write the probability model (sigmoid included) as ONNX with a dynamic batch axis
    (inputs ``windows``, and ``side`` when the model has side inputs)."""
    import torch

    from biometal.ml.seedfilter.model import SeedFilterProb

    n_side = int(getattr(model, "n_side", 0))
    args: tuple = (torch.zeros(2, 2, width, 4),)
    names = [INPUT_NAME]
    if n_side:
        args = (*args, torch.zeros(2, n_side))
        names.append(SIDE_NAME)
    ex.export_onnx(
        SeedFilterProb(model).eval(), args, path, names, [OUTPUT_NAME], ignore=DeprecationWarning
    )


def check_onnx(model, onnx_path, batch_sizes, atol: float = 1e-5, width: int = 128) -> dict:
    """Largest |ORT - torch| per batch size; raises :class:`ExportError` above ``atol``."""
    import torch

    n_side = int(getattr(model, "n_side", 0))

    def make_inputs(b: int) -> dict:
        feed = {INPUT_NAME: random_windows(b, width, seed=b)}
        if n_side:
            feed[SIDE_NAME] = random_side(b, n_side, seed=b)
        return feed

    def torch_fn(feed: dict) -> np.ndarray:
        side = torch.from_numpy(feed[SIDE_NAME]) if n_side else None
        with torch.no_grad():
            return torch.sigmoid(model(torch.from_numpy(feed[INPUT_NAME]), side)).numpy()

    return ex.check_onnx(onnx_path, batch_sizes, make_inputs, torch_fn, atol, OUTPUT_NAME)


def export_coreml(
    model, path: str | os.PathLike, batch_sizes, width: int = 128, int8: bool = False
):
    """Convert to a Core ML ML program (``.mlpackage`` directory, written atomically)."""
    import torch

    from biometal.ml.seedfilter.model import SeedFilterProb

    sizes = sorted(int(b) for b in batch_sizes)
    n_side = int(getattr(model, "n_side", 0))
    example: tuple = (torch.zeros(sizes[0], 2, width, 4),)
    descriptions = {INPUT_NAME: "(B, 2, 128, 4) one-hot query and reference windows"}
    if n_side:
        # two inputs cannot both have enumerated shapes before macOS 15: a batch range
        ct = ex.coremltools()
        example = (*example, torch.zeros(sizes[0], n_side))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            b = ct.RangeDim(1, sizes[-1], default=sizes[0])
            inputs = [
                ct.TensorType(name=INPUT_NAME, shape=(b, 2, width, 4), dtype=np.float32),
                ct.TensorType(name=SIDE_NAME, shape=(b, n_side), dtype=np.float32),
            ]
        descriptions[SIDE_NAME] = f"(B, {n_side}) log2(1 + occurrences of the seed)"
    else:
        inputs = [ex.enumerated_input(INPUT_NAME, [(b, 2, width, 4) for b in sizes])]
    ex.export_coreml(
        SeedFilterProb(model).eval(),
        example,
        path,
        inputs,
        OUTPUT_NAME,
        int8=int8,
        description="biometal seed-viability CNN: P(seed extends to a correct alignment)",
        input_descriptions=descriptions,
        output_description="(B,) probability that the seed is viable",
    )


def validate_mlpackage(
    path: str | os.PathLike,
    batch_sizes,
    int8: bool = False,
    input_name: str = INPUT_NAME,
    output_name: str = OUTPUT_NAME,
) -> dict:
    """Reload an ``.mlpackage`` without compiling it and check its spec
    (:func:`biometal.ml.export.validate_mlpackage`; the input and output names default to
    the seed filter's, whose package may also have the side input, with a batch range)."""
    return ex.validate_mlpackage(
        path,
        batch_sizes,
        int8,
        input_name=input_name,
        output_name=output_name,
        optional_inputs=(SIDE_NAME,) if input_name == INPUT_NAME else (),
    )


def export_all(
    model_path: str | os.PathLike,
    onnx_out: str | os.PathLike,
    mlpackage_out: str | os.PathLike,
    mlpackage_int8_out: str | os.PathLike,
    report_out: str | os.PathLike,
    batch_sizes=DEFAULT_BATCH_SIZES,
    atol: float = 1e-5,
) -> dict:
    """Export a trained ``.pt`` to ONNX and both Core ML packages; write a JSON report of
    the checks (per-batch ONNX-vs-torch differences, Core ML spec summaries, sizes)."""
    model, meta = load_cnn(model_path)
    width = int(meta["width"])
    export_onnx(model, onnx_out, width)
    diffs = check_onnx(model, onnx_out, batch_sizes, atol, width)
    report = {"onnx": ex.onnx_report(onnx_out, diffs, atol), "threshold": meta["threshold"]}
    report |= ex.coreml_variants(
        lambda out, int8: export_coreml(model, out, batch_sizes, width, int8=int8),
        mlpackage_out,
        mlpackage_int8_out,
        batch_sizes,
        input_name=INPUT_NAME,
        output_name=OUTPUT_NAME,
        optional_inputs=(SIDE_NAME,),
    )
    ex.write_report(report, report_out)
    log.info("export: %s", report)
    return report
