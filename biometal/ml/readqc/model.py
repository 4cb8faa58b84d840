"""The neural base-quality model: P(base call is wrong) from context, cycle and reported Q.

Input: one float32 matrix ``features`` (B, 13) per base (:func:`pack_features`), columns

    0..8   base codes of the 9-base context in sequencing order (A0 C1 G2 T3, 4 = N or
           beyond the read); column 4 is the base itself
    9      reported Phred quality
    10     machine cycle (0-based position in the read as sequenced)
    11     mate (0 = read 1 / single, 1 = read 2)
    12     read length

(one packed float tensor, so the ONNX and Core ML graphs have a single input and the seed
filter's backends run them unchanged; every value is a small integer, exact in float16).

Network: each context base -> a 4-d embedding (5 symbols) -> 36; quality (clipped to
0..63) -> an 8-d embedding; cycle (clipped to 0..511) -> a 4-d embedding (zero-initialised,
so cycles absent from training stay neutral: single bad cycles are learnt); four continuous
features (Q/40, cycle/100, cycle/(length-1), (length-1-cycle)/100) and the mate; MLP
53 -> 32 -> 32 -> 1 (ReLU). The
output is a *correction* to the reported quality's own log-odds:
``logit = (logit(p_reported(Q)) + mlp(x)) / temperature`` with ``p_reported(Q) =
10**(-Q/10)`` (capped at 0.75) and ``temperature`` a scalar fitted on the validation split
after training (:func:`biometal.ml.readqc.train.fit_temperature`). 5,397 parameters.

:class:`ReadQualityNet` returns the logit of P(error) (training uses plain
``BCEWithLogitsLoss``). The exported graphs return the logit too, and the predictor applies
the sigmoid in float64 (:func:`error_from_logit`): ONNX Runtime's Sigmoid has ~3e-7
absolute error (4% relative at P = 1e-6, i.e. 0.2 Q), and a float16 P (Core ML) cannot
hold Q >= 48; a float16 logit near -10 is within 0.008, i.e. 0.03 Q.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

CONTEXT = 4
N_CONTEXT = 2 * CONTEXT + 1
N_FEATURES = N_CONTEXT + 4
COL_QUALITY = N_CONTEXT  # columns of the packed input after the context
COL_CYCLE = N_CONTEXT + 1
COL_MATE = N_CONTEXT + 2
COL_LENGTH = N_CONTEXT + 3
MAX_Q = 63
MAX_CYCLE = 511
P_CAP = 0.75


def pack_features(feats) -> np.ndarray:
    """float32 (n, 13) model input of a :class:`~biometal.readqc.covariates.BaseFeatures`
    (any object with ``context`` (n, 9), ``quality``, ``cycle``, ``mate``, ``read_length``)."""
    ctx = np.asarray(feats.context)
    n = ctx.shape[0]
    if ctx.ndim != 2 or ctx.shape[1] != N_CONTEXT:
        raise ValueError(f"context must be (n, {N_CONTEXT}), got {ctx.shape}")
    x = np.empty((n, N_FEATURES), np.float32)
    x[:, :N_CONTEXT] = np.minimum(ctx, 4)
    for col, name in (
        (COL_QUALITY, "quality"),
        (COL_CYCLE, "cycle"),
        (COL_MATE, "mate"),
        (COL_LENGTH, "read_length"),
    ):
        v = np.asarray(getattr(feats, name))
        if v.shape != (n,):
            raise ValueError(f"{name} must have shape ({n},), got {v.shape}")
        x[:, col] = v
    return x


def reported_error(quality: np.ndarray) -> np.ndarray:
    """float64 ``min(10**(-Q/10), 0.75)``: the error probability a quality reports."""
    return np.minimum(10.0 ** (-np.asarray(quality, np.float64) / 10.0), P_CAP)


class ReadQualityNet(nn.Module):
    """Per-base MLP over (B, 13) packed features; ``forward`` returns logits (B,)."""

    def __init__(
        self,
        base_dim: int = 4,
        q_dim: int = 8,
        cycle_dim: int = 4,
        hidden: tuple[int, int] = (32, 32),
    ):
        super().__init__()
        self.base_emb = nn.Embedding(5, base_dim)
        self.q_emb = nn.Embedding(MAX_Q + 1, q_dim)
        self.cycle_emb = nn.Embedding(MAX_CYCLE + 1, cycle_dim)
        nn.init.zeros_(self.cycle_emb.weight)  # cycles never trained on stay neutral
        n_in = N_CONTEXT * base_dim + q_dim + cycle_dim + 5
        h1, h2 = hidden
        self.mlp = nn.Sequential(
            nn.Linear(n_in, h1), nn.ReLU(), nn.Linear(h1, h2), nn.ReLU(), nn.Linear(h2, 1)
        )
        nn.init.zeros_(self.mlp[-1].weight)  # start as the reported qualities
        nn.init.zeros_(self.mlp[-1].bias)
        p = reported_error(np.arange(MAX_Q + 1))
        self.register_buffer("prior_logit", torch.tensor(np.log(p / (1 - p)), dtype=torch.float32))
        self.register_buffer("temperature", torch.ones(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = x.shape[0]
        ctx = x[:, :N_CONTEXT].to(torch.int64)
        q = x[:, COL_QUALITY].clamp(0, MAX_Q).to(torch.int64)
        c = x[:, COL_CYCLE].clamp(0, MAX_CYCLE).to(torch.int64)
        cyc = x[:, COL_CYCLE]
        length = x[:, COL_LENGTH].clamp(min=2.0)
        cont = torch.stack(
            [
                x[:, COL_QUALITY] / 40.0,
                cyc / 100.0,
                cyc / (length - 1.0),
                (length - 1.0 - cyc) / 100.0,
                x[:, COL_MATE],
            ],
            dim=1,
        )
        h = torch.cat(
            [self.base_emb(ctx).reshape(b, -1), self.q_emb(q), self.cycle_emb(c), cont], dim=1
        )
        logit = self.prior_logit[q] + self.mlp(h).squeeze(1)
        return logit / self.temperature


def error_from_logit(logit: np.ndarray) -> np.ndarray:
    """float32 P(error) = sigmoid(logit), computed in float64."""
    z = np.asarray(logit, np.float64)
    return (0.5 * (1.0 + np.tanh(0.5 * z))).astype(np.float32)


def n_parameters(model: nn.Module) -> int:
    """Trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


