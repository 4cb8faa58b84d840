"""ONNX and Core ML export of the project's torch models, and the checks every export passes
(the seed filter, the base-quality model, the variant filter and DNABERT call these with
their own graphs, input names and random inputs).

- ONNX (:func:`export_onnx`): ``torch.onnx.export`` with the TorchScript exporter
  (``dynamo=False``: the torch.export route needs onnxscript, not a dependency), opset 17,
  dynamic batch axes, written atomically and passed through ``onnx.checker``.
  :func:`check_onnx` runs ONNX Runtime (CPU provider) and the torch model on the same random
  inputs at every batch size: an output of another shape, or a largest absolute difference
  above ``atol``, raises :class:`ExportError`.
- Core ML (:func:`export_coreml`): ``coremltools.convert`` of the ``torch.jit.trace``d model
  to an ML program (``.mlpackage``, macOS 13+, float16 compute) with enumerated input shapes
  (:func:`enumerated_input`), optionally with every weight INT8 (:func:`quantize_int8`,
  ``linear_symmetric`` per channel); saved atomically (:func:`save_mlpackage`). coremltools
  cannot predict on Linux: :func:`validate_mlpackage` reloads a package without compiling it
  and checks its spec (ML program, input / output names, batch shapes, INT8 ``constexpr``
  weights).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from biometal.errors import BiometalError
from biometal.io.atomic import atomic_path

ONNX_OPSET = 17


class ExportError(BiometalError):
    """An exported model does not reproduce the torch model or its spec is invalid."""


# ----------------------------------------------------------------------------------- ONNX


def export_onnx(
    module,
    example_inputs: tuple,
    path: str | os.PathLike,
    input_names: Sequence[str],
    output_names: Sequence[str],
    dynamic_axes: Mapping[str, Mapping[int, str]] | None = None,
    ignore: type[Warning] = Warning,
) -> None:
    """Write ``module`` (eval mode) as ONNX, atomically, and check it with ``onnx.checker``.
    ``dynamic_axes``: default axis 0 (``batch``) of every input and output; ``ignore``: the
    warning category silenced during the export."""
    import torch

    if dynamic_axes is None:
        dynamic_axes = {k: {0: "batch"} for k in (*input_names, *output_names)}
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", ignore)
        torch.onnx.export(
            module,
            tuple(example_inputs),
            str(tmp),
            input_names=list(input_names),
            output_names=list(output_names),
            dynamic_axes={k: dict(v) for k, v in dynamic_axes.items()},
            opset_version=ONNX_OPSET,
            dynamo=False,
        )
        import onnx

        onnx.checker.check_model(onnx.load(str(tmp)))


def check_onnx(
    onnx_path: str | os.PathLike,
    batch_sizes: Iterable[int],
    make_inputs: Callable[[int], dict[str, np.ndarray]],
    torch_fn: Callable[[dict[str, np.ndarray]], np.ndarray],
    atol: float,
    output_name: str | None = None,
    what: str = "ONNX Runtime differs",
) -> dict[str, float]:
    """Largest |ONNX Runtime - torch| per batch size (``{str(b): diff}``).

    ``make_inputs(b)``: the ONNX feed (input name -> array) of batch ``b``; ``torch_fn(feed)``:
    the torch model's output on it as an array; ``output_name``: the ONNX output compared
    (default the first). Raises :class:`ExportError` when ONNX Runtime's output has another
    shape or differs by more than ``atol`` (``what``: the subject of that message)."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    name = output_name or sess.get_outputs()[0].name
    out: dict[str, float] = {}
    for b in batch_sizes:
        feed = make_inputs(int(b))
        ref = np.asarray(torch_fn(feed))
        got = sess.run([name], feed)[0]
        if got.shape != ref.shape:
            raise ExportError(
                f"{onnx_path}: output shape {got.shape} for batch {b}, want {ref.shape}"
            )
        diff = float(np.abs(got - ref).max())
        out[str(b)] = diff
        if not diff <= atol:
            raise ExportError(
                f"{onnx_path}: {what} from torch by {diff:.3g} at batch {b} (tolerance {atol:g})"
            )
    return out


def onnx_report(
    path: str | os.PathLike,
    diffs: dict[str, float],
    atol: float,
    key: str = "max_abs_diff_vs_torch",
) -> dict:
    """The ``onnx`` entry of an export report: path, size in bytes, differences, tolerance."""
    return {"path": str(path), "bytes": Path(path).stat().st_size, key: diffs, "atol": atol}


def write_report(report: dict, path: str | os.PathLike) -> None:
    """An export report as sorted, indented JSON (written atomically)."""
    with atomic_path(path) as tmp:
        Path(tmp).write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")


# -------------------------------------------------------------------------------- Core ML


def coremltools():
    """``coremltools``, imported without its import-time warnings and INFO logging."""
    logging.getLogger("coremltools").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import coremltools as ct
    return ct


