"""The 5-point alignment that feeds the 3DMM regressor (Deep3DFaceRecon's `align_img`).

Five landmarks (eye centres, nose tip, mouth corners) are fitted to the mean face's 3-D points
by least squares (the POS method: scaled orthographic projection); the crop is then scaled so
the face has a fixed size and cut to 224x224 around it.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

ALIGNED_SIZE = 224  # the regressor's input
RESCALE_FACTOR = 102.0  # pixels per unit of the mean face after alignment
# Eye centres, nose tip and mouth corners of Deep3DFaceRecon's mean face
# (similarity_Lm3D_all.mat 'lm', 68x3, reduced to 5 points in float32 as its loader does).
MEAN_FACE_5 = np.array([
    [-0.311486572, 0.2903607786, 0.1337795258],
    [0.3097988665, 0.2897203565, 0.1317952573],
    [0.0032534988, -0.0461793244, 0.5524424314],
    [-0.2521692812, -0.3813391626, 0.2240573168],
    [0.2484661937, -0.3812823594, 0.2223576903],
], dtype=np.float32)


def five_points(landmarks: np.ndarray) -> np.ndarray:
    """68 landmarks -> left eye, right eye, nose tip, left and right mouth corner."""
    lm = np.asarray(landmarks)
    return np.stack([lm[[36, 39]].mean(axis=0), lm[[42, 45]].mean(axis=0), lm[30], lm[48],
                     lm[54]])


def fit_pose(points_2d: np.ndarray, points_3d: np.ndarray) -> tuple[np.ndarray, float]:
    """Translation (2,) and scale of the scaled orthographic projection of 3-D onto 2-D points."""
    n = len(points_2d)
    a = np.zeros((2 * n, 8))
    a[0::2, 0:3] = points_3d
    a[0::2, 3] = 1
    a[1::2, 4:7] = points_3d
    a[1::2, 7] = 1
    k = np.linalg.lstsq(a, points_2d.reshape(-1, 1), rcond=None)[0][:, 0]
    scale = (np.linalg.norm(k[0:3]) + np.linalg.norm(k[4:7])) / 2
    return np.array([k[3], k[7]]), float(scale)


def align_face(crop: np.ndarray, landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(224, 224, 3) uint8 aligned face and trans_params (W, H, s, tx, ty) of a face crop.

    `landmarks` are in the crop's pixels (y down); the fit works with y up, as the public code.
    """
    image = Image.fromarray(crop)
    w0, h0 = image.size
    lm = np.asarray(landmarks, dtype=np.float32).copy()
    lm[:, 1] = h0 - 1 - lm[:, 1]
    t, s = fit_pose(five_points(lm), MEAN_FACE_5)
    s = RESCALE_FACTOR / s
    w, h = int(w0 * s), int(h0 * s)
    left = int(w / 2 - ALIGNED_SIZE / 2 + float((t[0] - w0 / 2) * s))
    up = int(h / 2 - ALIGNED_SIZE / 2 + float((h0 / 2 - t[1]) * s))
    resized = image.resize((w, h), resample=Image.BICUBIC)
    aligned = resized.crop((left, up, left + ALIGNED_SIZE, up + ALIGNED_SIZE))
    return np.asarray(aligned), np.array([w0, h0, s, t[0], t[1]], dtype=np.float64)
