"""Load ExpNet and PoseVAE from the official SadTalker_V0.0.2_<size>.safetensors."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import NamedTuple

from torch import nn

from sadtalker import weights
from sadtalker.coeffs.audio2exp import ExpNet
from sadtalker.coeffs.audio2pose import Audio2Pose

log = logging.getLogger(__name__)

EXP_PREFIX = "audio2exp"
POSE_PREFIX = "audio2pose"


class CoeffModels(NamedTuple):
    exp: ExpNet
    pose: Audio2Pose


def _load(module: nn.Module, path: Path, prefix: str) -> nn.Module:
    state = weights.load_safetensors_prefix(path, prefix)
    return weights.load_strict(module, state, path, prefix).eval()


def load_coeff_models(checkpoint: Path) -> CoeffModels:
    """ExpNet and PoseVAE from one SadTalker safetensors file, loaded strictly, in eval mode."""
    log.info("loading audio2exp and audio2pose from %s", checkpoint)
    return CoeffModels(_load(ExpNet(), checkpoint, EXP_PREFIX),
                       _load(Audio2Pose(), checkpoint, POSE_PREFIX))