class FusedQualityNet(nn.Module):
    """The same function as a trained :class:`ReadQualityNet`, cheaper to run: each
    embedding is folded into the first linear layer (a table of that layer's outputs per
    symbol), so the first layer is table lookups and sums plus a 5 -> h1 product for the
    continuous features. Used for export; equal to the source model up to float rounding."""

    def __init__(self, net: ReadQualityNet):
        super().__init__()
        w1, b1 = net.mlp[0].weight.detach(), net.mlp[0].bias.detach()  # (h1, n_in), (h1,)
        bd = net.base_emb.embedding_dim
        qd = net.q_emb.embedding_dim
        n_ctx = N_CONTEXT * bd
        e = net.base_emb.weight.detach()  # (5, bd)
        ctx = [e @ w1[:, p * bd : (p + 1) * bd].T for p in range(N_CONTEXT)]  # (5, h1) each
        self.register_buffer("ctx_table", torch.cat(ctx, 0).contiguous())  # (9*5, h1)
        self.register_buffer("ctx_offset", torch.arange(N_CONTEXT, dtype=torch.int64) * 5)
        qt = net.q_emb.weight.detach() @ w1[:, n_ctx : n_ctx + qd].T + b1  # bias folded in
        self.register_buffer("q_table", qt.contiguous())
        cd = net.cycle_emb.embedding_dim
        ct = net.cycle_emb.weight.detach() @ w1[:, n_ctx + qd : n_ctx + qd + cd].T
        self.register_buffer("cycle_table", ct.contiguous())
        self.cont = nn.Linear(5, w1.shape[0], bias=False)
        self.cont.weight.data = w1[:, n_ctx + qd + cd :].clone()
        self.rest = net.mlp[1:]
        self.register_buffer("prior_logit", net.prior_logit.clone())
        self.register_buffer("temperature", net.temperature.clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ctx = x[:, :N_CONTEXT].to(torch.int64) + self.ctx_offset
        q = x[:, COL_QUALITY].clamp(0, MAX_Q).to(torch.int64)
        c = x[:, COL_CYCLE].clamp(0, MAX_CYCLE).to(torch.int64)
        cyc = x[:, COL_CYCLE]
        length = x[:, COL_LENGTH].clamp(min=2.0)
        cont = torch.stack(
            [
                x[:, COL_QUALITY] / 40.0,
                cyc / 100.0,
                cyc / (length - 1.0),
                (length - 1.0 - cyc) / 100.0,
                x[:, COL_MATE],
            ],
            dim=1,
        )
        h = self.ctx_table[ctx].sum(1) + self.q_table[q] + self.cycle_table[c] + self.cont(cont)
        logit = self.prior_logit[q] + self.rest(h).squeeze(1)
        return logit / self.temperature
