"""Paste rendered face crops back into the full photo (preprocess full / extfull).

Each square frame is resized (bilinear) to the crop box it came from and blended into the photo
with `cv2.seamlessClone(..., NORMAL_CLONE)` and an all-255 mask the size of the box, the call
SadTalker makes, so the seam between the animated crop and the still photo disappears: inside
the box the result keeps the frame's gradients, and a ring KEPT_RING pixels wide just inside
the box's outline keeps the photo's pixels.

seamlessClone needs the patch inside the image. Where the box touches or crosses the photo's
border, the photo is padded by reflection by KEPT_RING pixels on those sides, the visible part
of the frame is extended by reflection into that margin, and the margin is cropped off after
the clone: the kept ring falls in the margin, so the animated face reaches the photo's edge
(SadTalker's code would keep a still ring there). Boxes inside the photo give exactly
SadTalker's result.
"""

from __future__ import annotations

import cv2
import numpy as np

from sadtalker.errors import InputError

# seamlessClone zeroes the mask's outer pixel and erodes what is left, so the photo's pixels
# survive on a ring this wide inside the box.
KEPT_RING = 2
# a narrower patch has nothing left inside the ring (and seamlessClone fails on some such)
MIN_PATCH_SIDE = 2 * KEPT_RING + 1


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
    the box outside the photo are dropped. Each frame is blended on its own, so the result does
    not depend on how the frames are split into calls.
    """
    if frames.ndim != 4 or frames.shape[-1] != 3 or photo.ndim != 3 or photo.shape[-1] != 3:
        raise ValueError(f"expected (N, S, S, 3) frames and an (H, W, 3) photo, got "
                         f"{frames.shape} and {photo.shape}")
    height, width = photo.shape[:2]
    x1, y1, x2, y2 = _clip_box(box, width, height)
    # the visible part of the box, in photo coordinates
    vx1, vy1, vx2, vy2 = max(x1, 0), max(y1, 0), min(x2, width), min(y2, height)
    left, top = KEPT_RING * (vx1 == 0), KEPT_RING * (vy1 == 0)
    right, bottom = KEPT_RING * (vx2 == width), KEPT_RING * (vy2 == height)
    out = np.repeat(photo[None], len(frames), axis=0)
    patch_w, patch_h = vx2 - vx1 + left + right, vy2 - vy1 + top + bottom
    if min(patch_w, patch_h) < MIN_PATCH_SIDE:
        return out
    padded = cv2.copyMakeBorder(photo, top, bottom, left, right, cv2.BORDER_REFLECT_101)
    # the extended patch's corner in padded coordinates is (vx1, vy1); the centre is placed as
    # SadTalker places it, (x1 + x2) // 2, which is corner + size // 2
    center = (vx1 + patch_w // 2, vy1 + patch_h // 2)
    mask = np.full((patch_h, patch_w, 3), 255, dtype=np.uint8)
    for i, frame in enumerate(frames):
        resized = cv2.resize(frame, (x2 - x1, y2 - y1), interpolation=cv2.INTER_LINEAR)
        visible = resized[vy1 - y1:vy2 - y1, vx1 - x1:vx2 - x1]
        patch = cv2.copyMakeBorder(visible, top, bottom, left, right, cv2.BORDER_REFLECT_101)
        blended = cv2.seamlessClone(patch, padded, mask, center, cv2.NORMAL_CLONE)
        out[i] = blended[top:top + height, left:left + width]
    return out
