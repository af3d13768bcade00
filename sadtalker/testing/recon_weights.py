"""Random weights for the 3DMM regressor in the official layout (`face_3drecon.*`).

BatchNorm statistics are measured on the astronaut's aligned face, and the heads are scaled so
the 257 outputs have a spread of about OUTPUT_STD on it: coefficients in the range real faces
give, so the stages downstream see plausible values.
"""

from __future__ import annotations

import numpy as np
import skimage.data
import torch
from torch import nn

from sadtalker.face.align import align_face
from sadtalker.face.crop import crop_face
from sadtalker.face.recon import RECON_PREFIX, ReconNet
from sadtalker.options import Preprocess
from sadtalker.testing.batch_norm_calibration import calibrate_batch_norms
from sadtalker.testing.example_inputs import astronaut_landmarks
from sadtalker.testing.random_init import global_seed

OUTPUT_STD = 0.1
CALIBRATION_SIZE = 256


def calibration_faces() -> torch.Tensor:
    """(4, 3, 224, 224) aligned astronaut faces, plain and flipped, slightly shifted."""
    crop, _, lm = crop_face(skimage.data.astronaut(), astronaut_landmarks(), Preprocess.CROP, CALIBRATION_SIZE)
    aligned, _ = align_face(crop, lm)
    face = torch.from_numpy(aligned.astype(np.float32) / 255).permute(2, 0, 1)
    variants = [face, face.flip(2), face.roll(4, 1), face.roll(-4, 2)]
    return torch.stack(variants)


def recon_weights(seed: int) -> dict[str, torch.Tensor]:
    """Seeded random `face_3drecon.*` tensors with calibrated BatchNorm statistics."""
    with global_seed(seed):  # torchvision's initialisers use the global RNG
        net = ReconNet()
        for head in net.final_layers:
            nn.init.normal_(head.weight)
            nn.init.zeros_(head.bias)
    faces = calibration_faces()
    with calibrate_batch_norms(net):
        net(faces)
    with torch.no_grad():
        features = net.backbone(faces)
        for head in net.final_layers:
            out = features @ head.weight.flatten(1).T
            head.weight.mul_(OUTPUT_STD / out.std().clamp_min(1e-6))
    return {f"{RECON_PREFIX}.{k}": v.detach().clone() for k, v in net.state_dict().items()}
