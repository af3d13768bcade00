"""Paste rendered face crops back into the full photo (preprocess full / extfull).

Each square frame is resized (bilinear) to the crop box it came from and blended into the photo
by Poisson image editing, as SadTalker does with `cv2.seamlessClone(..., NORMAL_CLONE)` and an
all-255 mask, so the seam between the animated crop and the still photo disappears: inside
the box the result keeps the frame's gradients, on the box's outline it equals the photo.

We solve that Poisson equation ourselves (exactly, with a sine transform) because OpenCV
4.14's seamlessClone is not reproducible: identical calls alternate between the right answer
and a corrupted one.
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy.fft import dstn

from sadtalker.errors import InputError

# The outline of the patch keeps the photo's pixels (the Poisson boundary condition). Where the
# box touches the photo's border, the photo is padded by reflection and the patch extended by
# reflection into that margin, so the outline falls in the margin and the animated face
# reaches the photo's edge.
KEPT_RING = 1


def _clip_box(box: tuple[int, int, int, int], width: int, height: int) -> tuple[int, int, int, int]:
    x1, y1, x2, y2 = (int(v) for v in box)
    if x2 <= x1 or y2 <= y1:
        raise InputError(f"crop box {box} is empty: expected (x1, y1, x2, y2) with x1 < x2 "
                         "and y1 < y2")
    if x2 <= 0 or y2 <= 0 or x1 >= width or y1 >= height:
        raise InputError(f"crop box {box} lies outside the {width}x{height} photo")
    return x1, y1, x2, y2


def paste_back(frames: np.ndarray, photo: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """Blend (N, S, S, 3) uint8 frames into the (H, W, 3) uint8 photo at box (x1, y1, x2, y2).

    Returns (N, H, W, 3) uint8. Pixels away from the box are the photo's, unchanged. Parts of
    the box outside the photo are dropped.
    """
    if frames.ndim != 4 or frames.shape[-1] != 3 or photo.ndim != 3 or photo.shape[-1] != 3:
        raise ValueError(f"expected (N, S, S, 3) frames and an (H, W, 3) photo, got "
                         f"{frames.shape} and {photo.shape}")
    height, width = photo.shape[:2]
    x1, y1, x2, y2 = _clip_box(box, width, height)
    # the visible part of the box, in photo coordinates and in the resized frame's coordinates
    vx1, vy1, vx2, vy2 = max(x1, 0), max(y1, 0), min(x2, width), min(y2, height)
    sx1, sy1 = vx1 - x1, vy1 - y1
    m = KEPT_RING
    padded = cv2.copyMakeBorder(photo, m, m, m, m, cv2.BORDER_REFLECT_101)
    left, top = KEPT_RING * (vx1 == 0), KEPT_RING * (vy1 == 0)
    right, bottom = KEPT_RING * (vx2 == width), KEPT_RING * (vy2 == height)
    # the patch's corner in padded coordinates, and its size once extended
    px, py = m + vx1 - left, m + vy1 - top
    pw, ph = vx2 - vx1 + left + right, vy2 - vy1 + top + bottom
    target = padded[py:py + ph, px:px + pw]
    out = np.repeat(photo[None], len(frames), axis=0)
    for i, frame in enumerate(frames):
        resized = cv2.resize(frame, (x2 - x1, y2 - y1), interpolation=cv2.INTER_LINEAR)
        visible = resized[sy1:sy1 + vy2 - vy1, sx1:sx1 + vx2 - vx1]
        patch = cv2.copyMakeBorder(visible, top, bottom, left, right, cv2.BORDER_REFLECT_101)
        blended = poisson_clone(patch, target)
        out[i, vy1:vy2, vx1:vx2] = blended[top:ph - bottom, left:pw - right]
    return out


def poisson_clone(patch: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Pixels with the patch's gradients inside and the target's values on the outline.

    The solution is patch + H, where H is the harmonic function whose outline values are
    target - patch; the 5-point Laplacian with those Dirichlet values is diagonal in the
    type-I sine basis, so one forward and one inverse transform solve it exactly.
    """
    h, w = patch.shape[:2]
    result = target.astype(np.float64)
    if h < 3 or w < 3:  # no interior: the outline is everything
        return target.copy()
    diff = target.astype(np.float64) - patch.astype(np.float64)
    rhs = np.zeros((h - 2, w - 2, patch.shape[2]))
    rhs[0] -= diff[0, 1:-1]
    rhs[-1] -= diff[-1, 1:-1]
    rhs[:, 0] -= diff[1:-1, 0]
    rhs[:, -1] -= diff[1:-1, -1]
    ky = 2 * np.cos(np.pi * np.arange(1, h - 1) / (h - 1)) - 2
    kx = 2 * np.cos(np.pi * np.arange(1, w - 1) / (w - 1)) - 2
    eigen = (ky[:, None] + kx[None, :])[..., None]
    harmonic = dstn(dstn(rhs, type=1, axes=(0, 1), norm="ortho") / eigen, type=1, axes=(0, 1),
                    norm="ortho")
    result[1:-1, 1:-1] = patch[1:-1, 1:-1] + harmonic
    return np.clip(np.rint(result), 0, 255).astype(np.uint8)
