"""The example portrait: scikit-image's astronaut photo, its landmarks, and crops of its face.

No media is shipped: the photo comes with scikit-image, and its 68 landmarks are package data
beside this module (`astronaut_landmarks.json`, whose note says how they were made).
"""

from __future__ import annotations

import json
from importlib import resources

import cv2
import numpy as np
import skimage.data

HEAD_BOX = (5, 225, 115, 335)  # top, bottom, left, right of a square around the head


def astronaut() -> np.ndarray:
    """The photo, (512, 512, 3) uint8 RGB."""
    return skimage.data.astronaut()


def astronaut_landmarks() -> np.ndarray:
    """The photo's 68 (x, y) landmarks in iBUG order, float32 pixels."""
    text = resources.files(__package__).joinpath("astronaut_landmarks.json").read_text()
    return np.asarray(json.loads(text)["landmarks"], dtype=np.float32)


def astronaut_crop(size: int, box: tuple[int, int, int, int] = HEAD_BOX) -> np.ndarray:
    """The photo's `box` (top, bottom, left, right) resized to (size, size, 3) uint8 RGB."""
    top, bottom, left, right = box
    return cv2.resize(astronaut()[top:bottom, left:right], (size, size),
                      interpolation=cv2.INTER_AREA)
