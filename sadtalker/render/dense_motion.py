"""Dense motion: from source and driving keypoints to a 3-D warp field and an occlusion map.

Each keypoint defines a rigid "sparse" motion (shift the grid by source - driving keypoint);
an hourglass looks at the source features warped by every sparse motion, plus Gaussian
heatmaps of the keypoint difference, and predicts per-voxel soft weights that blend the sparse
motions into one dense motion.

The source-only part (compressed features, source heatmaps) is computed once by `prepare`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from sadtalker.render.blocks import DownBlock3d, UpBlock3d, coordinate_grid
from sadtalker.render.fft_conv3d import FFTConv3d
from sadtalker.render.winograd import Conv3x3x3

BLOCK_EXPANSION = 32
MAX_FEATURES = 1024
NUM_BLOCKS = 5
COMPRESS = 4  # the 32-channel source volume is compressed to 4 channels before warping
KP_VARIANCE = 0.01  # of the Gaussian keypoint heatmaps, in grid units squared
MASK_FLOOR = 1e-3  # blend weights below this are zeroed (not renormalised)


class Hourglass3d(nn.Module):
    """3-D U-Net: down blocks, then up blocks concatenating the matching encoder output."""

    def __init__(self, in_features: int) -> None:
        super().__init__()
        width = [min(MAX_FEATURES, BLOCK_EXPANSION * 2**i) for i in range(NUM_BLOCKS + 1)]
        self.encoder = nn.Module()
        self.encoder.down_blocks = nn.ModuleList(
            DownBlock3d(in_features if i == 0 else width[i], width[i + 1])
            for i in range(NUM_BLOCKS))
        self.decoder = nn.Module()
        self.decoder.up_blocks = nn.ModuleList(
            UpBlock3d((1 if i == NUM_BLOCKS - 1 else 2) * width[i + 1], width[i])
            for i in reversed(range(NUM_BLOCKS)))
        self.out_features = BLOCK_EXPANSION + in_features
        self.decoder.conv = Conv3x3x3(self.out_features, self.out_features)
        self.decoder.norm = nn.BatchNorm3d(self.out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = [x]
        for block in self.encoder.down_blocks:
            skips.append(block(skips[-1]))
        out = skips.pop()
        for block in self.decoder.up_blocks:
            out = torch.cat([block(out), skips.pop()], dim=1)
        return F.relu(self.decoder.norm(self.decoder.conv(out)), inplace=True)


@dataclass
class MotionSource:
    """What dense motion needs of the source, computed once per source image."""

    compressed: torch.Tensor  # (1, 4, D, H, W) compressed appearance volume
    heatmaps: torch.Tensor  # (1, K, D, H, W) Gaussians at the source keypoints
    grid: torch.Tensor  # (D, H, W, 3) identity sampling grid


def gaussian_heatmaps(keypoints: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """(N, K, 3) keypoints on a (D, H, W, 3) grid -> (N, K, D, H, W) unnormalised Gaussians."""
    diff = grid - keypoints[:, :, None, None, None, :]
    return torch.exp(-0.5 * (diff**2).sum(-1) / KP_VARIANCE)


class DenseMotionNetwork(nn.Module):
    """Keypoints + source volume -> (deformation (N, D, H, W, 3), occlusion (N, 1, H, W))."""

    def __init__(self, num_keypoints: int = 15, feature_channels: int = 32,
                 depth: int = 16) -> None:
        super().__init__()
        self.hourglass = Hourglass3d((num_keypoints + 1) * (COMPRESS + 1))
        self.mask = nn.Conv3d(self.hourglass.out_features, num_keypoints + 1, 7, padding=3)
        self.compress = nn.Conv3d(feature_channels, COMPRESS, 1)
        self.norm = nn.BatchNorm3d(COMPRESS)
        self.occlusion = nn.Conv2d(self.hourglass.out_features * depth, 1, 7, padding=3)
        self.frame_layout = torch.contiguous_format
        self.mask_by_fft: FFTConv3d | None = None

    def set_frame_dtype(self, dtype: torch.dtype, channels_last: bool = True,
                        winograd: bool = False) -> None:
        """Run the hourglass, mask and occlusion convolutions in `dtype`; where `winograd`
        (float32 only), the hourglass's 3x3x3 convolutions by Winograd and the mask's 7x7x7
        one by FFT. Softmax and the deformation stay float32."""
        if winograd and dtype != torch.float32:
            raise ValueError(f"Winograd and FFT convolutions run in float32, not {dtype}")
        self.frame_layout = torch.channels_last_3d if channels_last else torch.contiguous_format
        for module in (self.hourglass, self.mask):
            module.to(dtype, memory_format=self.frame_layout)
        self.occlusion.to(dtype)
        self.mask_by_fft = FFTConv3d(self.mask) if winograd else None
        for module in self.hourglass.modules():
            if isinstance(module, Conv3x3x3):
                module.use_winograd(winograd)

    def prepare(self, volume: torch.Tensor, kp_source: torch.Tensor) -> MotionSource:
        """The source-only inputs: volume (1, 32, D, H, W), kp_source (1, K, 3)."""
        compressed = F.relu(self.norm(self.compress(volume)))
        d, h, w = volume.shape[2:]
        grid = coordinate_grid(d, h, w, volume.dtype, volume.device)
        return MotionSource(compressed, gaussian_heatmaps(kp_source, grid), grid)

    def forward(self, source: MotionSource, kp_source: torch.Tensor,
                kp_driving: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n, k = kp_driving.shape[:2]
        _, c, d, h, w = source.compressed.shape
        # Sparse motions: background = identity, keypoint j = grid - driving_j + source_j.
        shifted = (source.grid - kp_driving[:, :, None, None, None, :]
                   + kp_source[:, :, None, None, None, :])
        motions = torch.cat([source.grid.expand(n, 1, d, h, w, 3), shifted], dim=1)
        # One grid_sample for all K+1 motions: stack them along the output depth axis.
        warped = F.grid_sample(source.compressed.expand(n, -1, -1, -1, -1),
                               motions.view(n, (k + 1) * d, h, w, 3), align_corners=False)
        warped = warped.view(n, c, k + 1, d, h, w).transpose(1, 2)
        heatmaps = gaussian_heatmaps(kp_driving, source.grid) - source.heatmaps
        heatmaps = torch.cat([heatmaps.new_zeros(n, 1, d, h, w), heatmaps], dim=1)
        features = torch.cat([heatmaps[:, :, None], warped], dim=2).view(n, -1, d, h, w)

        prediction = self.hourglass(features.to(self.mask.weight.dtype,
                                                memory_format=self.frame_layout))
        mask_conv = self.mask_by_fft or self.mask
        mask = F.softmax(mask_conv(prediction).float(), dim=1)
        mask = torch.where(mask < MASK_FLOOR, torch.zeros_like(mask), mask)
        deformation = (motions * mask[..., None]).sum(dim=1)
        # The 2-D occlusion conv over (channels x depth) planes, as a 3-D conv spanning the
        # whole depth: the same sums, without copying the channels-last prediction to NCHW.
        weight = self.occlusion.weight
        spanning = weight.view(1, self.hourglass.out_features, d, *weight.shape[2:])
        occlusion = F.conv3d(prediction, spanning, self.occlusion.bias,
                             padding=(0, *self.occlusion.padding))
        occlusion = torch.sigmoid(occlusion.flatten(1, 2).float())
        return deformation, occlusion
