"""Canonical 3-D keypoints of the source face (face-vid2vid's keypoint detector).

The image is blurred and subsampled 4x, encoded by five 2-D down blocks, lifted to a 3-D volume
(depth 16) and decoded by five 3-D up blocks; a 3-D conv gives one heatmap per keypoint, and a
keypoint is the expected (x, y, z) coordinate under its softmax.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from sadtalker.render.blocks import DownBlock2d, UpBlock3d, coordinate_grid

NUM_KEYPOINTS = 15
BLOCK_EXPANSION = 32
MAX_FEATURES = 1024
NUM_BLOCKS = 5
RESHAPE_CHANNELS = 16384  # 1024 channels x depth 16 after the 1x1 lift
RESHAPE_DEPTH = 16
TEMPERATURE = 0.1  # softmax temperature of the keypoint heatmaps
SCALE_FACTOR = 0.25  # the detector sees the image at a quarter of its size


def antialias_kernel(scale: float, channels: int = 3) -> torch.Tensor:
    """Normalised Gaussian blur applied before subsampling by 1/scale, as a depthwise weight.

    sigma = (1/scale - 1) / 2 and size 2*round(4 sigma) + 1: 13x13 with sigma 1.5 at scale 1/4.
    """
    sigma = (1 / scale - 1) / 2
    size = 2 * round(sigma * 4) + 1
    offsets = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
    profile = torch.exp(-offsets**2 / (2 * sigma**2))
    kernel = profile[:, None] * profile[None, :]
    kernel = kernel / kernel.sum()
    return kernel.expand(channels, 1, size, size).clone()


class AntiAliasDownsample(nn.Module):
    """Gaussian blur (zero padded) then keep every (1/scale)-th pixel."""

    def __init__(self, channels: int, scale: float) -> None:
        super().__init__()
        self.register_buffer("weight", antialias_kernel(scale, channels))
        self.step = int(1 / scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pad = self.weight.shape[-1] // 2
        x = F.conv2d(F.pad(x, (pad, pad, pad, pad)), self.weight, groups=x.shape[1])
        return x[:, :, :: self.step, :: self.step]


class KeypointHourglass(nn.Module):
    """2-D encoder, 1x1 lift to a 3-D volume, 3-D decoder (no skip connections)."""

    def __init__(self, in_features: int = 3) -> None:
        super().__init__()
        width = [min(MAX_FEATURES, BLOCK_EXPANSION * 2**i) for i in range(NUM_BLOCKS + 1)]
        self.down_blocks = nn.Sequential()
        for i in range(NUM_BLOCKS):
            self.down_blocks.add_module(
                f"down{i}", DownBlock2d(in_features if i == 0 else width[i], width[i + 1]))
        self.conv = nn.Conv2d(width[NUM_BLOCKS], RESHAPE_CHANNELS, 1)
        self.up_blocks = nn.Sequential()
        for i in range(NUM_BLOCKS):
            self.up_blocks.add_module(
                f"up{i}", UpBlock3d(width[NUM_BLOCKS - i], width[NUM_BLOCKS - i - 1]))
        self.out_features = width[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(self.down_blocks(x))
        bs, c, h, w = x.shape
        return self.up_blocks(x.view(bs, c // RESHAPE_DEPTH, RESHAPE_DEPTH, h, w))


class KeypointDetector(nn.Module):
    """Image (N, 3, S, S) in [0, 1] -> canonical keypoints (N, 15, 3) in [-1, 1]."""

    def __init__(self) -> None:
        super().__init__()
        self.predictor = KeypointHourglass()
        self.kp = nn.Conv3d(self.predictor.out_features, NUM_KEYPOINTS, 3, padding=1)
        self.down = AntiAliasDownsample(3, SCALE_FACTOR)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        logits = self.kp(self.predictor(self.down(image)))
        n, k, d, h, w = logits.shape
        heatmap = F.softmax(logits.view(n, k, -1) / TEMPERATURE, dim=2).view(n, k, d, h, w, 1)
        grid = coordinate_grid(d, h, w, logits.dtype, logits.device)
        return (heatmap * grid).sum(dim=(2, 3, 4))
