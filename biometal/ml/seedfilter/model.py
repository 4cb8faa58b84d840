"""The seed-viability CNN (design card): one-hot windows in, P(viable) out.

Input (B, 2, 128, 4): query and reference windows, one-hot over A C G T (N all zeros),
reshaped to (B, 8, 128) channels x positions. Conv1d 8->32 k7, 32->64 k5, 64->64 k3,
each with BatchNorm and ReLU, max-pool /2 after the first two; global average pool;
dense 64->32 (ReLU) -> 1; sigmoid. 26,913 parameters.

With ``n_side > 0`` the model also takes ``side`` (B, n_side) float32 per-occurrence
scalars (the real-sequence variant: ``log2(1 + occurrence count)``, which the windows
cannot show), concatenated to the pooled features before the dense head (+32 * n_side
parameters). ``n_side = 0`` (the default, the shipped model) is the windows-only network.

:class:`SeedFilterCNN` returns logits (training uses ``BCEWithLogitsLoss`` with
``pos_weight``); :class:`SeedFilterProb` wraps it with the sigmoid for export/inference.
"""

from __future__ import annotations

import torch
from torch import nn

WINDOW = 128


class SeedFilterCNN(nn.Module):
    """1D CNN over (B, 2, W, 4) one-hot windows; ``forward`` returns logits (B,)."""

    def __init__(
        self,
        width: int = WINDOW,
        channels: tuple[int, int, int] = (32, 64, 64),
        n_side: int = 0,
    ):
        super().__init__()
        c1, c2, c3 = channels
        self.width = width
        self.n_side = int(n_side)
        self.features = nn.Sequential(
            nn.Conv1d(8, c1, 7, padding=3),
            nn.BatchNorm1d(c1),
            nn.ReLU(),
            nn.MaxPool1d(2),
            nn.Conv1d(c1, c2, 5, padding=2),
            nn.BatchNorm1d(c2),
            nn.ReLU(),
            nn.MaxPool1d(2),
            nn.Conv1d(c2, c3, 3, padding=1),
            nn.BatchNorm1d(c3),
            nn.ReLU(),
        )
        self.head = nn.Sequential(nn.Linear(c3 + self.n_side, 32), nn.ReLU(), nn.Linear(32, 1))

    def forward(self, x: torch.Tensor, side: torch.Tensor | None = None) -> torch.Tensor:
        # (B, 2, W, 4) -> (B, 2, 4, W) -> (B, 8, W)
        b = x.shape[0]
        x = x.permute(0, 1, 3, 2).reshape(b, 8, self.width)
        h = self.features(x).mean(dim=2)
        if self.n_side:
            if side is None:
                raise ValueError(f"this seed-filter CNN needs a side input (B, {self.n_side})")
            h = torch.cat([h, side.reshape(b, self.n_side)], dim=1)
        return self.head(h).squeeze(1)


class SeedFilterProb(nn.Module):
    """``sigmoid(SeedFilterCNN(x[, side]))``: (B, 2, W, 4) float32 -> (B,) P(viable)."""

    def __init__(self, net: SeedFilterCNN):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor, side: torch.Tensor | None = None) -> torch.Tensor:
        return torch.sigmoid(self.net(x, side))


def n_parameters(model: nn.Module) -> int:
    """Trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
