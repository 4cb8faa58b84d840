"""Inference backends of the seed filter: one interface, several engines.

A backend has a ``name``, ``available()`` (can it run here?), ``optimal_batch_sizes`` (the
fixed batch sizes it is exported for: 512, 1024, 2048), ``warmup()`` and
``predict(batch) -> scores`` (float32 (B,) P(viable) for float32 (B, 2, 128, 4) one-hot
windows, any B: batches are cut into the fixed sizes, the last one zero-padded). A model
with side inputs (``SeedFilterCNN(n_side=k)``, ONNX input ``side``) takes them as
``predict(batch, side=(B, k) float32)``; ``n_side`` says how many it needs (0: none).

- :class:`OnnxRuntimeBackend`: ONNX Runtime with execution providers tried in order
  ``CoreMLExecutionProvider`` (Apple Neural Engine / GPU) -> ``CUDAExecutionProvider`` ->
  ``CPUExecutionProvider``, overridable; only the providers this onnxruntime build has are
  passed, and the session reports which one it got.
- :class:`CoreMLBackend`: the ``.mlpackage`` run directly by Core ML (macOS only;
  ``available()`` is False elsewhere, and constructing it there is a clear error).
- :class:`TorchBackend`: the trained torch model (the reference the exports are checked
  against).

:func:`make_backend` builds one by name (``onnx`` / ``coreml`` / ``torch``) and
:func:`auto_backend` picks the first available of ``coreml`` (macOS) then ``onnx``.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np

from biometal._threads import set_torch_threads
from biometal.errors import BiometalError

DEFAULT_PROVIDERS = ("CoreMLExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")
DEFAULT_BATCH_SIZES = (512, 1024, 2048)


class BackendUnavailable(BiometalError):
    """The requested inference backend cannot run on this machine."""


class InferenceBackend(ABC):
    """Base class: fixed-batch prediction with padding (subclasses implement ``_run``)."""

    name = "base"
    #: side inputs per row the model takes besides the windows (0: windows only)
    n_side = 0
    #: dtype the input batch is converted to (a token model overrides it with int32)
    input_dtype = np.float32

    def __init__(self, batch_sizes: Sequence[int] = DEFAULT_BATCH_SIZES) -> None:
        sizes = sorted({int(b) for b in batch_sizes})
        if not sizes or sizes[0] < 1:
            raise BiometalError(f"batch sizes must be positive integers, got {batch_sizes}")
        self.optimal_batch_sizes = tuple(sizes)

    @classmethod
    def available(cls) -> bool:
        """True when this backend can run here."""
        return True

    @abstractmethod
    def _run(self, x: np.ndarray, side: np.ndarray | None = None) -> np.ndarray:
        """Scores float32 (B,) of one fixed-size batch (B, 2, W, 4) [+ side (B, k)]."""

    def batch_size_for(self, n: int) -> int:
        """The smallest fixed batch size >= n (the largest when n exceeds them all)."""
        for b in self.optimal_batch_sizes:
            if b >= n:
                return b
        return self.optimal_batch_sizes[-1]

    def predict(
        self, batch: np.ndarray, batch_size: int | None = None, side: np.ndarray | None = None
    ) -> np.ndarray:
        """float32 (B,) scores of ``batch`` (B, 2, W, 4) [and ``side`` (B, n_side)]; run in
        fixed-size batches (``batch_size`` or the best fit), the last one zero-padded.
        A model with several outputs per row (e.g. class logits) gives (B, ...)."""
        x = np.ascontiguousarray(batch, self.input_dtype)
        self._check_batch(x)
        sd = self._check_side(side, x.shape[0])
        n = x.shape[0]
        out = np.empty(n, np.float32)
        bs = int(batch_size) if batch_size else self.batch_size_for(n)
        for s in range(0, n, bs):
            part = x[s : s + bs]
            sp = None if sd is None else sd[s : s + bs]
            m = part.shape[0]
            if m < bs:
                pad = np.zeros((bs, *x.shape[1:]), x.dtype)
                pad[:m] = part
                part = pad
                if sp is not None:
                    spad = np.zeros((bs, sd.shape[1]), np.float32)
                    spad[:m] = sp
                    sp = spad
            res = np.asarray(self._run(part, sp))
            if res.size != bs and res.shape[0] == bs:  # several values per row
                if out.ndim == 1:
                    out = np.empty((n, *res.shape[1:]), np.float32)
                out[s : s + m] = res[:m]
            else:
                out[s : s + m] = res.reshape(-1)[:m]
        return out

    def _check_side(self, side: np.ndarray | None, n: int) -> np.ndarray | None:
        if not self.n_side:
            if side is not None:
                raise BiometalError(f"{self.name}: this model takes no side input")
            return None
        if side is None:
            raise BiometalError(f"{self.name}: this model needs side inputs (B, {self.n_side})")
        sd = np.ascontiguousarray(side, np.float32).reshape(n, -1)
        if sd.shape[1] != self.n_side:
            raise BiometalError(f"{self.name}: side has {sd.shape[1]} columns, want {self.n_side}")
        return sd

    def _check_batch(self, x: np.ndarray) -> None:
        """Raise unless ``x`` is a batch of this model's input: (B, 2, W, 4) windows here
        (a backend of another model overrides this and :meth:`_zeros`)."""
        if x.ndim != 4 or x.shape[1] != 2 or x.shape[3] != 4:
            raise BiometalError(f"{self.name}: expected (B, 2, W, 4) windows, got {x.shape}")

    def _zeros(self, b: int, width: int) -> np.ndarray:
        """An all-zero input batch of ``b`` rows (for :meth:`warmup`)."""
        return np.zeros((b, 2, width, 4), np.float32)

    def warmup(self, rounds: int = 2, width: int = 128) -> float:
        """Run every fixed batch size ``rounds`` times on zeros; returns seconds spent."""
        t0 = time.perf_counter()
        for b in self.optimal_batch_sizes:
            z = self._zeros(b, width)
            zs = np.zeros((b, self.n_side), np.float32) if self.n_side else None
            for _ in range(rounds):
                self._run(z, zs)
        return time.perf_counter() - t0


class OnnxRuntimeBackend(InferenceBackend):
    """ONNX Runtime session of an exported ``.onnx`` (see the module doc for providers)."""

    name = "onnxruntime"

    def __init__(
        self,
        model_path: str | os.PathLike,
        providers: Sequence[str] = DEFAULT_PROVIDERS,
        batch_sizes: Sequence[int] = DEFAULT_BATCH_SIZES,
        threads: int | None = None,
    ) -> None:
        super().__init__(batch_sizes)
        import onnxruntime as ort

        have = set(ort.get_available_providers())
        unknown = [p for p in providers if not p.endswith("ExecutionProvider")]
        if unknown:
            raise BiometalError(
                f"unknown ONNX Runtime provider(s) {unknown}; names end in ExecutionProvider, "
                f"e.g. {', '.join(DEFAULT_PROVIDERS)}"
            )
        chosen = [p for p in providers if p in have]
        if not chosen:
            raise BackendUnavailable(
                f"none of the ONNX Runtime providers {list(providers)} is available here "
                f"(this build has {sorted(have)})"
            )
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = int(threads)
            opts.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(str(model_path), opts, providers=chosen)
        except Exception as exc:  # ORT raises its own exception types
            raise BiometalError(f"{model_path}: cannot load ONNX model: {exc}") from None
        self.providers = self.session.get_providers()
        inputs = self.session.get_inputs()
        self.input_name = inputs[0].name
        self.side_name = inputs[1].name if len(inputs) > 1 else None
        self.n_side = int(inputs[1].shape[1]) if len(inputs) > 1 else 0
        self.output_name = self.session.get_outputs()[0].name

    @classmethod
    def available(cls) -> bool:
        try:
            import onnxruntime  # noqa: F401
        except ImportError:
            return False
        return True

    @property
    def provider(self) -> str:
        """The execution provider the session runs on first."""
        return self.providers[0]

    def _run(self, x: np.ndarray, side: np.ndarray | None = None) -> np.ndarray:
        feed = {self.input_name: x}
        if self.side_name is not None:
            feed[self.side_name] = side
        return self.session.run([self.output_name], feed)[0]


class CoreMLBackend(InferenceBackend):
    """Core ML run directly on an ``.mlpackage`` (macOS with coremltools' runtime)."""

    name = "coreml"

    def __init__(
        self,
        model_path: str | os.PathLike,
        batch_sizes: Sequence[int] = DEFAULT_BATCH_SIZES,
        compute_units: str = "ALL",
    ) -> None:
        super().__init__(batch_sizes)
        if not self.available():
            raise BackendUnavailable(
                f"Core ML runs models on macOS only (this is {platform.system()}); use the "
                "onnx backend"
            )
        import coremltools as ct

        self.model = ct.models.MLModel(
            str(model_path), compute_units=getattr(ct.ComputeUnit, compute_units)
        )
        spec = self.model.get_spec()
        self.input_name = spec.description.input[0].name
        self.output_name = spec.description.output[0].name

    @classmethod
    def available(cls) -> bool:
        if sys.platform != "darwin":
            return False
        try:
            from coremltools import libcoremlpython  # noqa: F401
        except ImportError:
            return False
        return True

    def _run(self, x: np.ndarray, side: np.ndarray | None = None) -> np.ndarray:
        feed = {self.input_name: x}
        if side is not None:
            feed["side"] = side
        return self.model.predict(feed)[self.output_name]


class TorchBackend(InferenceBackend):
    """The trained torch model (CPU), for reference and comparison."""

    name = "torch"

    def __init__(
        self,
        model_path: str | os.PathLike,
        batch_sizes: Sequence[int] = DEFAULT_BATCH_SIZES,
        threads: int | None = None,
    ) -> None:
        super().__init__(batch_sizes)
        from biometal.ml.seedfilter.train import load_cnn

        set_torch_threads(threads or None)  # torch's count is per process: not restored
        self.model, self.meta = load_cnn(model_path)
        self.n_side = int(self.model.n_side)

    def _run(self, x: np.ndarray, side: np.ndarray | None = None) -> np.ndarray:
        import torch

        sd = None if side is None else torch.from_numpy(side)
        with torch.no_grad():
            return torch.sigmoid(self.model(torch.from_numpy(x), sd)).numpy()


BACKENDS = {"onnx": OnnxRuntimeBackend, "coreml": CoreMLBackend, "torch": TorchBackend}


def make_backend(name: str, model_path: str | os.PathLike, **kw) -> InferenceBackend:
    """Backend by name: ``onnx`` (model .onnx), ``coreml`` (.mlpackage), ``torch`` (.pt)."""
    if name not in BACKENDS:
        raise BiometalError(
            f"unknown inference backend {name!r}; choose one of {', '.join(BACKENDS)}"
        )
    return BACKENDS[name](model_path, **kw)


def auto_backend(onnx_path, mlpackage_path=None, **kw) -> InferenceBackend:
    """Core ML directly where it runs (macOS), else ONNX Runtime (providers in order)."""
    if mlpackage_path and CoreMLBackend.available():
        return CoreMLBackend(mlpackage_path, **{k: v for k, v in kw.items() if k == "batch_sizes"})
    return OnnxRuntimeBackend(onnx_path, **kw)
