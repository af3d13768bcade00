"""Convolution + normalisation blocks shared by the keypoint detector, dense motion and generator.

Attribute names (``conv``, ``norm``, ``conv1``...) are those of the official checkpoints, so
state dicts load without renaming. Every BatchNorm runs in eval mode with its stored statistics.
Activations apply in place to the fresh outputs of the norms: no extra full-size buffer.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from sadtalker.render.winograd import Conv3x3, Conv3x3x3

LEAKY_SLOPE_THIRD = 0.01  # torch's LeakyReLU default, used by the generator's `third` block


class ConvNorm(nn.Module):
    """A convolution and its BatchNorm (`conv`, `norm`), 2-D or 3-D: the blocks below."""

    def __init__(self, in_features: int, out_features: int, dims: int,
                 kernel_size: int = 3) -> None:
        super().__init__()
        # 3x3 and 3x3x3 convolutions can run as Winograd (precision winograd): the generator's
        # `third` block and dense motion's hourglass do
        if dims == 2:
            self.conv = (Conv3x3(in_features, out_features) if kernel_size == 3 else
                         nn.Conv2d(in_features, out_features, kernel_size,
                                   padding=kernel_size // 2))
            self.norm = nn.BatchNorm2d(out_features)
        else:
            self.conv = (Conv3x3x3(in_features, out_features) if kernel_size == 3 else
                         nn.Conv3d(in_features, out_features, kernel_size,
                                   padding=kernel_size // 2))
            self.norm = nn.BatchNorm3d(out_features)

    def conv_norm_relu(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.norm(self.conv(x)), inplace=True)


class SameBlock2d(ConvNorm):
    """Conv + BatchNorm + (leaky) ReLU at unchanged resolution."""

    def __init__(self, in_features: int, out_features: int, kernel_size: int = 3,
                 leaky: bool = False) -> None:
        super().__init__(in_features, out_features, 2, kernel_size)
        self.slope = LEAKY_SLOPE_THIRD if leaky else 0.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.slope:
            return self.conv_norm_relu(x)
        return F.leaky_relu(self.norm(self.conv(x)), self.slope, inplace=True)


class DownBlock2d(ConvNorm):
    """Conv 3x3 + BatchNorm + ReLU, then 2x2 average pooling."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__(in_features, out_features, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(self.conv_norm_relu(x), 2)


class DownBlock3d(ConvNorm):
    """Conv 3x3x3 + BatchNorm + ReLU, then average pooling of height and width (not depth)."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__(in_features, out_features, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv_norm_relu(x)
        if x.dtype != torch.bfloat16 and not x.is_contiguous(
                memory_format=torch.channels_last_3d):
            return F.avg_pool3d(x, (1, 2, 2))
        # CPU avg_pool3d has no bfloat16 kernel and drops channels-last: the same averages as a
        # 2-D pool of each depth slice (a view), which runs in either dtype and layout.
        n, c, d, h, w = x.shape
        slices = x.transpose(1, 2).reshape(n * d, c, h, w)
        return F.avg_pool2d(slices, 2).view(n, d, c, h // 2, w // 2).transpose(1, 2)


class UpBlock3d(ConvNorm):
    """Nearest upsampling of height and width, then Conv 3x3x3 + BatchNorm + ReLU."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__(in_features, out_features, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_norm_relu(F.interpolate(x, scale_factor=(1, 2, 2), mode="nearest"))


class ResBlock3d(nn.Module):
    """Pre-activation residual block: (BN, ReLU, Conv3d) twice, plus the input."""

    def __init__(self, features: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv3d(features, features, 3, padding=1)
        self.conv2 = nn.Conv3d(features, features, 3, padding=1)
        self.norm1 = nn.BatchNorm3d(features)
        self.norm2 = nn.BatchNorm3d(features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(F.relu(self.norm1(x), inplace=True))
        return self.conv2(F.relu(self.norm2(out), inplace=True)).add_(x)


def coordinate_grid(depth: int, height: int, width: int,
                    dtype: torch.dtype = torch.float32,
                    device: torch.device | str = "cpu") -> torch.Tensor:
    """(D, H, W, 3) grid of (x, y, z) in [-1, 1], x along width: grid_sample's convention."""
    def axis(n: int) -> torch.Tensor:
        return 2 * (torch.arange(n, dtype=dtype, device=device) / (n - 1)) - 1

    z, y, x = torch.meshgrid(axis(depth), axis(height), axis(width), indexing="ij")
    return torch.stack([x, y, z], dim=-1)
