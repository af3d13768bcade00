"""ExpNet: per video frame, 64 expression coefficients from the mel window, a reference
expression and a blink ratio. Frames are independent, so any batch of frames works."""

from __future__ import annotations

import torch
from torch import nn

from sadtalker.coeff_layout import EXPRESSION_SIZE
from sadtalker.coeffs.audio_encoder import EMBEDDING, AudioEncoder


class ExpNet(nn.Module):
    """Audio features + reference expression + blink ratio -> expression (not a residual)."""

    def __init__(self):
        super().__init__()
        self.audio_encoder = AudioEncoder()
        self.mapping1 = nn.Linear(EMBEDDING + EXPRESSION_SIZE + 1, EXPRESSION_SIZE)

    def forward(self, windows: torch.Tensor, ref_exp: torch.Tensor,
                blink: torch.Tensor) -> torch.Tensor:
        """(T, 80, 16), (T, 64), (T, 1) -> (T, 64)."""
        return self.mapping1(torch.cat([self.audio_encoder(windows), ref_exp, blink], dim=1))
