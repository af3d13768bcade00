"""The wav2lip-style convolutional encoder that turns one 80x16 mel window into 512 features.

ExpNet and PoseVAE each hold their own copy with separate weights.
"""

from __future__ import annotations

import torch
from torch import nn

EMBEDDING = 512

# (in, out, kernel, stride, padding, residual) per block; strides shrink 80x16 to 1x1
_BLOCKS = (
    (1, 32, 3, 1, 1, False),
    (32, 32, 3, 1, 1, True),
    (32, 32, 3, 1, 1, True),
    (32, 64, 3, (3, 1), 1, False),
    (64, 64, 3, 1, 1, True),
    (64, 64, 3, 1, 1, True),
    (64, 128, 3, 3, 1, False),
    (128, 128, 3, 1, 1, True),
    (128, 128, 3, 1, 1, True),
    (128, 256, 3, (3, 2), 1, False),
    (256, 256, 3, 1, 1, True),
    (256, EMBEDDING, 3, 1, 0, False),
    (EMBEDDING, EMBEDDING, 1, 1, 0, False),
)


class ConvBlock(nn.Module):
    """Conv -> BatchNorm (-> + input when residual) -> ReLU."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int | tuple[int, int],
                 padding: int, residual: bool):
        super().__init__()
        self.conv_block = nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, padding),
                                        nn.BatchNorm2d(cout))
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv_block(x)
        return torch.relu(out + x if self.residual else out)


class AudioEncoder(nn.Sequential):
    """(N, 80, 16) mel windows -> (N, 512) features."""

    def __init__(self):
        super().__init__(*(ConvBlock(*block) for block in _BLOCKS))

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        return super().forward(windows.unsqueeze(1)).flatten(1)
