"""The neural base-quality model as an :class:`~biometal.readqc.recalibrate.ErrorPredictor`.

:class:`NeuralQualityPredictor` packs :class:`~biometal.readqc.covariates.BaseFeatures`
into the model's (n, 13) input (:func:`~biometal.ml.readqc.model.pack_features`), runs the
exported model through the seed filter's inference backends (fixed batch sizes, the last
batch zero-padded; ONNX Runtime with providers CoreML -> CUDA -> CPU, or Core ML directly
on macOS) and turns the logits into probabilities in float64. Plug it into
:func:`biometal.readqc.recalibrate.recalibrate_fastq` to rewrite a FASTQ's qualities.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from biometal.errors import BiometalError
from biometal.ml.readqc.export import DEFAULT_BATCH_SIZES
from biometal.ml.readqc.model import N_FEATURES, error_from_logit, pack_features
from biometal.ml.seedfilter.backends import (
    DEFAULT_PROVIDERS,
    CoreMLBackend,
    InferenceBackend,
    OnnxRuntimeBackend,
)

#: probabilities are clipped into [P_MIN, 1 - P_MIN] (Q 70 at most), so they stay in (0, 1)
P_MIN = 1e-7
#: default largest batch run at once: bigger batches cost more CPU per base on ONNX
#: Runtime's CPU provider (their intermediates leave the cache; bench/readqc_cost.py)
RUN_BATCH = 8192


class _FeatureBatches:
    """Input checks of the base-quality model: (B, 13) packed features."""

    def _check_batch(self, x: np.ndarray) -> None:
        if x.ndim != 2 or x.shape[1] != N_FEATURES:
            raise BiometalError(f"{self.name}: expected (B, {N_FEATURES}) features, got {x.shape}")

    def _zeros(self, b: int, width: int) -> np.ndarray:
        return np.zeros((b, N_FEATURES), np.float32)


class QualityOnnxBackend(_FeatureBatches, OnnxRuntimeBackend):
    """ONNX Runtime session of ``readqc_quality.onnx`` (``features`` -> ``logit_error``)."""


class QualityCoreMLBackend(_FeatureBatches, CoreMLBackend):
    """Core ML on ``readqc_quality*.mlpackage`` (macOS only)."""


class NeuralQualityPredictor:
    """Error probability of bases from the exported model (implements ErrorPredictor).

    ``onnx_path``: the ``.onnx`` model; ``mlpackage_path``: optional Core ML package used
    instead where Core ML runs (macOS) unless ``backend="onnx"``; ``threads``: ONNX
    Runtime intra-op threads (None: its default, all cores); ``batch_sizes``: the fixed
    batch sizes (the Core ML package's enumerated sizes).
    """

    def __init__(
        self,
        onnx_path: str | os.PathLike,
        mlpackage_path: str | os.PathLike | None = None,
        backend: str = "auto",
        providers: Sequence[str] = DEFAULT_PROVIDERS,
        threads: int | None = None,
        batch_sizes: Sequence[int] = DEFAULT_BATCH_SIZES,
    ) -> None:
        if backend not in ("auto", "onnx", "coreml"):
            raise BiometalError(f"unknown backend {backend!r}; choose auto, onnx or coreml")
        if not os.path.exists(onnx_path) and backend != "coreml":
            raise BiometalError(f"{onnx_path}: no such model file")
        use_coreml = backend == "coreml" or (
            backend == "auto" and mlpackage_path is not None and CoreMLBackend.available()
        )
        if use_coreml:
            if mlpackage_path is None:
                raise BiometalError("backend coreml needs an .mlpackage path")
            self.backend: InferenceBackend = QualityCoreMLBackend(
                mlpackage_path, batch_sizes=batch_sizes
            )
        else:
            self.backend = QualityOnnxBackend(
                onnx_path, providers=providers, batch_sizes=batch_sizes, threads=threads
            )

    def logits(self, x: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        """float32 [n] logits of packed features ``x`` (n, 13), run in batches of
        ``batch_size`` bases (default: the smallest fixed size >= n, at most
        :data:`RUN_BATCH`)."""
        n = x.shape[0]
        if n == 0:
            return np.empty(0, np.float32)
        if batch_size is None:
            batch_size = min(
                self.backend.batch_size_for(n),
                max(RUN_BATCH, min(self.backend.optimal_batch_sizes)),
            )
        return self.backend.predict(x, batch_size=batch_size)

    def error_probability(self, feats, batch_size: int | None = None) -> np.ndarray:
        """float32 [n] in (0, 1): P(each base of ``feats`` is wrong)."""
        p = error_from_logit(self.logits(pack_features(feats), batch_size))
        return np.clip(p, P_MIN, 1.0 - P_MIN)
