"""Export of the DNABERT encoder (and of a fine-tuned classifier on top of it) to ONNX and
Core ML, checked against torch.

The exported graph is :class:`ExportableBert`: the same weights as
:class:`~biometal.ml.dnabert.model.BertMLM` (or a
:class:`~biometal.ml.dnabert.finetune.SequenceClassifier`), run with plain matrix products
instead of ``nn.MultiheadAttention`` (whose fused fast path and symbolic-batch reshapes
neither ONNX nor coremltools convert reliably). It takes one input, ``input_ids`` int32
(B, L) at the model's fixed sequence length ``L = max_length`` (pad with the pad id 0; the
attention mask is derived from it inside the graph), and returns ``hidden`` float32
(B, L, hidden) for an encoder or ``logits`` float32 (B, n_out) for a classifier.

- ONNX: ``torch.onnx.export`` (TorchScript exporter, opset 17) with a dynamic batch axis.
  :func:`check_onnx` compares ONNX Runtime (CPU provider) with the torch module on random
  token batches (padding included) at every batch size; the largest absolute difference
  must be <= ``atol`` (default 1e-4: float32 with reordered reductions over a 2-layer
  encoder measures ~1e-6).
- Core ML: an ML program (macOS 13+, float16 compute) through
  :func:`biometal.ml.export.export_coreml`, with enumerated batch shapes at the fixed length,
  and its INT8 weight-quantised variant. coremltools cannot predict on Linux: both packages
  are validated by reloading their specs (:func:`biometal.ml.export.validate_mlpackage`).
- Inference: :class:`DnaBertOnnxBackend` / :class:`DnaBertCoreMLBackend` are the seed
  filter's backends (ONNX Runtime providers CoreML -> CUDA -> CPU; Core ML directly on
  macOS) with the token-batch input checks of this model.

Models (:func:`load_any`): the project's own ``.pt`` files
(:func:`biometal.ml.dnabert.train.load_model` for an MLM encoder,
:func:`biometal.ml.dnabert.finetune.load_classifier` for a classifier) or a Hugging Face BERT
directory (``config.json`` + ``model.safetensors`` / ``pytorch_model.bin``, read by
:func:`biometal.ml.dnabert.hf.load_hf_bert` without ``transformers``).

Command line: ``biometal dnabert-export (--hf-dir DIR | --checkpoint PT) --onnx OUT.onnx
[--mlpackage OUT.mlpackage] [--mlpackage-int8 OUT.mlpackage] [--report OUT.json] [--length
L] [--batch-sizes 1,32,128] [--atol 1e-4]`` (:mod:`biometal.cli`) runs :func:`export_all`.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from biometal.errors import BiometalError
from biometal.ml import export as ex
from biometal.ml.dnabert.model import BertMLM
from biometal.ml.export import (  # noqa: F401  (re-exported: callers use ExportError and
    ExportError,  # validate_mlpackage through this module)
    validate_mlpackage,
)
from biometal.ml.seedfilter.backends import CoreMLBackend, OnnxRuntimeBackend

log = logging.getLogger(__name__)

INPUT_NAME = "input_ids"
HIDDEN_NAME = "hidden"
LOGITS_NAME = "logits"
DEFAULT_BATCH_SIZES = (1, 32, 128)
#: additive attention bias of padding keys (float16-safe; exp underflows to 0)
NEG = -1.0e4


class ExportableBert(nn.Module):
    """Export-friendly forward of a BertMLM (+ optional pooled head), eval mode only.

    ``encoder``: a :class:`BertMLM`; ``head``: None (output hidden states float[B, L, H])
    or a module mapping pooled float[B, H] to float[B, n_out]; ``pool``: ``mean`` (over
    non-padding tokens) or ``cls`` (token 0). ``length``: the fixed sequence length.
    """

    def __init__(
        self,
        encoder: BertMLM,
        head: nn.Module | None = None,
        pool: str = "mean",
        length: int | None = None,
    ) -> None:
        super().__init__()
        self.bert = encoder
        self.head = head
        self.pool = pool
        self.length = int(length or encoder.config.max_length)
        if self.length > encoder.config.max_length:
            raise BiometalError(
                f"export length {self.length} exceeds the model's max_length "
                f"{encoder.config.max_length}"
            )
        self.pad_id = int(encoder.config.pad_id)

    def _attention(self, layer: nn.TransformerEncoderLayer, x, bias):
        mha = layer.self_attn
        n_heads = int(mha.num_heads)
        h = int(mha.embed_dim)  # python ints: constants in the traced graph
        d = h // n_heads
        q, k, v = F.linear(x, mha.in_proj_weight, mha.in_proj_bias).split(h, dim=-1)
        shape = (-1, self.length, n_heads, d)
        q = q.reshape(shape).transpose(1, 2)
        k = k.reshape(shape).transpose(1, 2)
        v = v.reshape(shape).transpose(1, 2)
        scores = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(d)) + bias
        out = torch.matmul(torch.softmax(scores, dim=-1), v)
        out = out.transpose(1, 2).reshape(-1, self.length, h)
        return mha.out_proj(out)

    @staticmethod
    def _ff(layer: nn.TransformerEncoderLayer, x):
        return layer.linear2(layer.activation(layer.linear1(x)))  # F.gelu or its tanh form

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        bert = self.bert
        ids = input_ids.long()
        keep = (ids != self.pad_id).to(torch.float32)  # [B, L]
        pos = bert.positions.weight[: self.length]
        x = bert.norm(bert.tokens(ids) + pos.unsqueeze(0))
        bias = ((1.0 - keep) * NEG).unsqueeze(1).unsqueeze(1)  # [B, 1, 1, L]
        for layer in bert.encoder.layers:
            if layer.norm_first:
                x = x + self._attention(layer, layer.norm1(x), bias)
                x = x + self._ff(layer, layer.norm2(x))
            else:
                x = layer.norm1(x + self._attention(layer, x, bias))
                x = layer.norm2(x + self._ff(layer, x))
        if bert.encoder.norm is not None:
            x = bert.encoder.norm(x)
        if self.head is None:
            return x
        if self.pool == "cls":
            pooled = x[:, 0]
        else:
            w = keep.unsqueeze(-1)
            pooled = (x * w).sum(1) / w.sum(1).clamp_min(1.0)
        return self.head(pooled)


def exportable(model: nn.Module, length: int | None = None) -> ExportableBert:
    """The export graph of a :class:`BertMLM` (hidden states) or of a classifier with
    ``encoder``, ``pool`` and ``head`` attributes (logits), in eval mode."""
    if isinstance(model, BertMLM):
        return ExportableBert(model, None, "mean", length).eval()
    enc = getattr(model, "encoder", None)
    if not isinstance(enc, BertMLM):
        raise BiometalError(f"cannot export {type(model).__name__}: not a DNABERT model")
    return ExportableBert(enc, model.head, model.pool, length).eval()


def output_name(model: nn.Module) -> str:
    return HIDDEN_NAME if isinstance(model, BertMLM) else LOGITS_NAME


def random_tokens(
    n: int, length: int, vocab_size: int, seed: int = 0, n_special: int = 5
) -> np.ndarray:
    """int32 (n, length) batches: [CLS]=2 + random k-mer ids + [SEP]=3, padded (0) after a
    random read length (half of the rows are full length)."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(n_special, vocab_size, (n, length)).astype(np.int32)
    ids[:, 0] = 2
    ends = np.where(rng.random(n) < 0.5, length - 1, rng.integers(2, length, n))
    for i, e in enumerate(ends.tolist()):
        ids[i, e] = 3
        ids[i, e + 1 :] = 0
    return ids


