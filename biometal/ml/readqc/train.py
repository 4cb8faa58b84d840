"""Training of the neural base-quality model from (features, error) arrays.

The labels are what an aligner sees (a base differs from the reference at a site that is
not a known variant: :func:`biometal.readqc.covariates.aligned_covariates`), never the
simulator's truth (that is for scoring only).

Calibration: the loss is plain, unweighted binary cross-entropy (a proper scoring rule:
its minimiser is the calibrated probability), so the rare errors (~1% of bases) are *not*
up-weighted; the imbalance is handled by large batches (4,096 bases, dozens of errors
each) and by the model predicting a correction to the reported quality's log-odds (it
starts as the reported qualities, :mod:`biometal.ml.readqc.model`). After training, one
temperature is fitted on the validation split (:func:`fit_temperature`, the scalar that
minimises validation log-loss) and folded into the model.

- :func:`split_blocks`: validation split by contiguous blocks of bases (the bases of a
  read are adjacent, so a read rarely straddles the split), seeded.
- :func:`train_model`: Adam, early stopping on the validation log-loss (the best epoch's
  weights are kept), seeded, torch threads through :func:`biometal._threads.torch_threads`.
- :func:`save_model` / :func:`load_model`: ``.pt`` with the state dict and metadata.
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from biometal._threads import torch_threads
from biometal.errors import BiometalError
from biometal.io.atomic import atomic_path
from biometal.ml.readqc.model import N_FEATURES, pack_features

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainParams:
    """Training settings of the base-quality model."""

    epochs: int = 20
    batch_size: int = 4096
    lr: float = 3e-3
    weight_decay: float = 1e-5
    patience: int = 3
    val_fraction: float = 0.1
    block: int = 2048
    hidden: tuple[int, int] = (32, 32)
    threads: int = 2
    seed: int = 42


def split_blocks(n: int, val_fraction: float, block: int, seed: int) -> np.ndarray:
    """bool [n]: True for validation rows, chosen as whole blocks of ``block`` rows."""
    if not 0.0 < val_fraction < 1.0:
        raise BiometalError(f"val_fraction must be in (0, 1), got {val_fraction}")
    n_blocks = max(2, math.ceil(n / block))
    rng = np.random.default_rng(seed)
    n_val = max(1, int(round(val_fraction * n_blocks)))
    val_blocks = np.zeros(n_blocks, bool)
    val_blocks[rng.choice(n_blocks, n_val, replace=False)] = True
    return val_blocks[np.arange(n) // block]


def log_loss_logits(logits: np.ndarray, y: np.ndarray) -> float:
    """Mean binary cross-entropy (nats) of logits against 0/1 labels (numerically stable)."""
    z = np.asarray(logits, np.float64)
    yy = np.asarray(y, np.float64)
    return float(np.mean(np.logaddexp(0.0, z) - yy * z))


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The temperature T > 0 minimising the log-loss of ``logits / T`` (bounded search
    over log T in [-1.5, 1.5])."""
    from scipy.optimize import minimize_scalar

    z = np.asarray(logits, np.float64)
    res = minimize_scalar(
        lambda lt: log_loss_logits(z / math.exp(lt), y), bounds=(-1.5, 1.5), method="bounded"
    )
    return float(math.exp(res.x))


def predict_logits(model, x: np.ndarray, batch_size: int = 65536) -> np.ndarray:
    """float32 [n] logits of packed features ``x`` (n, 13) (model in eval mode)."""
    import torch

    model.eval()
    out = np.empty(x.shape[0], np.float32)
    with torch.no_grad():
        for s in range(0, x.shape[0], batch_size):
            out[s : s + batch_size] = model(torch.from_numpy(x[s : s + batch_size])).numpy()
    return out


