"""Fine-tuning utilities for the DNABERT encoder: heads, freezing, losses, metrics,
resumable training and augmentation, streaming from :class:`~biometal.ml.DnaBertDataset`.

- :class:`SequenceClassifier`: a :class:`~biometal.ml.dnabert.model.BertMLM` encoder, mean
  (over non-padding tokens) or [CLS] pooling, dropout and a linear head with ``n_out``
  outputs: 1 logit for ``binary``, one logit per class for ``multiclass``, ``n_out``
  values for ``regression``. :func:`from_pretrained` loads the encoder of an MLM checkpoint
  (:func:`biometal.ml.dnabert.train.load_model`) or of a Hugging Face BERT directory
  (:func:`biometal.ml.dnabert.hf.load_hf_bert`); :func:`from_scratch` builds a freshly
  initialised one of the same size. :func:`freeze_encoder` freezes / unfreezes the encoder
  (optionally all but its last layers).
- :func:`task_loss`: BCE-with-logits (binary), cross-entropy (multiclass), MSE (regression).
- Metrics (numpy, no dependency): :func:`accuracy`, :func:`f1_score` (binary or macro),
  :func:`auroc` (Mann-Whitney with tied ranks), :func:`auprc` (average precision, the step
  sum scikit-learn's ``average_precision_score`` computes), :func:`mae`, :func:`rmse`,
  :func:`r2`.
- Augmentation (seeded): :func:`reverse_complement`, :func:`point_mutations` on reader
  chunks, :func:`random_token_mask` on token batches; :class:`LabelledReads` applies them
  while streaming (reverse complement through DnaBertDataset's own option) and adds the
  per-read ``target`` to every batch.
- :class:`FineTuner`: AdamW with linear warm-up / decay; :meth:`FineTuner.save` writes
  model, optimiser, scheduler, position in the stream and torch's RNG state, so that
  training N steps straight and training k, saving, loading into a fresh process-equivalent
  object and training N - k give bit-identical weights.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from biometal.errors import ConfigError
from biometal.io.atomic import atomic_path
from biometal.io.fastx import ReadChunk
from biometal.ml.dataset import DnaBertDataset
from biometal.ml.dnabert.model import BertConfig, BertMLM

TASKS = ("binary", "multiclass", "regression")
POOLS = ("mean", "cls")


# ----------------------------------------------------------------------------- model


class SequenceClassifier(nn.Module):
    """Encoder + pooled head. ``forward(input_ids, attention_mask=None)`` returns float
    [B, n_out] (the mask defaults to ``input_ids != pad_id``)."""

    def __init__(
        self,
        encoder: BertMLM,
        n_out: int,
        task: str = "multiclass",
        pool: str = "mean",
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        if task not in TASKS:
            raise ConfigError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
        if pool not in POOLS:
            raise ConfigError(f"pool must be one of {', '.join(POOLS)}, got {pool!r}")
        if n_out < 1 or (task == "binary" and n_out != 1):
            raise ConfigError(f"n_out must be >= 1 (1 for binary), got {n_out}")
        self.encoder = encoder
        self.task = task
        self.pool = pool
        self.n_out = int(n_out)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(encoder.config.hidden, n_out)
        nn.init.normal_(self.head.weight, std=0.02)
        nn.init.zeros_(self.head.bias)

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        if attention_mask is None:
            attention_mask = (input_ids != self.encoder.config.pad_id).long()
        hidden = self.encoder(input_ids, attention_mask)
        if self.pool == "cls":
            pooled = hidden[:, 0]
        else:
            w = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * w).sum(1) / w.sum(1).clamp_min(1.0)
        return self.head(self.dropout(pooled))

    def meta(self) -> dict:
        return {
            "model": self.encoder.config.to_dict(),
            "task": self.task,
            "pool": self.pool,
            "n_out": self.n_out,
            "dropout": float(self.dropout.p),
        }


def load_pretrained(path: str | os.PathLike) -> tuple[BertMLM, dict]:
    """(encoder in train mode, metadata) of an MLM checkpoint written by the case study, or
    of a Hugging Face BERT directory (:func:`biometal.ml.dnabert.hf.load_hf_bert`; its
    ``meta["tokenizer"]`` carries the directory's vocabulary)."""
    from biometal.ml.dnabert.train import load_model

    if os.path.isdir(path):
        from biometal.ml.dnabert.hf import load_hf_bert

        model, meta = load_hf_bert(path)
        return model.train(), meta
    if not os.path.isfile(path):
        raise ConfigError(
            f"{path}: no such pretrained DNABERT checkpoint or Hugging Face directory"
        )
    model, meta = load_model(path)
    return model.train(), meta


def from_pretrained(
    path: str | os.PathLike, n_out: int, task: str = "multiclass", **kw: Any
) -> SequenceClassifier:
    """A classifier on the encoder of the MLM checkpoint or Hugging Face BERT directory
    ``path`` (head freshly initialised)."""
    enc, _ = load_pretrained(path)
    return SequenceClassifier(enc, n_out, task, **kw)


def from_scratch(
    config: BertConfig, n_out: int, task: str = "multiclass", **kw: Any
) -> SequenceClassifier:
    """A classifier on a freshly initialised encoder of size ``config``."""
    return SequenceClassifier(BertMLM(config), n_out, task, **kw)


def freeze_encoder(model: SequenceClassifier, freeze: bool = True, train_last: int = 0) -> int:
    """Freeze (or unfreeze) the encoder; with ``train_last = n`` its last n layers (and final
    norm) stay trainable. Returns the number of trainable parameters."""
    for p in model.encoder.parameters():
        p.requires_grad_(not freeze)
    if freeze and train_last > 0:
        for layer in list(model.encoder.encoder.layers)[-train_last:]:
            for p in layer.parameters():
                p.requires_grad_(True)
        if model.encoder.encoder.norm is not None:
            for p in model.encoder.encoder.norm.parameters():
                p.requires_grad_(True)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def save_classifier(model: SequenceClassifier, path: str | os.PathLike, **extra: Any) -> None:
    """``torch.save`` of the classifier's weights and metadata (+ ``extra``), atomically."""
    with atomic_path(path) as tmp:
        torch.save({"state_dict": model.state_dict(), "meta": {**model.meta(), **extra}}, tmp)


def load_classifier(path: str | os.PathLike) -> tuple[SequenceClassifier, dict]:
    """(classifier in eval mode, metadata) written by :func:`save_classifier`."""
    saved = torch.load(path, map_location="cpu", weights_only=True)
    meta = saved["meta"]
    model = from_scratch(
        BertConfig(**meta["model"]), meta["n_out"], meta["task"], pool=meta["pool"],
        dropout=meta["dropout"],
    )  # fmt: skip
    model.load_state_dict(saved["state_dict"])
    return model.eval(), meta


# ----------------------------------------------------------------------------- losses


def task_loss(task: str, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean loss of ``logits`` [B, n_out] against ``target`` ([B] labels 0/1 or class ids;
    [B] or [B, n_out] values for regression)."""
    if task == "binary":
        return F.binary_cross_entropy_with_logits(logits.reshape(-1), target.float().reshape(-1))
    if task == "multiclass":
        return F.cross_entropy(logits, target.long())
    if task == "regression":
        return F.mse_loss(logits.reshape(target.shape).float(), target.float())
    raise ConfigError(f"task must be one of {', '.join(TASKS)}, got {task!r}")


# ----------------------------------------------------------------------------- metrics


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Fraction of equal labels."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return float((y_true == y_pred).mean()) if y_true.size else float("nan")


def f1_score(y_true: np.ndarray, y_pred: np.ndarray, average: str = "macro", labels=None) -> float:
    """F1 of positive class 1 (``average="binary"``) or unweighted mean over ``labels``
    (default: the labels present in ``y_true`` or ``y_pred``; a predicted label outside
    ``labels``, e.g. -1 for unclassified, counts as a miss). A class with no true and no
    predicted member scores 0, as in scikit-learn."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if average == "binary":
        classes = [1]
    elif average == "macro":
        classes = (
            sorted(set(np.unique(y_true)) | set(np.unique(y_pred))) if labels is None else labels
        )
    else:
        raise ConfigError(f"average must be binary or macro, got {average!r}")
    scores = []
    for c in classes:
        tp = int(((y_pred == c) & (y_true == c)).sum())
        fp = int(((y_pred == c) & (y_true != c)).sum())
        fn = int(((y_pred != c) & (y_true == c)).sum())
        denom = 2 * tp + fp + fn
        scores.append(2 * tp / denom if denom else 0.0)
    return float(np.mean(scores)) if scores else float("nan")


def _ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks with ties averaged."""
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    ranks = np.empty(len(x), np.float64)
    bounds = np.flatnonzero(np.diff(xs)) + 1
    starts = np.concatenate([[0], bounds])
    ends = np.concatenate([bounds, [len(x)]])
    for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
        ranks[order[s:e]] = (s + 1 + e) / 2
    return ranks


def auroc(y_true: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve of binary labels (Mann-Whitney U / n_pos n_neg, ties 1/2)."""
    y = np.asarray(y_true).astype(bool)
    s = np.asarray(score, np.float64)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    r = _ranks(s)
    return float((r[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def auprc(y_true: np.ndarray, score: np.ndarray) -> float:
    """Average precision: sum over score thresholds of (recall step) x precision."""
    y = np.asarray(y_true).astype(bool)
    s = np.asarray(score, np.float64)
    n_pos = int(y.sum())
    if n_pos == 0:
        return float("nan")
    order = np.argsort(-s, kind="mergesort")
    ys, ss = y[order], s[order]
    last = np.r_[np.flatnonzero(np.diff(ss)), len(ss) - 1]  # end of each tied group
    tp = np.cumsum(ys)[last]
    fp = (last + 1) - tp
    precision = tp / (tp + fp)
    recall = tp / n_pos
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def mae(y: np.ndarray, pred: np.ndarray) -> float:
    return float(np.mean(np.abs(np.asarray(y, float) - np.asarray(pred, float))))


def rmse(y: np.ndarray, pred: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(y, float) - np.asarray(pred, float)) ** 2)))


def r2(y: np.ndarray, pred: np.ndarray) -> float:
    """Coefficient of determination 1 - SS_res / SS_tot."""
    y, pred = np.asarray(y, float), np.asarray(pred, float)
    ss_tot = float(((y - y.mean()) ** 2).sum())
    ss_res = float(((y - pred) ** 2).sum())
    return 1.0 - ss_res / ss_tot if ss_tot > 0 else float("nan")


# ----------------------------------------------------------------------------- augmentation

_COMPLEMENT = np.array([3, 2, 1, 0, 4], np.uint8)


def reverse_complement(chunk: ReadChunk, which: np.ndarray | None = None) -> ReadChunk:
    """The chunk with reads (all, or where ``which`` bool[n]) reverse-complemented
    (codes A0 C1 G2 T3 N4; qualities reversed with them)."""
    codes, qual = chunk.codes.copy(), chunk.qual.copy()
    off = chunk.offsets
    sel = np.ones(len(chunk), bool) if which is None else np.asarray(which, bool)
    for i in np.flatnonzero(sel).tolist():
        a, b = int(off[i]), int(off[i + 1])
        codes[a:b] = _COMPLEMENT[np.minimum(chunk.codes[a:b][::-1], 4)]
        qual[a:b] = chunk.qual[a:b][::-1]
    return ReadChunk(codes, qual, off.copy())


def point_mutations(chunk: ReadChunk, rate: float, rng: np.random.Generator) -> ReadChunk:
    """The chunk with each A/C/G/T base substituted by one of the 3 others with probability
    ``rate`` (N untouched; qualities kept)."""
    codes = chunk.codes.copy()
    hit = (rng.random(codes.size) < rate) & (codes < 4)
    shift = rng.integers(1, 4, int(hit.sum())).astype(np.uint8)
    codes[hit] = (codes[hit] + shift) % 4
    return ReadChunk(codes, chunk.qual, chunk.offsets, chunk.names, chunk.first_line)


def random_token_mask(
    input_ids: np.ndarray,
    probability: float,
    rng: np.random.Generator,
    mask_id: int,
    n_special: int = 5,
) -> np.ndarray:
    """A copy of ``input_ids`` with each k-mer token (id >= n_special) replaced by
    ``mask_id`` with ``probability`` (specials and padding untouched)."""
    ids = np.array(input_ids, copy=True)
    hit = (rng.random(ids.shape) < probability) & (ids >= n_special)
    ids[hit] = mask_id
    return ids


class LabelledReads(DnaBertDataset):
    """DnaBertDataset batches (no MLM masking) of labelled reads: every batch also has
    ``target`` (the reads' labels, int64 or float32) and ``read_index``.

    ``labels``: one label per read of the inputs, in order. Augmentation, seeded per
    (seed, epoch, chunk): ``reverse_complement`` (probability per read),
    ``mutation_rate`` (point substitutions per base), ``token_mask`` (probability per
    k-mer token of becoming [MASK]). Other keyword arguments go to DnaBertDataset.
    """

    def __init__(
        self,
        paths_or_urls,
        labels: np.ndarray,
        *,
        mutation_rate: float = 0.0,
        token_mask: float = 0.0,
        **kw: Any,
    ) -> None:
        kw.setdefault("mlm_probability", 0.0)
        super().__init__(paths_or_urls, return_read_index=True, **kw)
        self.labels = np.asarray(labels)
        if not 0.0 <= mutation_rate <= 1.0 or not 0.0 <= token_mask <= 1.0:
            raise ConfigError("mutation_rate and token_mask must be in [0, 1]")
        self.mutation_rate = float(mutation_rate)
        self.token_mask = float(token_mask)

    def _batches(self, c: int, first: int, chunk: ReadChunk) -> Iterator[dict[str, torch.Tensor]]:
        if first + len(chunk) > len(self.labels):
            raise ConfigError(
                f"LabelledReads: {len(self.labels)} labels for more reads ({first + len(chunk)}+)"
            )
        rng = np.random.default_rng((self.seed, self.epoch, c, 1))
        if self.mutation_rate > 0:
            chunk = point_mutations(chunk, self.mutation_rate, rng)
        for batch in super()._batches(c, first, chunk):
            idx = batch["read_index"].numpy()
            lab = self.labels[idx]
            batch["target"] = torch.from_numpy(
                lab.astype(np.float32) if lab.dtype.kind == "f" else lab.astype(np.int64)
            )
            if self.token_mask > 0:
                ids = random_token_mask(
                    batch["input_ids"].numpy(), self.token_mask, rng, self.tokenizer.mask_id
                )
                batch["input_ids"] = torch.from_numpy(ids)
            yield batch


# ----------------------------------------------------------------------------- training


class FineTuner:
    """Train ``model`` on ``dataset`` (a :class:`LabelledReads`) for a schedule of
    ``total_steps`` steps (AdamW, linear warm-up over ``warmup`` of them, linear decay).
    Only parameters with ``requires_grad`` are optimised. :meth:`train` runs n more steps
    (epochs restart the stream); :meth:`save` / :meth:`load` resume bit for bit."""

    def __init__(
        self,
        model: SequenceClassifier,
        dataset: LabelledReads,
        *,
        total_steps: int,
        lr: float = 1e-3,
        weight_decay: float = 0.01,
        warmup: float = 0.1,
        grad_clip: float = 1.0,
    ) -> None:
        if total_steps < 1:
            raise ConfigError(f"total_steps must be >= 1, got {total_steps}")
        self.model = model
        self.dataset = dataset
        self.total_steps = int(total_steps)
        self.grad_clip = float(grad_clip)
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.opt = torch.optim.AdamW(self.params, lr=lr, weight_decay=weight_decay)
        n_warm = max(1, int(warmup * total_steps))
        rest = max(1, total_steps - n_warm)
        self.sched = torch.optim.lr_scheduler.LambdaLR(
            self.opt, lambda s: min((s + 1) / n_warm, max(0.0, (total_steps - s) / rest))
        )
        self.step = 0
        self.epoch = 0
        self.batch_in_epoch = 0
        self.reads = 0

    def _stream(self) -> Iterator[dict[str, torch.Tensor]]:
        while True:
            self.dataset.set_epoch(self.epoch)
            n = 0
            for i, batch in enumerate(self.dataset):
                n += 1
                if i < self.batch_in_epoch:
                    continue  # resume: the stream is deterministic, skip what was seen
                self.batch_in_epoch = i + 1
                yield batch
            if n == 0:
                raise ConfigError("fine-tuning: no reads in the training inputs")
            self.epoch += 1
            self.batch_in_epoch = 0

    def train(self, n_steps: int) -> list[float]:
        """Run ``n_steps`` optimiser steps; returns their losses."""
        self.model.train()
        losses: list[float] = []
        if n_steps <= 0:
            return losses
        for batch in self._stream():
            logits = self.model(batch["input_ids"], batch["attention_mask"])
            loss = task_loss(self.model.task, logits, batch["target"])
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            if self.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(self.params, self.grad_clip)
            self.opt.step()
            self.sched.step()
            self.step += 1
            self.reads += len(batch["input_ids"])
            losses.append(float(loss.detach()))
            if len(losses) >= n_steps:
                break
        return losses

    def state_dict(self) -> dict:
        return {
            "model": self.model.state_dict(),
            "optimizer": self.opt.state_dict(),
            "scheduler": self.sched.state_dict(),
            "position": {
                "step": self.step,
                "epoch": self.epoch,
                "batch_in_epoch": self.batch_in_epoch,
                "reads": self.reads,
            },
            "torch_rng": torch.get_rng_state(),
            "meta": self.model.meta(),
        }

    def save(self, path: str | os.PathLike) -> None:
        """Write a resumable checkpoint (atomically)."""
        with atomic_path(path) as tmp:
            torch.save(self.state_dict(), tmp)

    def load(self, path: str | os.PathLike) -> None:
        """Resume from a checkpoint written by :meth:`save` (same model size and dataset)."""
        state = torch.load(path, map_location="cpu", weights_only=True)
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["optimizer"])
        self.sched.load_state_dict(state["scheduler"])
        pos = state["position"]
        self.step, self.epoch = int(pos["step"]), int(pos["epoch"])
        self.batch_in_epoch, self.reads = int(pos["batch_in_epoch"]), int(pos["reads"])
        torch.set_rng_state(state["torch_rng"])


@torch.no_grad()
def predict(model: SequenceClassifier, dataset: DnaBertDataset) -> tuple[np.ndarray, np.ndarray]:
    """(float32 [n, n_out] outputs, int64 [n] read indices) of every read the dataset
    streams (``return_read_index`` must be on), model in eval mode."""
    model.eval()
    outs, idx = [], []
    for batch in dataset:
        outs.append(model(batch["input_ids"], batch["attention_mask"]).numpy())
        idx.append(batch["read_index"].numpy())
    if not outs:
        return np.zeros((0, model.n_out), np.float32), np.zeros(0, np.int64)
    return np.concatenate(outs), np.concatenate(idx)


def classification_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, n_classes: int, scores: np.ndarray | None = None
) -> dict[str, float]:
    """accuracy, macro F1 over ``range(n_classes)`` and, with ``scores`` float[n, n_classes]
    (or [n] for 2 classes), one-vs-rest macro AUROC and AUPRC."""
    out = {
        "accuracy": accuracy(y_true, y_pred),
        "macro_f1": f1_score(y_true, y_pred, labels=list(range(n_classes))),
    }
    if scores is not None:
        s = np.asarray(scores)
        if s.ndim == 1:
            s = np.stack([1 - s, s], 1)
        cls: Sequence[int] = [c for c in range(n_classes) if 0 < (y_true == c).sum() < len(y_true)]
        out["macro_auroc"] = (
            float(np.mean([auroc(y_true == c, s[:, c]) for c in cls])) if cls else float("nan")
        )
        out["macro_auprc"] = (
            float(np.mean([auprc(y_true == c, s[:, c]) for c in cls])) if cls else float("nan")
        )
    return out