def torch_reference(model: nn.Module, ids: np.ndarray) -> np.ndarray:
    """The torch model's own output (its ``forward``, not the export graph) on int ids."""
    t = torch.from_numpy(np.asarray(ids, np.int64))
    mask = (t != 0).to(torch.int64)
    with torch.no_grad():
        return model(t, mask).numpy()


@contextmanager
def _no_fastpath():
    old = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        yield
    finally:
        torch.backends.mha.set_fastpath_enabled(old)


def export_onnx(model: nn.Module, path: str | os.PathLike, length: int | None = None) -> None:
    """Write ``model`` (BertMLM or classifier) as ONNX: ``input_ids`` int32 (B, L) ->
    ``hidden`` / ``logits``, dynamic batch axis, fixed length L."""
    graph = exportable(model, length)
    example = torch.zeros(2, graph.length, dtype=torch.int32)
    ex.export_onnx(graph, (example,), path, [INPUT_NAME], [output_name(model)])


def check_onnx(
    model: nn.Module,
    onnx_path: str | os.PathLike,
    batch_sizes: Sequence[int] = DEFAULT_BATCH_SIZES,
    atol: float = 1e-4,
    length: int | None = None,
) -> dict[str, float]:
    """Largest |ONNX Runtime - torch| per batch size (torch: the model's own forward);
    raises :class:`ExportError` above ``atol``."""
    cfg = _config(model)
    length = int(length or cfg.max_length)
    return ex.check_onnx(
        onnx_path,
        batch_sizes,
        lambda b: {INPUT_NAME: random_tokens(b, length, cfg.vocab_size, seed=b)},
        lambda feed: torch_reference(model, feed[INPUT_NAME]),
        atol,
    )


def _config(model: nn.Module):
    return model.config if isinstance(model, BertMLM) else model.encoder.config


