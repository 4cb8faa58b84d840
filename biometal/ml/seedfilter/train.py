"""Training and evaluation of the seed filter (CNN) and of its cheap feature-model peers.

- :func:`split_by_pair`: 80/10/10 (configurable) train/validation/test split by read pair,
  seeded, so both mates and every seed of a pair fall on the same side (no leakage).
- :func:`train_cnn`: AdamW, cosine learning-rate schedule over all steps, ``pos_weight``
  (negatives / positives of the training split) in ``BCEWithLogitsLoss``, early stopping on
  the validation AUROC (the best epoch's weights are kept), label smoothing (so that the
  float32 probabilities do not saturate at 1.0 and thresholds stay resolvable), seeded.
- :func:`choose_threshold`: the highest score threshold whose validation TPR (viable seeds
  kept) is >= the target (default 0.95).
- :func:`evaluate`: AUROC, AUPRC, TPR and FPR at the threshold on the test split.
- :func:`train_feature_models`: scikit-learn models on the seed features
  (:data:`biometal.ml.seedfilter.windows.FEATURES`): histogram gradient boosting and
  logistic regression, same split, thresholds and metrics.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from biometal._threads import set_torch_threads
from biometal.errors import BiometalError
from biometal.io.atomic import atomic_path
from biometal.ml.seedfilter.windows import FEATURES, WindowSet, load_windows
from biometal.progress import Progress

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainParams:
    """CNN training settings (config ``seedfilter.train``)."""

    epochs: int = 14  # as config/schema.yaml seedfilter.train.epochs
    batch_size: int = 256
    lr: float = 3e-3
    weight_decay: float = 5e-2
    patience: int = 6
    label_smoothing: float = 0.02
    split: tuple[float, float, float] = (0.8, 0.1, 0.1)
    target_tpr: float = 0.95
    threads: int = 2
    seed: int = 42


def train_params(cfg: dict, seed: int) -> TrainParams:
    """From the validated config section seedfilter.train (every key set: the schema holds
    the defaults) and the master seed."""
    values = {k: cfg[k] for k in TrainParams.__dataclass_fields__ if k != "seed"}
    values["split"] = tuple(float(x) for x in values["split"])
    return TrainParams(**values, seed=int(seed))


def split_by_pair(pairs: np.ndarray, fractions, seed: int) -> np.ndarray:
    """Split label per row: 0 train, 1 validation, 2 test, drawn per read pair."""
    f = np.asarray(fractions, float)
    if f.shape != (3,) or (f < 0).any() or not math.isclose(f.sum(), 1.0, abs_tol=1e-6):
        raise BiometalError(f"seedfilter split must be 3 fractions summing to 1, got {fractions}")
    uniq = np.unique(pairs)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(uniq.shape[0])
    n_tr = int(round(f[0] * uniq.shape[0]))
    n_va = int(round(f[1] * uniq.shape[0]))
    part = np.empty(uniq.shape[0], np.int8)
    part[perm[:n_tr]] = 0
    part[perm[n_tr : n_tr + n_va]] = 1
    part[perm[n_tr + n_va :]] = 2
    return part[np.searchsorted(uniq, pairs)]


def choose_threshold(y: np.ndarray, score: np.ndarray, target_tpr: float) -> float:
    """Highest threshold t with ``mean(score[y == 1] >= t) >= target_tpr``."""
    pos = np.sort(score[y == 1])
    if pos.shape[0] == 0:
        raise BiometalError("no viable seed in the validation split: cannot choose a threshold")
    k = int(math.floor((1.0 - target_tpr) * pos.shape[0] + 1e-9))
    return float(pos[min(k, pos.shape[0] - 1)])


def rates(y: np.ndarray, score: np.ndarray, threshold: float) -> dict[str, float]:
    """TPR, FPR and fraction of seeds kept at ``score >= threshold``."""
    keep = score >= threshold
    pos, neg = y == 1, y == 0
    return {
        "tpr": float(keep[pos].mean()) if pos.any() else math.nan,
        "fpr": float(keep[neg].mean()) if neg.any() else math.nan,
        "kept_fraction": float(keep.mean()),
    }


def evaluate(y: np.ndarray, score: np.ndarray, threshold: float) -> dict[str, float]:
    """AUROC, AUPRC (average precision), TPR/FPR at ``threshold``, class counts."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    both = 0 < y.sum() < y.shape[0]
    out = {
        "n": int(y.shape[0]),
        "n_viable": int(y.sum()),
        "auroc": float(roc_auc_score(y, score)) if both else math.nan,
        "auprc": float(average_precision_score(y, score)) if both else math.nan,
        "threshold": float(threshold),
    }
    out.update(rates(y, score, threshold))
    return out


def _batches(n: int, size: int, rng: np.random.Generator | None):
    idx = rng.permutation(n) if rng is not None else np.arange(n)
    for s in range(0, n, size):
        yield idx[s : s + size]


