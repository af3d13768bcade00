"""Per-frame coefficients of a reference video, the source of eye blinks or head motion."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from sadtalker.errors import NoFaceError
from sadtalker.face.extract import extract_face
from sadtalker.face.landmarks import Landmarker
from sadtalker.face.recon import ReconNet
from sadtalker.options import Preprocess
from sadtalker.video import read_frames

log = logging.getLogger(__name__)

REFERENCE_SIZE = 256  # SadTalker processes reference videos at 256 whatever the render size
REFERENCE_MODE = Preprocess.CROP


def reference_coefficients(path: Path, landmarker: Landmarker, recon: ReconNet) -> np.ndarray:
    """(N, SOURCE_COEFFS) coefficients, a row per frame; frames without a face are interpolated."""
    frames = read_frames(path)
    rows: list[np.ndarray | None] = []
    for index, frame in enumerate(frames):
        try:
            points = landmarker.detect(frame, f"{path.name} frame {index}")
        except NoFaceError:
            rows.append(None)
            continue
        rows.append(extract_face(frame, points, REFERENCE_MODE, REFERENCE_SIZE, recon).coeffs)
    return fill_missing(rows, path.name)


def fill_missing(rows: list[np.ndarray | None], name: str) -> np.ndarray:
    """Linearly interpolate rows of frames without a face from their neighbours."""
    found = [i for i, row in enumerate(rows) if row is not None]
    if not found:
        raise NoFaceError(f"no face found in any frame of {name}: use a reference video that "
                          "shows one face")
    if len(found) < len(rows):
        log.info("%s: no face in %d of %d frames, interpolated", name,
                 len(rows) - len(found), len(rows))
    known = np.stack([rows[i] for i in found])
    index = np.arange(len(rows))
    columns = [np.interp(index, found, known[:, c]) for c in range(known.shape[1])]
    return np.stack(columns, axis=1).astype(np.float32)