def export_coreml(
    model: nn.Module,
    path: str | os.PathLike,
    batch_sizes: Sequence[int] = DEFAULT_BATCH_SIZES,
    int8: bool = False,
    length: int | None = None,
    int8_path: str | os.PathLike | None = None,
) -> None:
    """Convert to a Core ML ML program (``.mlpackage``; float16; INT8 weights if ``int8``)
    with input ``input_ids`` int32 of enumerated shapes (b, L) for ``b`` in batch_sizes.
    ``int8_path``: also save the INT8 variant of the float16 program there (one
    conversion for both)."""
    graph = exportable(model, length)
    sizes = sorted(int(b) for b in batch_sizes)
    L = graph.length
    out = output_name(model)
    example = torch.from_numpy(random_tokens(sizes[0], L, _config(model).vocab_size))
    with _no_fastpath():
        ex.export_coreml(
            graph,
            (example,),
            path,
            [ex.enumerated_input(INPUT_NAME, [(b, L) for b in sizes], np.int32)],
            out,
            int8=int8,
            int8_path=int8_path,
            description=(
                "biometal DNABERT encoder: hidden states of k-mer tokens"
                if out == HIDDEN_NAME
                else "biometal DNABERT read classifier: class logits"
            ),
            input_descriptions={INPUT_NAME: f"(B, {L}) k-mer token ids, [CLS] ... [SEP], 0-padded"},
            output_description=(
                f"(B, {L}, hidden) hidden states" if out == HIDDEN_NAME else "(B, classes) logits"
            ),
        )


def export_all(
    model: nn.Module,
    onnx_out: str | os.PathLike,
    mlpackage_out: str | os.PathLike | None = None,
    mlpackage_int8_out: str | os.PathLike | None = None,
    report_out: str | os.PathLike | None = None,
    batch_sizes: Sequence[int] = DEFAULT_BATCH_SIZES,
    atol: float = 1e-4,
    length: int | None = None,
) -> dict:
    """ONNX (checked against torch) and, when paths are given, both Core ML packages
    (spec-validated); returns (and writes as JSON to ``report_out``) the checks.
    ``length``: the fixed sequence length (default: the model's ``max_length``)."""
    length = int(length or _config(model).max_length)
    export_onnx(model, onnx_out, length)
    diffs = check_onnx(model, onnx_out, batch_sizes, atol, length)
    out = output_name(model)
    report: dict = {
        "output": out,
        "length": length,
        "onnx": ex.onnx_report(onnx_out, diffs, atol),
    }
    if mlpackage_out is not None:
        export_coreml(
            model, mlpackage_out, batch_sizes, length=length, int8_path=mlpackage_int8_out
        )
    elif mlpackage_int8_out is not None:
        export_coreml(model, mlpackage_int8_out, batch_sizes, int8=True, length=length)
    for key, path, int8 in (
        ("coreml", mlpackage_out, False),
        ("coreml_int8", mlpackage_int8_out, True),
    ):
        if path is None:
            continue
        report[key] = validate_mlpackage(
            path, batch_sizes, int8=int8, input_name=INPUT_NAME, output_name=out
        )
        report[key]["path"] = str(path)
    if report_out is not None:
        ex.write_report(report, report_out)
    log.info("dnabert export: %s", report)
    return report


class _TokenBatches:
    """Input checks of the DNABERT graphs: int32 (B, L) token ids."""

    input_dtype = np.int32

    def _check_batch(self, x: np.ndarray) -> None:
        if x.ndim != 2:
            raise BiometalError(f"{self.name}: expected (B, L) token ids, got {x.shape}")

    def _zeros(self, b: int, width: int) -> np.ndarray:
        return np.zeros((b, width), np.int32)


class DnaBertOnnxBackend(_TokenBatches, OnnxRuntimeBackend):
    """ONNX Runtime session of an exported DNABERT graph (``input_ids`` -> output)."""


class DnaBertCoreMLBackend(_TokenBatches, CoreMLBackend):
    """Core ML on an exported DNABERT ``.mlpackage`` (macOS only)."""


# ----------------------------------------------------------------------------- loading, CLI


def load_any(path: str | os.PathLike) -> nn.Module:
    """The model to export, in eval mode: a Hugging Face BERT directory (its encoder), or a
    project checkpoint (``.pt``: an MLM encoder, or a classifier with a ``task``)."""
    from biometal.ml.dnabert import hf

    if os.path.isdir(path):
        return hf.load_hf_bert(path)[0]
    if not os.path.isfile(path):
        raise BiometalError(f"{path}: no such DNABERT checkpoint or Hugging Face directory")
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
        meta = saved["meta"]
    except Exception as exc:  # not a torch checkpoint of this project: one line
        raise BiometalError(f"{path}: not a DNABERT checkpoint ({type(exc).__name__})") from None
    if "task" in meta:
        from biometal.ml.dnabert.finetune import load_classifier

        return load_classifier(path)[0]
    from biometal.ml.dnabert.train import load_model

    return load_model(path)[0]
