"""A small BERT-style encoder with a masked-language-model head, in plain torch.

Embeddings (token + learned position, LayerNorm, dropout) -> ``torch.nn.TransformerEncoder``
(GELU layers; pre-norm with a final LayerNorm by default, post-norm as the original BERT with
``norm_first=False``) -> MLM head (dense + GELU + LayerNorm, decoder tied to the
token embedding). With ``candidate_ids``/``candidate_probs`` (probabilistic quality-aware
tokens) the input embedding of a position is the probability-weighted mean of its
candidates' embeddings.

``layer_norm_eps`` and ``activation`` (exact or tanh GELU) default to torch's choices;
:mod:`biometal.ml.dnabert.hf` sets them from a Hugging Face BERT checkpoint.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F

from biometal.errors import ConfigError

IGNORE_INDEX = -100


@dataclass(frozen=True)
class BertConfig:
    """Model size: ``hidden`` units, ``layers``, attention ``heads``, feed-forward ``ff``."""

    vocab_size: int
    max_length: int = 128
    hidden: int = 64
    layers: int = 2
    heads: int = 4
    ff: int = 256
    dropout: float = 0.1
    pad_id: int = 0
    #: pre-norm layers (LayerNorm before attention / feed-forward). On the default 2-core
    #: case study (k=3, 1000 steps, lr 3e-3) pre-norm without dropout fell below 3 nats at
    #: step 550-650 and ended at 0.40-0.48 (two seeds); post-norm with dropout 0.1 at step
    #: 900-950, ending at 2.7-2.8 (``python bench/dnabert_learning.py``).
    norm_first: bool = True
    #: epsilon of every LayerNorm (torch's default; Hugging Face BERT checkpoints use 1e-12)
    layer_norm_eps: float = 1e-5
    #: ``gelu`` (exact, erf) or ``gelu_tanh`` (tanh approximation: Hugging Face's
    #: ``gelu_new`` / ``gelu_pytorch_tanh``), in the layers and the MLM head
    activation: str = "gelu"

    def to_dict(self) -> dict:
        return asdict(self)


ACTIVATIONS = ("gelu", "gelu_tanh")


def _activation(name: str):
    """The feed-forward activation of ``TransformerEncoderLayer``. Exact GELU stays the
    string ``"gelu"`` (the layer's own choice, fast path included); the tanh variant is a
    plain function: an ``nn.GELU(approximate="tanh")`` module would make torch's inference
    fast path run the exact GELU instead."""
    if name == "gelu":
        return "gelu"
    if name == "gelu_tanh":
        return functools.partial(F.gelu, approximate="tanh")
    raise ConfigError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {name!r}")


class BertMLM(nn.Module):
    """BERT encoder + MLM head. ``forward`` returns hidden states float[B, L, hidden]."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.config = config
        h = config.hidden
        eps = config.layer_norm_eps
        act = _activation(config.activation)
        self.tokens = nn.Embedding(config.vocab_size, h, padding_idx=config.pad_id)
        self.positions = nn.Embedding(config.max_length, h)
        self.norm = nn.LayerNorm(h, eps=eps)
        self.dropout = nn.Dropout(config.dropout)
        layer = nn.TransformerEncoderLayer(
            h,
            config.heads,
            config.ff,
            config.dropout,
            activation=act,
            layer_norm_eps=eps,
            batch_first=True,
            norm_first=config.norm_first,
        )
        self.encoder = nn.TransformerEncoder(
            layer,
            config.layers,
            norm=nn.LayerNorm(h, eps=eps) if config.norm_first else None,
            enable_nested_tensor=False,
        )
        self.head = nn.Sequential(
            nn.Linear(h, h),
            nn.GELU(approximate="tanh" if config.activation == "gelu_tanh" else "none"),
            nn.LayerNorm(h, eps=eps),
        )
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))
        self.apply(self._init)

    @staticmethod
    def _init(module: nn.Module) -> None:
        if isinstance(module, nn.Linear | nn.Embedding):
            nn.init.normal_(module.weight, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def embed(
        self,
        input_ids: torch.Tensor,
        candidate_ids: torch.Tensor | None = None,
        candidate_probs: torch.Tensor | None = None,
    ) -> torch.Tensor:
        if candidate_ids is not None and candidate_probs is not None:
            x = (self.tokens(candidate_ids) * candidate_probs.unsqueeze(-1)).sum(-2)
        else:
            x = self.tokens(input_ids)
        pos = torch.arange(input_ids.shape[1], device=input_ids.device)
        return self.dropout(self.norm(x + self.positions(pos)[None]))

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        candidate_ids: torch.Tensor | None = None,
        candidate_probs: torch.Tensor | None = None,
    ) -> torch.Tensor:
        x = self.embed(input_ids, candidate_ids, candidate_probs)
        return self.encoder(x, src_key_padding_mask=attention_mask == 0)

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """MLM logits float[..., vocab_size] of hidden states float[..., hidden]."""
        return self.head(hidden) @ self.tokens.weight.T + self.bias

    def mlm_loss(
        self, batch: dict[str, torch.Tensor], weighted: bool = False
    ) -> tuple[torch.Tensor, int]:
        """(mean cross-entropy over the labelled positions, number of them).

        ``weighted``: each position's loss is multiplied by ``batch["token_weights"]`` and
        the sum divided by the sum of the weights. Logits are computed only where labelled.
        """
        hidden = self(
            batch["input_ids"],
            batch["attention_mask"],
            batch.get("candidate_ids"),
            batch.get("candidate_probs"),
        )
        labels = batch["labels"]
        sel = labels != IGNORE_INDEX
        n = int(sel.sum())
        if n == 0:
            return hidden.sum() * 0.0, 0
        losses = F.cross_entropy(self.logits(hidden[sel]), labels[sel], reduction="none")
        if weighted and "token_weights" in batch:
            w = batch["token_weights"][sel]
            return (losses * w).sum() / w.sum().clamp_min(1e-6), n
        return losses.mean(), n
