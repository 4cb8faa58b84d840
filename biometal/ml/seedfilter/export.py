"""Export of the trained seed filter: ONNX (checked against torch), Core ML ``.mlpackage``
and its INT8 weight-quantised variant (checked by loading their specs).

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

import json
import logging
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np

from biometal.errors import BiometalError
from biometal.io.atomic import atomic_path
from biometal.ml.seedfilter.train import load_cnn

log = logging.getLogger(__name__)

INPUT_NAME = "windows"
#: second input of a model with side inputs (``SeedFilterCNN(n_side=k)``): (B, k) float32
SIDE_NAME = "side"
OUTPUT_NAME = "p_viable"
DEFAULT_BATCH_SIZES = (512, 1024, 2048)


class ExportError(BiometalError):
    """An exported model does not reproduce the torch model or its spec is invalid."""


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

    prob = SeedFilterProb(model).eval()
    n_side = int(getattr(model, "n_side", 0))
    args: tuple = (torch.zeros(2, 2, width, 4),)
    names = [INPUT_NAME]
    if n_side:
        args = (*args, torch.zeros(2, n_side))
        names.append(SIDE_NAME)
    axes = {k: {0: "batch"} for k in (*names, OUTPUT_NAME)}
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            prob,
            args,
            str(tmp),
            input_names=names,
            output_names=[OUTPUT_NAME],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
        import onnx

        onnx.checker.check_model(onnx.load(str(tmp)))


def check_onnx(model, onnx_path, batch_sizes, atol: float = 1e-5, width: int = 128) -> dict:
    """Largest |ORT - torch| per batch size; raises :class:`ExportError` above ``atol``."""
    import onnxruntime as ort
    import torch

    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    out = {}
    n_side = int(getattr(model, "n_side", 0))
    for b in batch_sizes:
        x = random_windows(b, width, seed=b)
        feed = {INPUT_NAME: x}
        side = None
        if n_side:
            feed[SIDE_NAME] = random_side(b, n_side, seed=b)
            side = torch.from_numpy(feed[SIDE_NAME])
        with torch.no_grad():
            ref = torch.sigmoid(model(torch.from_numpy(x), side)).numpy()
        got = sess.run([OUTPUT_NAME], feed)[0]
        if got.shape != (b,):
            raise ExportError(f"{onnx_path}: output shape {got.shape} for batch {b}, want ({b},)")
        diff = float(np.abs(got - ref).max())
        out[str(b)] = diff
        if not diff <= atol:
            raise ExportError(
                f"{onnx_path}: ONNX Runtime differs from torch by {diff:.3g} at batch {b} "
                f"(tolerance {atol:g})"
            )
    return out


def _quiet_coremltools():
    logging.getLogger("coremltools").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import coremltools as ct
    return ct


def export_coreml(
    model, path: str | os.PathLike, batch_sizes, width: int = 128, int8: bool = False
):
    """Convert to a Core ML ML program (``.mlpackage`` directory, written atomically)."""
    import torch

    from biometal.ml.seedfilter.model import SeedFilterProb

    ct = _quiet_coremltools()
    prob = SeedFilterProb(model).eval()
    sizes = sorted(int(b) for b in batch_sizes)
    n_side = int(getattr(model, "n_side", 0))
    example: tuple = (torch.zeros(sizes[0], 2, width, 4),)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if n_side:
            # two inputs cannot both have enumerated shapes before macOS 15: a batch range
            example = (*example, torch.zeros(sizes[0], n_side))
            b = ct.RangeDim(1, sizes[-1], default=sizes[0])
            inputs = [
                ct.TensorType(name=INPUT_NAME, shape=(b, 2, width, 4), dtype=np.float32),
                ct.TensorType(name=SIDE_NAME, shape=(b, n_side), dtype=np.float32),
            ]
        else:
            shapes = ct.EnumeratedShapes(
                shapes=[(b, 2, width, 4) for b in sizes], default=(sizes[0], 2, width, 4)
            )
            inputs = [ct.TensorType(name=INPUT_NAME, shape=shapes, dtype=np.float32)]
        ml = convert_mlprogram(torch.jit.trace(prob, example), inputs, OUTPUT_NAME, int8)
    ml.short_description = "biometal seed-viability CNN: P(seed extends to a correct alignment)"
    ml.input_description[INPUT_NAME] = "(B, 2, 128, 4) one-hot query and reference windows"
    if n_side:
        ml.input_description[SIDE_NAME] = f"(B, {n_side}) log2(1 + occurrences of the seed)"
    ml.output_description[OUTPUT_NAME] = "(B,) probability that the seed is viable"
    save_mlpackage(ml, path)


def convert_mlprogram(traced, inputs: list, output_name: str, int8: bool = False):
    """A traced torch model as a Core ML ML program (macOS 13+, float16 compute; INT8
    weights if ``int8``), the one conversion every shipped model goes through."""
    ct = _quiet_coremltools()
    ml = ct.convert(
        traced,
        inputs=inputs,
        outputs=[ct.TensorType(name=output_name, dtype=np.float32)],
        convert_to="mlprogram",
        minimum_deployment_target=ct.target.macOS13,
        compute_precision=ct.precision.FLOAT16,
    )
    return quantize_int8(ml) if int8 else ml


def quantize_int8(ml):
    """The Core ML model with every weight tensor INT8 (``linear_symmetric`` per channel)."""
    from coremltools.optimize.coreml import (
        OpLinearQuantizerConfig,
        OptimizationConfig,
        linear_quantize_weights,
    )

    cfg = OptimizationConfig(
        global_config=OpLinearQuantizerConfig(
            mode="linear_symmetric", dtype="int8", weight_threshold=0
        )
    )
    return linear_quantize_weights(ml, config=cfg)


def save_mlpackage(ml, path: str | os.PathLike) -> None:
    """Save a Core ML model as an ``.mlpackage`` directory atomically (temp dir + rename)."""
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    try:
        ml.save(str(tmp / final.name))
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp / final.name, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def validate_mlpackage(
    path: str | os.PathLike,
    batch_sizes,
    int8: bool = False,
    input_name: str = INPUT_NAME,
    output_name: str = OUTPUT_NAME,
) -> dict:
    """Reload an ``.mlpackage`` without compiling it and check its spec (see module doc;
    the input and output names default to the seed filter's)."""
    ct = _quiet_coremltools()
    path = Path(path)
    try:
        ml = ct.models.MLModel(str(path), skip_model_load=True)
        spec = ml.get_spec()
    except Exception as exc:  # coremltools raises plain Exceptions for bad packages
        raise ExportError(f"{path}: Core ML package does not load: {exc}") from None
    if spec.WhichOneof("Type") != "mlProgram":
        raise ExportError(f"{path}: not an ML program ({spec.WhichOneof('Type')})")
    ins = {i.name: i for i in spec.description.input}
    outs = [o.name for o in spec.description.output]
    side = input_name == INPUT_NAME and list(ins) == [INPUT_NAME, SIDE_NAME]
    if (list(ins) != [input_name] and not side) or outs != [output_name]:
        raise ExportError(
            f"{path}: inputs {list(ins)} outputs {outs}, want {input_name} -> {output_name}"
        )
    if side:  # the seed filter with side inputs: one batch range (see export_coreml)
        rng = ins[input_name].type.multiArrayType.shapeRange.sizeRanges[0]
        lo, hi = int(rng.lowerBound), int(rng.upperBound)
        if lo > min(batch_sizes) or 0 <= hi < max(batch_sizes):
            raise ExportError(f"{path}: batch range {lo}..{hi} misses {sorted(batch_sizes)}")
        got = sorted(int(b) for b in batch_sizes)
    else:
        enum = ins[input_name].type.multiArrayType.enumeratedShapes.shapes
        got = sorted(int(s.shape[0]) for s in enum)
        if got != sorted(int(b) for b in batch_sizes):
            raise ExportError(f"{path}: enumerated batch sizes {got}, want {sorted(batch_sizes)}")
    ops: dict[str, int] = {}
    for fn in spec.mlProgram.functions.values():
        for block in fn.block_specializations.values():
            for op in block.operations:
                ops[op.type] = ops.get(op.type, 0) + 1
    n_quant = sum(v for k, v in ops.items() if k.startswith("constexpr_"))
    if int8 and n_quant == 0:
        raise ExportError(f"{path}: INT8 package has no quantised (constexpr) weights")
    weights = path / "Data" / "com.apple.CoreML" / "weights" / "weight.bin"
    if not weights.is_file():
        raise ExportError(f"{path}: weights file missing")
    return {
        "spec_version": int(spec.specificationVersion),
        "batch_sizes": got,
        "n_ops": int(sum(ops.values())),
        "quantized_weight_ops": int(n_quant),
        "convs": int(ops.get("conv", 0)),
        "bytes": int(sum(f.stat().st_size for f in path.rglob("*") if f.is_file())),
    }


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
    report = {
        "onnx": {
            "path": str(onnx_out),
            "bytes": Path(onnx_out).stat().st_size,
            "max_abs_diff_vs_torch": diffs,
            "atol": atol,
        },
        "threshold": meta["threshold"],
    }
    for key, out, int8 in (
        ("coreml", mlpackage_out, False),
        ("coreml_int8", mlpackage_int8_out, True),
    ):
        try:
            export_coreml(model, out, batch_sizes, width, int8=int8)
        except ExportError:
            raise
        except Exception as exc:  # a converter failure is reported, with its message
            raise ExportError(f"{out}: Core ML conversion failed: {exc}") from exc
        report[key] = validate_mlpackage(out, batch_sizes, int8=int8)
    with atomic_path(report_out) as tmp:
        tmp.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    log.info("export: %s", report)
    return report