def enumerated_input(name: str, shapes: Sequence[Sequence[int]], dtype=np.float32):
    """A Core ML input ``name`` of enumerated ``shapes`` (the first is the default)."""
    ct = coremltools()
    shapes = [tuple(int(d) for d in s) for s in shapes]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ct.TensorType(
            name=name, shape=ct.EnumeratedShapes(shapes=shapes, default=shapes[0]), dtype=dtype
        )


def convert_mlprogram(traced, inputs: list, output_name: str, int8: bool = False):
    """A traced torch model as a Core ML ML program (macOS 13+, float16 compute; INT8
    weights if ``int8``), the one conversion every shipped model goes through."""
    ct = coremltools()
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


def export_coreml(
    module,
    example_inputs: tuple,
    path: str | os.PathLike,
    inputs: list,
    output_name: str,
    *,
    int8: bool = False,
    int8_path: str | os.PathLike | None = None,
    description: str = "",
    input_descriptions: Mapping[str, str] | None = None,
    output_description: str = "",
) -> None:
    """Trace ``module`` on ``example_inputs``, convert it (:func:`convert_mlprogram`, INT8
    weights if ``int8``) with the Core ML ``inputs`` (e.g. :func:`enumerated_input`), set
    its descriptions and save it to ``path``; ``int8_path``: also save the INT8 variant of
    that program there (one conversion for both). A tracer or converter failure is an
    :class:`ExportError` with its message."""
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            traced = torch.jit.trace(module, tuple(example_inputs))
            ml = convert_mlprogram(traced, inputs, output_name, int8)
        except Exception as exc:  # coremltools raises plain Exceptions
            raise ExportError(f"{path}: Core ML conversion failed: {exc}") from exc
    ml.short_description = description
    for name, text in (input_descriptions or {}).items():
        ml.input_description[name] = text
    ml.output_description[output_name] = output_description
    save_mlpackage(ml, path)
    if int8_path is not None:
        save_mlpackage(quantize_int8(ml), int8_path)


def coreml_variants(
    export: Callable[[str | os.PathLike, bool], None],
    fp16_out: str | os.PathLike | None,
    int8_out: str | os.PathLike | None,
    batch_sizes: Iterable[int],
    *,
    input_name: str,
    output_name: str,
    optional_inputs: Sequence[str] = (),
) -> dict:
    """The ``coreml`` / ``coreml_int8`` entries of an export report: for each path given,
    ``export(path, int8)``, then :func:`validate_mlpackage` of the package (the other
    arguments are its). Any failure of the export is an :class:`ExportError` with its
    message."""
    report = {}
    for key, out, int8 in (("coreml", fp16_out, False), ("coreml_int8", int8_out, True)):
        if out is None:
            continue
        try:
            export(out, int8)
        except ExportError:
            raise
        except Exception as exc:  # a converter failure is reported with its message
            raise ExportError(f"{out}: Core ML conversion failed: {exc}") from exc
        report[key] = validate_mlpackage(
            out,
            batch_sizes,
            int8,
            input_name=input_name,
            output_name=output_name,
            optional_inputs=optional_inputs,
        )
    return report


def validate_mlpackage(
    path: str | os.PathLike,
    batch_sizes: Iterable[int],
    int8: bool = False,
    *,
    input_name: str,
    output_name: str,
    optional_inputs: Sequence[str] = (),
) -> dict:
    """Reload an ``.mlpackage`` without compiling it and check its spec: an ML program with
    inputs ``[input_name]`` and enumerated batch sizes ``batch_sizes``, or inputs
    ``[input_name, *optional_inputs]`` with one batch range covering them; output
    ``[output_name]``; INT8 ``constexpr`` weights if ``int8``; a weights file. Returns a
    summary (spec version, batch sizes, op counts, size in bytes)."""
    ct = coremltools()
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
    ranged = bool(optional_inputs) and list(ins) == [input_name, *optional_inputs]
    if (list(ins) != [input_name] and not ranged) or outs != [output_name]:
        raise ExportError(
            f"{path}: inputs {list(ins)} outputs {outs}, want {input_name} -> {output_name}"
        )
    sizes = sorted(int(b) for b in batch_sizes)
    if ranged:  # several inputs: one batch range (enumerated shapes of two need macOS 15)
        rng = ins[input_name].type.multiArrayType.shapeRange.sizeRanges[0]
        lo, hi = int(rng.lowerBound), int(rng.upperBound)
        if lo > sizes[0] or 0 <= hi < sizes[-1]:
            raise ExportError(f"{path}: batch range {lo}..{hi} misses {sizes}")
        got = sizes
    else:
        enum = ins[input_name].type.multiArrayType.enumeratedShapes.shapes
        got = sorted(int(s.shape[0]) for s in enum)
        if got != sizes:
            raise ExportError(f"{path}: enumerated batch sizes {got}, want {sizes}")
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
