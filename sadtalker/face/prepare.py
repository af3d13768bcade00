"""The portrait stage: landmarks, crop and 3DMM coefficients."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sadtalker import weights
from sadtalker.face.extract import extract_face
from sadtalker.face.landmarks import Landmarker, load_landmarks
from sadtalker.face.prepared import PreparedFace
from sadtalker.face.recon import load_recon
from sadtalker.image import Photo, load_photo
from sadtalker.options import DEFAULTS, Preprocess


def portrait_landmarks(image: Path, photo: Photo, checkpoints: Path | None,
                       landmarks: Path | None) -> np.ndarray:
    """Given landmarks (scaled if the photo was downscaled on load), else detected ones."""
    if landmarks is None:
        return Landmarker.load(checkpoints).detect(photo.pixels, Path(image).name)
    return load_landmarks(landmarks, *photo.original_size) * np.float32(photo.scale)


def prepare_face(image: Path, preprocess: Preprocess = DEFAULTS.preprocess,
                 size: int = DEFAULTS.size, checkpoints: Path | None = None,
                 landmarks: Path | None = None) -> PreparedFace:
    """Find (or take) the 68 landmarks, crop per `preprocess`, regress 3DMM coefficients.

    The stage reads nothing else of the options: its result (and cache key) depends on the
    photo, the landmarks, these two options and the weights it loads.
    """
    photo = load_photo(image)
    points = portrait_landmarks(image, photo, checkpoints, landmarks)
    recon = load_recon(weights.locate(weights.sadtalker_file(size), checkpoints))
    return extract_face(photo.pixels, points, preprocess, size, recon)