def predict_torch(
    model, x: np.ndarray, batch_size: int = 2048, side: np.ndarray | None = None
) -> np.ndarray:
    """P(viable) of one-hot windows (n, 2, W, 4) with a SeedFilterCNN (eval mode);
    ``side`` (n, n_side) float32 for a model with side inputs."""
    import torch

    model.eval()
    out = np.empty(x.shape[0], np.float32)
    with torch.no_grad():
        for s in range(0, x.shape[0], batch_size):
            xb = torch.from_numpy(x[s : s + batch_size])
            sb = None if side is None else torch.from_numpy(side[s : s + batch_size])
            out[s : s + batch_size] = torch.sigmoid(model(xb, sb)).numpy()
    return out


def occ_side(occ: np.ndarray) -> np.ndarray:
    """The side input of the occurrence-aware CNN: float32 (n, 1) ``log2(1 + occ)``."""
    return np.log2(1.0 + np.asarray(occ, np.float32)).reshape(-1, 1)


def train_cnn(ws: WindowSet, part: np.ndarray, params: TrainParams, side: np.ndarray | None = None):
    """Train a :class:`SeedFilterCNN`; returns (model, history DataFrame). ``side``
    (n, k) float32 per row of ``ws``: train the variant with k side inputs."""
    import torch
    from torch import nn

    from biometal.ml.seedfilter.model import SeedFilterCNN

    torch.manual_seed(params.seed)
    set_torch_threads(max(1, params.threads))  # not restored: one job per process
    rng = np.random.default_rng(params.seed)
    tr, va = np.flatnonzero(part == 0), np.flatnonzero(part == 1)
    y = ws["label"].astype(np.float32)
    x_tr, y_tr = ws.one_hot(tr), y[tr]
    x_va, y_va = ws.one_hot(va), y[va]
    s_tr = None if side is None else np.ascontiguousarray(side[tr], np.float32)
    s_va = None if side is None else torch.from_numpy(np.ascontiguousarray(side[va], np.float32))
    n_pos = float(y_tr.sum())
    n_neg = float(y_tr.shape[0] - n_pos)
    if n_pos == 0 or n_neg == 0:
        raise BiometalError(
            f"the training split has {int(n_pos)} viable and {int(n_neg)} non-viable seeds: "
            "both classes are needed (use more read pairs)"
        )
    n_side = 0 if side is None else int(side.shape[1])
    model = SeedFilterCNN(width=ws["qwin"].shape[1], n_side=n_side)
    opt = torch.optim.AdamW(model.parameters(), lr=params.lr, weight_decay=params.weight_decay)
    steps = params.epochs * math.ceil(len(tr) / params.batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, steps))
    loss_fn = nn.BCEWithLogitsLoss(pos_weight=torch.tensor(n_neg / n_pos))
    xt_va, yt_va = torch.from_numpy(x_va), torch.from_numpy(y_va)
    best, best_state, bad = math.inf, None, 0
    hist = []
    progress = Progress(log, "seedfilter CNN training", total=steps, unit="batches")
    for epoch in range(params.epochs):
        t0 = time.perf_counter()
        model.train()
        tot = 0.0
        stage = f"epoch {epoch + 1} of {params.epochs}"
        for b in _batches(len(tr), params.batch_size, rng):
            xb, yb = torch.from_numpy(x_tr[b]), torch.from_numpy(y_tr[b])
            sb = None if s_tr is None else torch.from_numpy(s_tr[b])
            opt.zero_grad()
            if params.label_smoothing:  # keeps logits finite: float32 scores stay < 1
                yb = yb * (1 - params.label_smoothing) + 0.5 * params.label_smoothing
            loss = loss_fn(model(xb, sb), yb)
            loss.backward()
            opt.step()
            sched.step()
            tot += float(loss.detach()) * len(b)
            progress.update(1, stage)
        model.eval()
        with torch.no_grad():
            logits = torch.cat(
                [
                    model(xt_va[s : s + 2048], None if s_va is None else s_va[s : s + 2048])
                    for s in range(0, len(va), 2048)
                ]
            )
            vloss = float(loss_fn(logits, yt_va))
        from sklearn.metrics import roc_auc_score

        vp = torch.sigmoid(logits).numpy()
        vauc = float(roc_auc_score(y_va, vp)) if 0 < y_va.sum() < len(y_va) else math.nan
        hist.append(
            {
                "epoch": epoch + 1,
                "train_loss": tot / len(tr),
                "val_loss": vloss,
                "val_auroc": vauc,
                "lr": sched.get_last_lr()[0],
                "seconds": time.perf_counter() - t0,
            }
        )
        log.info("epoch %d: %s", epoch + 1, hist[-1])
        # early stopping on validation AUROC (ties: lower loss); the loss of a small,
        # unbalanced validation split is noisy under BatchNorm
        key = -vauc if not math.isnan(vauc) else vloss
        if key < best - 1e-5:
            best, bad = key, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            bad += 1
            if bad >= params.patience:
                log.info("early stop after epoch %d (best %.4f)", epoch + 1, abs(best))
                break
    progress.done(f"{len(hist)} epochs")
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return model, pd.DataFrame(hist)


