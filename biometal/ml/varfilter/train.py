"""Training of the variant-filter CNN on labelled candidate windows.

AdamW with a cosine learning-rate schedule, ``BCEWithLogitsLoss`` (no class weights, so that
P(real) >= 0.5 is the decision a calibrated model makes), shuffled mini-batches, seeded (same
data + seed = same weights on one machine). The whole training set is held in memory (a few
thousand windows of 23 x 64 float32: a few MB).
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass

import numpy as np

from biometal._threads import set_torch_threads
from biometal.errors import BiometalError
from biometal.io.atomic import atomic_path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainParams:
    """CNN training settings (config ``regions.varfilter.train``)."""

    epochs: int = 15
    batch_size: int = 128
    lr: float = 3e-3
    weight_decay: float = 1e-3
    threads: int = 1
    seed: int = 42


def train_filter(x: np.ndarray, y: np.ndarray, params: TrainParams = TrainParams()):
    """A trained :class:`~biometal.ml.varfilter.model.VarFilterCNN` (eval mode) on windows
    ``x`` float32 (n, C, W) and labels ``y`` (n,) bool."""
    import torch

    from biometal.ml.varfilter.model import VarFilterCNN

    if len(x) < 2:
        raise BiometalError(
            f"variant filter: {len(x)} candidate site(s) on the training contigs; at least 2 "
            "are needed (more reads, a larger reference, or lower candidate thresholds)"
        )
    if len(np.unique(y)) < 2:
        log.warning(
            "variant filter: the training contigs have %d real and %d false candidates; the "
            "model learns one class only",
            int(np.sum(y)),
            int(len(y) - np.sum(y)),
        )
    set_torch_threads(params.threads)
    torch.manual_seed(params.seed)
    rng = np.random.default_rng(params.seed)
    model = VarFilterCNN(width=x.shape[2], n_channels=x.shape[1])
    opt = torch.optim.AdamW(model.parameters(), lr=params.lr, weight_decay=params.weight_decay)
    steps_per_epoch = max(1, -(-len(x) // params.batch_size))
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, params.epochs * steps_per_epoch)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    xt = torch.from_numpy(np.ascontiguousarray(x, np.float32))
    yt = torch.from_numpy(np.asarray(y, np.float32))
    model.train()
    for epoch in range(params.epochs):
        order = torch.from_numpy(rng.permutation(len(x)))
        total = 0.0
        for s in range(0, len(x), params.batch_size):
            idx = order[s : s + params.batch_size]
            if len(idx) < 2:  # BatchNorm needs two rows
                continue
            opt.zero_grad()
            loss = loss_fn(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        log.info("epoch %d: training loss %.4f", epoch + 1, total / len(x))
    model.eval()
    return model


def predict(model, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """float32 (n,) P(real) of windows (n, C, W) with the torch model."""
    import torch

    out = np.empty(len(x), np.float32)
    with torch.no_grad():
        for s in range(0, len(x), batch_size):
            xb = torch.from_numpy(np.ascontiguousarray(x[s : s + batch_size], np.float32))
            out[s : s + len(xb)] = torch.sigmoid(model(xb)).numpy()
    return out


def save_model(model, path: str | os.PathLike, meta: dict) -> None:
    """Write ``{"state_dict", "meta"}`` (meta: width, n_channels, params, ...) atomically."""
    import torch

    meta = {**meta, "width": model.width, "n_channels": model.n_channels}
    with atomic_path(path) as tmp:
        torch.save({"state_dict": model.state_dict(), "meta": meta}, tmp)


def load_model(path: str | os.PathLike):
    """(VarFilterCNN in eval mode, meta dict) from a ``.pt`` written by :func:`save_model`."""
    import torch

    from biometal.ml.varfilter.model import VarFilterCNN

    ck = torch.load(path, map_location="cpu", weights_only=True)
    meta = ck["meta"]
    model = VarFilterCNN(width=int(meta["width"]), n_channels=int(meta["n_channels"]))
    model.load_state_dict(ck["state_dict"])
    model.eval()
    return model, meta


def params_dict(params: TrainParams) -> dict:
    """The settings as a plain dict (for the model's meta)."""
    return asdict(params)
