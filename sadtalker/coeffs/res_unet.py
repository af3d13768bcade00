"""The small residual U-Net PoseVAE runs over a (32 frames x 6 pose values) map.

Strides act on the time axis only: 32 -> 16 -> 8 -> 4 frames and back up.
"""

from __future__ import annotations

import torch
from torch import nn

FILTERS = (32, 64, 128, 256)
TIME_STRIDE = (2, 1)


def _conv3x3(cin: int, cout: int, stride: int | tuple[int, int] = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride, padding=1)


class ResidualConv(nn.Module):
    """Pre-activation residual block: (BN, ReLU, conv) twice, plus a conv+BN skip."""

    def __init__(self, cin: int, cout: int, stride: int | tuple[int, int] = 1):
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.BatchNorm2d(cin), nn.ReLU(), _conv3x3(cin, cout, stride),
            nn.BatchNorm2d(cout), nn.ReLU(), _conv3x3(cout, cout),
        )
        self.conv_skip = nn.Sequential(_conv3x3(cin, cout, stride), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_block(x) + self.conv_skip(x)


class Upsample(nn.Module):
    """Doubles the time axis with a learned transposed convolution."""

    def __init__(self, channels: int):
        super().__init__()
        self.upsample = nn.ConvTranspose2d(channels, channels, TIME_STRIDE, TIME_STRIDE)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.upsample(x)


class ResUnet(nn.Module):
    """(N, 1, 32, 6) -> (N, 1, 32, 6) in (0, 1)."""

    def __init__(self):
        super().__init__()
        f0, f1, f2, f3 = FILTERS
        self.input_layer = nn.Sequential(_conv3x3(1, f0), nn.BatchNorm2d(f0), nn.ReLU(),
                                         _conv3x3(f0, f0))
        self.input_skip = nn.Sequential(_conv3x3(1, f0))
        self.residual_conv_1 = ResidualConv(f0, f1, TIME_STRIDE)
        self.residual_conv_2 = ResidualConv(f1, f2, TIME_STRIDE)
        self.bridge = ResidualConv(f2, f3, TIME_STRIDE)
        self.upsample_1 = Upsample(f3)
        self.up_residual_conv1 = ResidualConv(f3 + f2, f2)
        self.upsample_2 = Upsample(f2)
        self.up_residual_conv2 = ResidualConv(f2 + f1, f1)
        self.upsample_3 = Upsample(f1)
        self.up_residual_conv3 = ResidualConv(f1 + f0, f0)
        self.output_layer = nn.Sequential(nn.Conv2d(f0, 1, 1), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1 = self.input_layer(x) + self.input_skip(x)
        x2 = self.residual_conv_1(x1)
        x3 = self.residual_conv_2(x2)
        x4 = self.bridge(x3)
        x6 = self.up_residual_conv1(torch.cat([self.upsample_1(x4), x3], dim=1))
        x8 = self.up_residual_conv2(torch.cat([self.upsample_2(x6), x2], dim=1))
        x10 = self.up_residual_conv3(torch.cat([self.upsample_3(x8), x1], dim=1))
        return self.output_layer(x10)
