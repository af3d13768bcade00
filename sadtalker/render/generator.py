"""The occlusion-aware SPADE generator: source image + keypoints -> rendered frame.

`encode` turns the source image into a 3-D appearance volume (32 ch x depth 16 at S/4) and is
run once per source; `forward` warps that volume by the dense motion between source and
driving keypoints, masks occluded regions and decodes the result with the SPADE decoder.

The per-frame networks may run in bfloat16 (`set_frame_dtype`): the source encoder, the
warps and the blend weights stay in float32, so only the convolution stacks lose precision.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from sadtalker.render.blocks import DownBlock2d, ResBlock3d, SameBlock2d
from sadtalker.render.dense_motion import DenseMotionNetwork, MotionSource
from sadtalker.render.spade_decoder import SPADEDecoder

BLOCK_EXPANSION = 64
MAX_FEATURES = 512
NUM_DOWN_BLOCKS = 2
RESHAPE_CHANNELS = 32  # 512 channels viewed as 32 channels x depth 16
RESHAPE_DEPTH = 16
NUM_RESBLOCKS = 6


@dataclass
class SourceFeatures:
    """Everything the generator needs of the source image, computed once."""

    volume: torch.Tensor  # (1, 32, 16, S/4, S/4) appearance volume
    motion: MotionSource


class Generator(nn.Module):
    """Appearance encoder, dense motion, warp + occlusion, SPADE decoder."""

    def __init__(self, num_keypoints: int = 15) -> None:
        super().__init__()
        self.dense_motion_network = DenseMotionNetwork(num_keypoints, RESHAPE_CHANNELS,
                                                       RESHAPE_DEPTH)
        self.first = SameBlock2d(3, BLOCK_EXPANSION)
        width = [min(MAX_FEATURES, BLOCK_EXPANSION * 2**i) for i in range(NUM_DOWN_BLOCKS + 1)]
        self.down_blocks = nn.ModuleList(
            DownBlock2d(width[i], width[i + 1]) for i in range(NUM_DOWN_BLOCKS))
        self.second = nn.Conv2d(width[-1], MAX_FEATURES, 1)
        self.resblocks_3d = nn.Sequential()
        for i in range(NUM_RESBLOCKS):
            self.resblocks_3d.add_module(f"3dr{i}", ResBlock3d(RESHAPE_CHANNELS))
        fused = BLOCK_EXPANSION * 2**NUM_DOWN_BLOCKS
        self.third = SameBlock2d(MAX_FEATURES, fused, leaky=True)
        self.fourth = nn.Conv2d(fused, fused, 1)
        self.decoder = SPADEDecoder()
        self.frame_layout = torch.contiguous_format

    def set_frame_dtype(self, dtype: torch.dtype, channels_last: bool = True,
                        winograd: bool = False) -> None:
        """Run the per-frame convolution stacks in `dtype` (float32 or bfloat16), on
        channels-last activations (oneDNN's fastest layout here) unless told otherwise; where
        `winograd` (float32 only), with fewer multiplies: 3x3 and 3x3x3 convolutions by
        Winograd, dense motion's 7x7x7 mask convolution by FFT."""
        self.dense_motion_network.set_frame_dtype(dtype, channels_last, winograd)
        self.frame_layout = torch.channels_last if channels_last else torch.contiguous_format
        for module in (self.third, self.fourth):
            module.to(dtype, memory_format=self.frame_layout)
        self.third.conv.use_winograd(winograd)
        self.decoder.set_frame_dtype(dtype, self.frame_layout, winograd)

    def encode(self, image: torch.Tensor, kp_source: torch.Tensor) -> SourceFeatures:
        """image (1, 3, S, S) in [0, 1], kp_source (1, K, 3) -> the source-only features."""
        out = self.first(image)
        for block in self.down_blocks:
            out = block(out)
        out = self.second(out)
        n, _, h, w = out.shape
        volume = self.resblocks_3d(out.view(n, RESHAPE_CHANNELS, RESHAPE_DEPTH, h, w))
        return SourceFeatures(volume, self.dense_motion_network.prepare(volume, kp_source))

    def forward(self, source: SourceFeatures, kp_source: torch.Tensor,
                kp_driving: torch.Tensor) -> torch.Tensor:
        """kp_driving (N, K, 3) -> frames (N, 3, S, S) in [0, 1]."""
        deformation, occlusion = self.dense_motion_network(source.motion, kp_source, kp_driving)
        n = len(kp_driving)
        warped = F.grid_sample(source.volume.expand(n, -1, -1, -1, -1), deformation,
                               align_corners=False)
        dtype = self.fourth.weight.dtype
        fused = warped.flatten(1, 2).to(dtype, memory_format=self.frame_layout)
        out = self.fourth(self.third(fused))
        return self.decoder(out * occlusion.to(dtype)).float()
