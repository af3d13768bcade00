"""The 3DMM regressor: a ResNet-50 that reads a 224x224 aligned face and returns Deep3DFaceRecon's
257 coefficients (identity, expression, texture, angles, lighting, translation)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torchvision.models import resnet50

from sadtalker import weights
from sadtalker.coeff_layout import (
    RECON_ANGLES,
    RECON_EXPRESSION,
    RECON_HEAD_SIZES,
    RECON_TRANSLATION,
)

RECON_PREFIX = "face_3drecon"
BACKBONE_FEATURES = 2048


class ReconNet(nn.Module):
    """ResNet-50 features -> seven 1x1 convolution heads, concatenated to 257 coefficients."""

    def __init__(self) -> None:
        super().__init__()
        self.backbone = resnet50()
        self.backbone.fc = nn.Identity()  # the official checkpoint has no fc layer
        self.final_layers = nn.ModuleList(
            nn.Conv2d(BACKBONE_FEATURES, n, kernel_size=1) for n in RECON_HEAD_SIZES)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """(N, 3, 224, 224) RGB in [0, 1] -> (N, 257)."""
        features = self.backbone(image)[:, :, None, None]
        return torch.cat([head(features) for head in self.final_layers], dim=1).flatten(1)


def load_recon(checkpoint: Path) -> ReconNet:
    """The regressor from a SadTalker safetensors file (prefix `face_3drecon.`), strictly."""
    state = weights.load_safetensors_prefix(checkpoint, RECON_PREFIX)
    net = weights.load_strict(ReconNet(), state, checkpoint, RECON_PREFIX)
    return net.eval().requires_grad_(False)


@dataclass(frozen=True)
class FaceCoefficients:
    """The regressor's output for one aligned face."""

    full: np.ndarray  # (RECON_COEFFS,)

    def renderer_coeffs(self, trans_params: np.ndarray) -> np.ndarray:
        """The portrait's (SOURCE_COEFFS,) coefficients: expression, angles, translation, then
        the alignment's scale and offsets (`trans_params[2:]`)."""
        return np.concatenate([self.full[RECON_EXPRESSION], self.full[RECON_ANGLES],
                               self.full[RECON_TRANSLATION],
                               np.asarray(trans_params[2:], dtype=np.float32)]).astype(np.float32)


@torch.inference_mode()
def regress(net: ReconNet, aligned: np.ndarray) -> FaceCoefficients:
    """257 coefficients of a (224, 224, 3) uint8 aligned face (scaled to [0, 1], no mean/std)."""
    pixels = torch.from_numpy(np.asarray(aligned, dtype=np.float64) / 255.0).float()
    return FaceCoefficients(net(pixels.permute(2, 0, 1)[None])[0].numpy())
