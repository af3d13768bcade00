"""SadTalker's five crop modes: the FFHQ-style quad around the face and the boxes kept for
paste-back.

The geometry follows the public code, quirks included (the quad's bottom edge is clipped by the
image WIDTH, integer truncations where it truncates), so that crops match it to the pixel.
One deliberate fix: the paste-back box is expressed in original-image pixels even when the
public code shrank a very large image first (it pasted into the shrunk coordinates).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np

from sadtalker.errors import LandmarksError
from sadtalker.options import Preprocess

CROP_REFERENCE_SIZE = 512  # the public code always computes the quad for a 512 output
QUAD_EYE_SCALE = 2.0  # quad half-size >= 2 x eye distance ...
QUAD_MOUTH_SCALE = 1.8  # ... and >= 1.8 x eye-to-mouth distance
CENTRE_MOUTH_SHIFT = 0.1  # the quad's centre moves 10% of the way from the eyes to the mouth
BORDER_FRACTION = 0.1  # the ext-mode border around the quad, relative to its size
MIN_BORDER = 3


@dataclass(frozen=True)
class CropInfo:
    """Where the crop came from, in the coordinates the public code uses, plus what paste-back
    and output sizing need. JSON-friendly through `to_dict` / `from_dict`."""

    preprocess: str
    image_size: tuple[int, int]  # (W, H) of the original photo
    work_size: tuple[int, int]  # (W, H) after the public code's shrink of huge images
    crop_box: tuple[int, int, int, int]  # (clx, cly, crx, cry) in work pixels; resize: whole
    quad_box: tuple[int, int, int, int]  # (lx, ly, rx, ry) inside crop_box, truncated ints
    quad: tuple[float, float, float, float]  # the same before truncation (public crop_info[2])

    @property
    def face_size(self) -> tuple[int, int]:
        """(w0, h0): the public code's crop_info[0], the tight quad's size in work pixels."""
        lx, ly, rx, ry = self.quad_box
        return rx - lx, ry - ly

    @property
    def paste_box(self) -> tuple[int, int, int, int]:
        """(x1, y1, x2, y2) in original pixels where full modes paste the rendered face."""
        clx, cly, crx, cry = self.crop_box
        lx, ly, rx, ry = self.quad_box
        box = (clx, cly, crx, cry) if "ext" in self.preprocess else (clx + lx, cly + ly,
                                                                     clx + rx, cly + ry)
        sx = self.image_size[0] / self.work_size[0]
        sy = self.image_size[1] / self.work_size[1]
        return (round(box[0] * sx), round(box[1] * sy), round(box[2] * sx), round(box[3] * sy))

    def output_size(self, size: int) -> tuple[int, int]:
        """(width, height) of crop-mode frames: SadTalker resizes to (S, int(S * h0 / w0))."""
        w0, h0 = self.face_size if self.preprocess != Preprocess.RESIZE.value else self.image_size
        return size, int(size * h0 / w0)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> CropInfo:
        return cls(data["preprocess"], *(tuple(data[k]) for k in
                                         ("image_size", "work_size", "crop_box", "quad_box",
                                          "quad")))


def face_quad(landmarks: np.ndarray) -> tuple[np.ndarray, float]:
    """The oriented square around the face (4 corners) and its side, from 68 landmarks."""
    lm = np.asarray(landmarks, dtype=np.float64)
    eye_left, eye_right = lm[36:42].mean(axis=0), lm[42:48].mean(axis=0)
    eye_avg = (eye_left + eye_right) * 0.5
    eye_to_eye = eye_right - eye_left
    mouth_avg = (lm[48] + lm[54]) * 0.5
    eye_to_mouth = mouth_avg - eye_avg
    x = eye_to_eye - np.flipud(eye_to_mouth) * [-1, 1]
    x /= np.hypot(*x)
    x *= max(np.hypot(*eye_to_eye) * QUAD_EYE_SCALE, np.hypot(*eye_to_mouth) * QUAD_MOUTH_SCALE)
    y = np.flipud(x) * [-1, 1]
    c = eye_avg + eye_to_mouth * CENTRE_MOUTH_SHIFT
    quad = np.stack([c - x - y, c - x + y, c + x + y, c + x - y])
    return quad, float(np.hypot(*x) * 2)


def crop_geometry(landmarks: np.ndarray, width: int, height: int
                  ) -> tuple[tuple[int, int], tuple[int, int, int, int], list[float]]:
    """(work size, crop box, [lx, ly, rx, ry]) exactly as the public `align_face` computes them."""
    quad, qsize = face_quad(landmarks)
    shrink = int(np.floor(qsize / CROP_REFERENCE_SIZE * 0.5))
    if shrink > 1:
        work = (int(np.rint(width / shrink)), int(np.rint(height / shrink)))
        quad /= shrink
        qsize /= shrink
    else:
        work = (width, height)
    border = max(int(np.rint(qsize * BORDER_FRACTION)), MIN_BORDER)
    crop = (max(int(np.floor(quad[:, 0].min())) - border, 0),
            max(int(np.floor(quad[:, 1].min())) - border, 0),
            min(int(np.ceil(quad[:, 0].max())) + border, work[0]),
            min(int(np.ceil(quad[:, 1].max())) + border, work[1]))
    if crop[2] - crop[0] < work[0] or crop[3] - crop[1] < work[1]:
        quad -= crop[0:2]
    q = (quad + 0.5).flatten()
    lx, ly = max(min(q[0], q[2]), 0), max(min(q[1], q[7]), 0)
    # the public code clips the bottom edge by the image width, not its height: kept
    rx, ry = min(max(q[4], q[6]), work[0]), min(max(q[3], q[5]), work[0])
    return work, crop, [float(lx), float(ly), float(rx), float(ry)]


def crop_face(image: np.ndarray, landmarks: np.ndarray, preprocess: Preprocess, size: int
              ) -> tuple[np.ndarray, CropInfo, np.ndarray]:
    """Crop (and resize to size x size) per mode; returns crop, its info, and the landmarks
    mapped into the crop's pixels."""
    preprocess = Preprocess(preprocess)
    height, width = image.shape[:2]
    lm = np.asarray(landmarks, dtype=np.float64)
    if preprocess is Preprocess.RESIZE:
        info = CropInfo(preprocess.value, (width, height), (width, height),
                        (0, 0, width, height), (0, 0, width, height),
                        (0.0, 0.0, float(width), float(height)))
        region, origin, scale = image, np.zeros(2), np.ones(2)
    else:
        work, crop, quad = crop_geometry(lm, width, height)
        quad_box = tuple(int(v) for v in quad)
        info = CropInfo(preprocess.value, (width, height), work, crop, quad_box, tuple(quad))
        scale = np.array([work[0] / width, work[1] / height])
        worked = image if work == (width, height) else cv2.resize(image, work)
        clx, cly, crx, cry = crop
        region = worked[cly:cry, clx:crx]
        origin = np.array([clx, cly], dtype=np.float64)
        if not preprocess.extended:
            lx, ly, rx, ry = quad_box
            region = region[ly:ry, lx:rx]
            origin += [lx, ly]
    if region.size == 0:
        raise LandmarksError("the landmarks give an empty face crop: check that they are 68 "
                             "(x, y) points on the face, in image pixels")
    out = cv2.resize(region, (size, size))
    # cv2.resize maps pixel centres: x' = (x + 0.5) * s - 0.5
    resize = np.array([size / region.shape[1], size / region.shape[0]])
    mapped = ((lm * scale - origin) + 0.5) * resize - 0.5
    return out, info, mapped.astype(np.float32)

