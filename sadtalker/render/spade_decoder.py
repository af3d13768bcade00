"""SPADE decoder: the warped, occlusion-masked 256-channel feature map -> RGB image.

Every residual block is modulated by SPADE (instance norm, then a per-pixel scale and shift
predicted from the same feature map used as the "segmentation" input). The official weights of
the residual blocks' convs are spectral-normalised; they are folded into plain weights when a
checkpoint is loaded (see `state_dicts.fold_spectral_norm`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from sadtalker.render.upsampled_conv import upsampled_conv3x3

FEATURES = 256  # channels of the fused feature map (input and SPADE label map)
SPADE_HIDDEN = 128
OUT_FEATURES = 64
NUM_MIDDLE_BLOCKS = 6
LEAKY_SLOPE = 0.2
INSTANCE_NORM_EPS = 1e-5  # torch's InstanceNorm2d default, as the public SPADE uses


def instance_norm(x: torch.Tensor, eps: float = INSTANCE_NORM_EPS) -> torch.Tensor:
    """Parameter-free instance norm that keeps a channels-last layout (F.instance_norm
    reshapes to NCHW: a copy, and the next convolution would reorder back).

    bf16: group norm with one group per channel, the same statistics accumulated in fp32.
    fp32: batch norm of one sample at a time, which matches F.instance_norm to rounding (group
    norm's one-pass variance would be ~1e-4 off).
    """
    if x.dtype == torch.bfloat16:
        return F.group_norm(x, x.shape[1], eps=eps)
    return torch.cat([F.batch_norm(sample, None, None, training=True, eps=eps)
                      for sample in x.split(1)])


class SPADE(nn.Module):
    """Parameter-free instance norm, then scale (1 + gamma) and shift beta from the label map."""

    def __init__(self, features: int, label_features: int = FEATURES) -> None:
        super().__init__()
        self.mlp_shared = nn.Sequential(
            nn.Conv2d(label_features, SPADE_HIDDEN, 3, padding=1), nn.ReLU())
        self.mlp_gamma = nn.Conv2d(SPADE_HIDDEN, features, 3, padding=1)
        self.mlp_beta = nn.Conv2d(SPADE_HIDDEN, features, 3, padding=1)

    def forward(self, x: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        """x (N, C, H, W) modulated by `label` (N, 256, H/f, W/f), nearest-upsampled x f."""
        normalized = instance_norm(x)
        factor = x.shape[2] // label.shape[2]
        hidden = F.relu(upsampled_conv3x3(label, self.mlp_shared[0], factor), inplace=True)
        # beta + normalized * (1 + gamma), in two passes over the fresh gamma
        return torch.addcmul(self.mlp_beta(hidden), normalized, self.mlp_gamma(hidden).add_(1))


class SPADEResBlock(nn.Module):
    """Two SPADE-modulated 3x3 convs; a 1x1 learned shortcut when the width changes."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        middle = min(in_features, out_features)
        self.conv_0 = nn.Conv2d(in_features, middle, 3, padding=1)
        self.conv_1 = nn.Conv2d(middle, out_features, 3, padding=1)
        self.norm_0 = SPADE(in_features)
        self.norm_1 = SPADE(middle)
        self.learned_shortcut = in_features != out_features
        if self.learned_shortcut:
            self.conv_s = nn.Conv2d(in_features, out_features, 1, bias=False)
            self.norm_s = SPADE(in_features)

    def forward(self, x: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        shortcut = self.conv_s(self.norm_s(x, label)) if self.learned_shortcut else x
        dx = self.conv_0(F.leaky_relu(self.norm_0(x, label), LEAKY_SLOPE, inplace=True))
        dx = self.conv_1(F.leaky_relu(self.norm_1(dx, label), LEAKY_SLOPE, inplace=True))
        return dx.add_(shortcut)


class SPADEDecoder(nn.Module):
    """256 ch at S/4 -> six 512-ch blocks -> x2 -> 256 ch -> x2 -> 64 ch -> RGB in [0, 1]."""

    def __init__(self) -> None:
        super().__init__()
        wide = 2 * FEATURES
        self.fc = nn.Conv2d(FEATURES, wide, 3, padding=1)
        for i in range(NUM_MIDDLE_BLOCKS):
            setattr(self, f"G_middle_{i}", SPADEResBlock(wide, wide))
        self.up_0 = SPADEResBlock(wide, FEATURES)
        self.up_1 = SPADEResBlock(FEATURES, OUT_FEATURES)
        self.conv_img = nn.Conv2d(OUT_FEATURES, 3, 3, padding=1)

    def forward(self, feature: torch.Tensor) -> torch.Tensor:
        x = self.fc(feature)
        for i in range(NUM_MIDDLE_BLOCKS):
            x = getattr(self, f"G_middle_{i}")(x, feature)
        x = self.up_0(F.interpolate(x, scale_factor=2, mode="nearest"), feature)
        x = self.up_1(F.interpolate(x, scale_factor=2, mode="nearest"), feature)
        return torch.sigmoid(self.conv_img(F.leaky_relu(x, LEAKY_SLOPE, inplace=True)))
