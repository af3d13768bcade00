"""PoseVAE's training-time discriminator over pose sequences.

Never run at inference; it exists so the official checkpoint loads strictly.
"""

from __future__ import annotations

import torch
from torch import nn

from sadtalker.coeff_layout import POSE_SIZE


class ConvNormRelu(nn.Module):
    """Conv1d (no bias) -> BatchNorm1d -> ReLU."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int):
        super().__init__()
        self.conv = nn.Conv1d(cin, cout, kernel, stride, padding=1, bias=False)
        self.norm = nn.BatchNorm1d(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.norm(self.conv(x)))


class PoseSequenceDiscriminator(nn.Module):
    """Scores (N, 6, frames) pose motion; only its weights are kept here."""

    def __init__(self):
        super().__init__()
        self.seq = nn.Sequential(
            ConvNormRelu(POSE_SIZE, 256, kernel=4, stride=2),
            ConvNormRelu(256, 512, kernel=4, stride=2),
            ConvNormRelu(512, 1024, kernel=3, stride=1),
            nn.Conv1d(1024, 1, 3, padding=1),
        )