def _write_json(path, data) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def train_seedfilter(
    windows: str | os.PathLike,
    model_out: str | os.PathLike,
    metrics_out: str | os.PathLike,
    predictions_out: str | os.PathLike,
    history_out: str | os.PathLike,
    params: TrainParams,
) -> dict:
    """Train the CNN on a windows file; write the model (``.pt``: state dict + metadata),
    metrics (JSON: validation threshold, test AUROC/AUPRC/TPR/FPR), per-seed predictions of
    the validation and test splits (TSV.gz) and the training history (TSV)."""
    import torch

    from biometal.ml.seedfilter.model import n_parameters

    ws = load_windows(windows)
    part = split_by_pair(ws["pair"], params.split, params.seed)
    t0 = time.perf_counter()
    model, hist = train_cnn(ws, part, params)
    train_s = time.perf_counter() - t0
    y = ws["label"]
    va, te = np.flatnonzero(part == 1), np.flatnonzero(part == 2)
    p_va = predict_torch(model, ws.one_hot(va))
    p_te = predict_torch(model, ws.one_hot(te))
    thr = choose_threshold(y[va], p_va, params.target_tpr)
    metrics = {
        "model": "cnn",
        "parameters": n_parameters(model),
        "epochs_run": int(len(hist)),
        "train_seconds": train_s,
        "split_counts": {k: int((part == i).sum()) for i, k in enumerate(("train", "val", "test"))},
        "validation": evaluate(y[va], p_va, thr),
        "test": evaluate(y[te], p_te, thr),
        "params": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(params).items()},
    }
    meta = {"width": int(ws["qwin"].shape[1]), "threshold": thr}
    with atomic_path(model_out) as tmp:
        torch.save({"state_dict": model.state_dict(), "meta": meta}, tmp)
    _write_json(metrics_out, metrics)
    pred = pd.DataFrame(
        {
            "row": np.concatenate([va, te]),
            "split": ["val"] * len(va) + ["test"] * len(te),
            "label": np.concatenate([y[va], y[te]]),
            "score": np.concatenate([p_va, p_te]),
        }
    )
    with atomic_path(predictions_out) as tmp:
        pred.to_csv(tmp, sep="\t", index=False, compression="gzip")
    with atomic_path(history_out) as tmp:
        hist.to_csv(tmp, sep="\t", index=False)
    log.info("cnn metrics: %s", metrics["test"])
    return metrics


def load_cnn(path: str | os.PathLike):
    """(SeedFilterCNN in eval mode, meta dict) from a ``.pt`` written by training."""
    import torch

    from biometal.ml.seedfilter.model import SeedFilterCNN

    ck = torch.load(path, map_location="cpu", weights_only=True)
    model = SeedFilterCNN(width=int(ck["meta"]["width"]), n_side=int(ck["meta"].get("n_side", 0)))
    model.load_state_dict(ck["state_dict"])
    model.eval()
    return model, ck["meta"]


def feature_models(seed: int) -> dict:
    """The cheap peers: name -> unfitted scikit-learn estimator."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return {
        "hgb": HistGradientBoostingClassifier(
            max_iter=100, max_leaf_nodes=15, learning_rate=0.1, random_state=seed
        ),
        "logistic": make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
    }


def train_feature_models(
    windows: str | os.PathLike,
    models_out: str | os.PathLike,
    metrics_out: str | os.PathLike,
    predictions_out: str | os.PathLike,
    params: TrainParams,
) -> dict:
    """Fit the feature models on the training split (the CNN's split); thresholds on
    validation; metrics on test. Writes the fitted models (joblib), metrics (JSON) and the
    validation/test predictions (TSV.gz, one score column per model)."""
    import joblib

    ws = load_windows(windows)
    part = split_by_pair(ws["pair"], params.split, params.seed)
    y = ws["label"]
    tr, va, te = (np.flatnonzero(part == i) for i in range(3))
    x = ws.features()
    fitted, metrics = {}, {}
    pred = pd.DataFrame(
        {
            "row": np.concatenate([va, te]),
            "split": ["val"] * len(va) + ["test"] * len(te),
            "label": np.concatenate([y[va], y[te]]),
        }
    )
    for name, est in feature_models(params.seed).items():
        t0 = time.perf_counter()
        est.fit(x[tr], y[tr])
        fit_s = time.perf_counter() - t0
        p_va = est.predict_proba(x[va])[:, 1]
        p_te = est.predict_proba(x[te])[:, 1]
        thr = choose_threshold(y[va], p_va, params.target_tpr)
        metrics[name] = {
            "model": name,
            "features": list(FEATURES),
            "train_seconds": fit_s,
            "validation": evaluate(y[va], p_va, thr),
            "test": evaluate(y[te], p_te, thr),
        }
        fitted[name] = {"estimator": est, "threshold": thr, "features": list(FEATURES)}
        pred[name] = np.concatenate([p_va, p_te])
        log.info("%s metrics: %s", name, metrics[name]["test"])
    with atomic_path(models_out) as tmp:
        joblib.dump(fitted, tmp)
    _write_json(metrics_out, metrics)
    with atomic_path(predictions_out) as tmp:
        pred.to_csv(tmp, sep="\t", index=False, compression="gzip")
    return metrics
