"""Random-weight GFPGAN v1.4 and facexlib (RetinaFace, ParseNet) files in the layout they read:
``{'params_ema': state_dict}`` for GFPGAN, plain state dicts for facexlib.

Each network is built from the class gfpgan/facexlib load the file into, seeded; BatchNorm
statistics are those of the astronaut's face, so activations stay in range.
"""

from __future__ import annotations

from pathlib import Path

import torch

from sadtalker import weights
from sadtalker.enhance import FACE_SIZE, gfpgan_v14, parsenet, retinaface
from sadtalker.testing.batch_norm_calibration import calibrate_batch_norms
from sadtalker.testing.checkpoints import write_torch
from sadtalker.testing.example_inputs import astronaut_crop
from sadtalker.testing.random_init import global_seed

FACE_BOX = (20, 260, 120, 360)  # top, bottom, left, right of the crop calibrated on
RETINAFACE_MEAN_BGR = (104.0, 117.0, 123.0)  # RetinaFace takes BGR pixels minus this, unscaled
RETINAFACE_INPUT_SIZE = 256


def _face_input(size: int) -> torch.Tensor:
    """The astronaut's face as a normalised (1, 3, size, size) RGB tensor in [-1, 1]."""
    face = astronaut_crop(size, FACE_BOX)
    return torch.from_numpy(face).permute(2, 0, 1)[None].float() / 127.5 - 1


def write_enhancer_files(directory: Path, seed: int) -> list[Path]:
    """Write random-weight GFPGANv1.4.pth, detection_Resnet50_Final.pth, parsing_parsenet.pth."""
    directory.mkdir(parents=True, exist_ok=True)
    with global_seed(seed):  # module initialisers draw from the global RNG
        gfpgan, detector, parser = gfpgan_v14(), retinaface(), parsenet()
    bgr = (_face_input(RETINAFACE_INPUT_SIZE).flip(1) + 1) * 127.5
    with calibrate_batch_norms(detector):
        detector(bgr - torch.tensor(RETINAFACE_MEAN_BGR).view(1, 3, 1, 1))
    with calibrate_batch_norms(parser):
        parser(_face_input(FACE_SIZE))
    return [
        write_torch(directory / weights.GFPGAN, {"params_ema": gfpgan.state_dict()}),
        write_torch(directory / weights.RETINAFACE, detector.state_dict()),
        write_torch(directory / weights.PARSENET, parser.state_dict()),
    ]