def train_model(
    x: np.ndarray, y: np.ndarray, params: TrainParams = TrainParams()
) -> tuple[object, pd.DataFrame, dict]:
    """Train a :class:`~biometal.ml.readqc.model.ReadQualityNet` on packed features
    ``x`` float32 (n, 13) and labels ``y`` bool [n] (True = error); returns (model in eval
    mode with its temperature set, per-epoch history, summary dict)."""
    import torch
    from torch import nn

    from biometal.ml.readqc.model import ReadQualityNet

    x = np.ascontiguousarray(x, np.float32)
    y = np.asarray(y, bool)
    if x.ndim != 2 or x.shape[1] != N_FEATURES or y.shape != (x.shape[0],):
        raise BiometalError(f"features {x.shape} and labels {y.shape}: want (n, 13) and (n,)")
    val = split_blocks(x.shape[0], params.val_fraction, params.block, params.seed)
    tr, va = np.flatnonzero(~val), np.flatnonzero(val)
    n_err = int(y[tr].sum())
    if n_err == 0 or n_err == tr.shape[0]:
        raise BiometalError(
            f"the training split has {n_err} errors in {tr.shape[0]} bases: both classes are "
            "needed (use more aligned bases)"
        )
    with torch_threads(max(1, params.threads)):
        torch.manual_seed(params.seed)
        rng = np.random.default_rng(params.seed)
        model = ReadQualityNet(hidden=tuple(params.hidden))
        opt = torch.optim.Adam(model.parameters(), lr=params.lr, weight_decay=params.weight_decay)
        loss_fn = nn.BCEWithLogitsLoss()
        xt = torch.from_numpy(x)
        yt = torch.from_numpy(y.astype(np.float32))
        x_va, y_va = x[va], y[va]
        base_loss = log_loss_logits(predict_logits(model, x_va), y_va)  # = reported Q
        best, best_state, bad, hist = math.inf, None, 0, []
        for epoch in range(params.epochs):
            t0 = time.perf_counter()
            model.train()
            tot = 0.0
            perm = tr[rng.permutation(tr.shape[0])]
            for s in range(0, perm.shape[0], params.batch_size):
                b = torch.from_numpy(perm[s : s + params.batch_size])
                opt.zero_grad()
                loss = loss_fn(model(xt[b]), yt[b])
                loss.backward()
                opt.step()
                tot += float(loss.detach()) * len(b)
            vloss = log_loss_logits(predict_logits(model, x_va), y_va)
            hist.append(
                {
                    "epoch": epoch + 1,
                    "train_loss": tot / tr.shape[0],
                    "val_loss": vloss,
                    "seconds": time.perf_counter() - t0,
                }
            )
            log.info("epoch %d: %s", epoch + 1, hist[-1])
            if vloss < best - 1e-6:
                best, bad = vloss, 0
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            else:
                bad += 1
                if bad >= params.patience:
                    break
        model.load_state_dict(best_state)
        model.eval()
        z_va = predict_logits(model, x_va)
        temp = fit_temperature(z_va, y_va)
        model.temperature.fill_(temp)
        final = log_loss_logits(z_va / temp, y_va)
    summary = {
        "bases_train": int(tr.shape[0]),
        "bases_val": int(va.shape[0]),
        "errors_train": n_err,
        "errors_val": int(y_va.sum()),
        "epochs_run": len(hist),
        "best_epoch": int(pd.DataFrame(hist)["val_loss"].idxmin()) + 1,
        "val_logloss_reported_q": base_loss,
        "val_logloss_before_temperature": best,
        "val_logloss": final,
        "temperature": temp,
        "train_seconds": float(sum(h["seconds"] for h in hist)),
        "params": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(params).items()},
    }
    return model, pd.DataFrame(hist), summary


def train_from_features(feats, error: np.ndarray, params: TrainParams = TrainParams()):
    """:func:`train_model` on a :class:`~biometal.readqc.covariates.BaseFeatures` and its
    bool [n] error labels."""
    return train_model(pack_features(feats), np.asarray(error, bool), params)


def save_model(model, path: str | os.PathLike, meta: dict | None = None) -> None:
    """Write ``{"state_dict", "meta"}`` (meta holds the hidden sizes) atomically."""
    import torch

    meta = dict(meta or {})
    meta["hidden"] = [model.mlp[0].out_features, model.mlp[2].out_features]
    with atomic_path(path) as tmp:
        torch.save({"state_dict": model.state_dict(), "meta": meta}, tmp)


def load_model(path: str | os.PathLike):
    """(ReadQualityNet in eval mode, meta dict) from a ``.pt`` written by :func:`save_model`."""
    import torch

    from biometal.ml.readqc.model import ReadQualityNet

    try:
        ck = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError) as exc:
        raise BiometalError(f"{path}: cannot load the read-quality model: {exc}") from None
    model = ReadQualityNet(hidden=tuple(ck["meta"]["hidden"]))
    model.load_state_dict(ck["state_dict"])
    model.eval()
    return model, ck["meta"]
