"""From a photo and its 68 landmarks to what the renderer needs: the crop and its coefficients."""

from __future__ import annotations

import numpy as np

from sadtalker.face.align import align_face
from sadtalker.face.crop import crop_face
from sadtalker.face.prepared import PreparedFace
from sadtalker.face.recon import ReconNet, regress
from sadtalker.options import Preprocess


def extract_face(image: np.ndarray, landmarks: np.ndarray, preprocess: Preprocess, size: int,
                 recon: ReconNet) -> PreparedFace:
    """Crop per mode, align the crop on five points, regress the 3DMM coefficients.

    The 3DMM pass uses the photo's landmarks mapped into the crop; the public code runs the
    detector a second time on the crop instead. Mapping is deterministic and works unchanged
    with user-given landmarks.
    """
    crop, info, crop_landmarks = crop_face(image, landmarks, preprocess, size)
    aligned, trans_params = align_face(crop, crop_landmarks)
    return PreparedFace(crop, regress(recon, aligned).renderer_coeffs(trans_params), info)
