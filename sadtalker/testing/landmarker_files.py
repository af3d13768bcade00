"""Random-weight face-alignment files (S3FD detector, 2D FAN) in the format it loads: plain
state dicts of its own network classes."""

from __future__ import annotations

from pathlib import Path

from face_alignment.detection.sfd.net_s3fd import s3fd
from face_alignment.models import FAN

from sadtalker import weights
from sadtalker.face.landmarks import FAN_SIZE
from sadtalker.testing.checkpoints import write_torch
from sadtalker.testing.random_init import global_seed


def write_landmarker_files(directory: Path, seed: int) -> list[Path]:
    """Write s3fd-619a316812.pth and 2DFAN4-11f355bf06.pth.tar built from seeded random init."""
    directory.mkdir(parents=True, exist_ok=True)
    with global_seed(seed):  # the classes initialise from the global RNG
        detector, fan = s3fd(), FAN(FAN_SIZE)
    return [write_torch(directory / weights.S3FD, detector.state_dict()),
            write_torch(directory / weights.FAN_2D, fan.state_dict())]
