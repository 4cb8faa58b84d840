"""The variant-filter CNN: one window of channels around a candidate site in, P(real) out.

Input ``windows`` float32 (B, C, W): C = :data:`N_CHANNELS` channels (see
:data:`CHANNELS`) over W positions (default :data:`WIDTH` = 64), the candidate's anchor
base at column ``W // 2``. Conv1d C->32 k5, 32->32 k5 (BatchNorm + ReLU each, max-pool /2
after the first), then the pooled features (global max and mean) and the features of the
centre column go through dense 96->32 (ReLU) -> 1. About 10k parameters.

:class:`VarFilterCNN` returns logits (training uses ``BCEWithLogitsLoss``);
:class:`VarFilterProb` adds the sigmoid for export and inference (output ``p_real``).
"""

from __future__ import annotations

import torch
from torch import nn

WIDTH = 64
#: channel names, in order (rows of a window); see biometal.ml.varfilter.features
CHANNELS = (
    "A",
    "C",
    "G",
    "T",  # reference one-hot
    "depth",  # coverage / median depth of the sample
    "frac_A",
    "frac_C",
    "frac_G",
    "frac_T",
    "frac_N",
    "frac_del",  # base counts / coverage
    "bq_0_10",
    "bq_10_20",
    "bq_20_30",
    "bq_30_40",
    "bq_40",  # base-quality histogram / coverage
    "cand_snp",
    "cand_indel",
    "cand_dosage",  # the caller's candidate calls (VCF channels)
    "qual",  # the site's QUAL / 100 (broadcast over the window)
    "af",  # the site's ALT fraction
    "dp",  # the site's depth / median depth
    "is_indel",  # the site is an indel
)
N_CHANNELS = len(CHANNELS)


class VarFilterCNN(nn.Module):
    """1D CNN over (B, C, W) windows; ``forward`` returns logits (B,)."""

    def __init__(self, width: int = WIDTH, n_channels: int = N_CHANNELS, hidden: int = 32):
        super().__init__()
        self.width = int(width)
        self.n_channels = int(n_channels)
        h = int(hidden)
        self.conv1 = nn.Sequential(
            nn.Conv1d(self.n_channels, h, 5, padding=2), nn.BatchNorm1d(h), nn.ReLU()
        )
        self.pool = nn.MaxPool1d(2)
        self.conv2 = nn.Sequential(nn.Conv1d(h, h, 5, padding=2), nn.BatchNorm1d(h), nn.ReLU())
        self.head = nn.Sequential(nn.Linear(3 * h, 32), nn.ReLU(), nn.Linear(32, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h1 = self.conv1(x)
        centre = h1[:, :, self.width // 2]
        h2 = self.conv2(self.pool(h1))
        feats = torch.cat([h2.amax(dim=2), h2.mean(dim=2), centre], dim=1)
        return self.head(feats).squeeze(1)


class VarFilterProb(nn.Module):
    """``sigmoid(VarFilterCNN(x))``: (B, C, W) float32 -> (B,) P(real)."""

    def __init__(self, net: VarFilterCNN):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.net(x))
