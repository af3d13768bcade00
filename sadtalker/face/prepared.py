"""The portrait stage's result: what every later stage reads of the portrait, and its file."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sadtalker.face.crop import CropInfo
from sadtalker.npz import load_arrays, save_arrays


@dataclass(frozen=True)
class PreparedFace:
    """The portrait after crop and 3DMM extraction: the renderer's source and paste geometry."""

    crop: np.ndarray  # (size, size, 3) uint8 RGB: the renderer's source image
    coeffs: np.ndarray  # (SOURCE_COEFFS,) float32, in sadtalker.coeff_layout's order
    crop_info: CropInfo  # where the crop came from: paste-back box and output size

    def save(self, path: Path) -> Path:
        """Write to one .npz (crop geometry as JSON text), the format passed between tasks."""
        return save_arrays(path, crop=self.crop, coeffs=self.coeffs, crop_info=np.array(
            json.dumps(self.crop_info.to_dict(), sort_keys=True)))

    @classmethod
    def load(cls, path: Path) -> PreparedFace:
        """Read what `save` wrote (no pickles)."""
        data = load_arrays(path)
        return cls(data["crop"], data["coeffs"],
                   CropInfo.from_dict(json.loads(str(data["crop_info"]))))
