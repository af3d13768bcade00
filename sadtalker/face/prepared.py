"""The portrait stage's result and its file: what every later stage needs of the portrait."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class PreparedFace:
    """The portrait after crop and 3DMM extraction: everything later stages need of it."""

    crop: np.ndarray  # (size, size, 3) uint8 RGB: the renderer's source image
    coeffs: np.ndarray  # (SOURCE_COEFFS,) float32, in sadtalker.coeff_layout's order
    full_coeffs: np.ndarray  # (RECON_COEFFS,) float32: the 3DMM regressor's whole output
    crop_info: dict  # JSON-friendly crop geometry (box, quad, original size) for paste-back

    def save(self, path: Path) -> Path:
        """Write to one .npz (crop info as JSON text), the format passed between tasks."""
        with open(path, "wb") as f:  # a file object keeps numpy from appending ".npz"
            np.savez(f, crop=self.crop, coeffs=self.coeffs, full_coeffs=self.full_coeffs,
                     crop_info=np.array(json.dumps(self.crop_info, sort_keys=True)))
        return Path(path)

    @classmethod
    def load(cls, path: Path) -> PreparedFace:
        with np.load(path, allow_pickle=False) as data:
            return cls(data["crop"], data["coeffs"], data["full_coeffs"],
                       json.loads(str(data["crop_info"])))
