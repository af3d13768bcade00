"""68-point face landmarks: detected with face-alignment (S3FD + 2D FAN), or given by the user.

Everything is loaded from the checkpoint directory: face-alignment would otherwise download its
FAN through torch hub at construction, which pods must never do.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import cv2
import numpy as np
import torch
from face_alignment import FaceAlignment, LandmarksType
from face_alignment.detection.sfd.net_s3fd import s3fd
from face_alignment.models import FAN

from sadtalker import weights
from sadtalker.errors import CheckpointError, LandmarksError, NoFaceError

log = logging.getLogger(__name__)

NUM_LANDMARKS = 68
DETECTION_MAX_SIDE = 1024  # faces are found on a copy at most this large, then refined
LANDMARK_MARGIN = 0.1  # given points may lie this fraction of the image outside it (chin, jaw)
FAN_SIZE = 4  # 2DFAN-4: four stacked hourglasses


class _OfflineFaceAlignment(FaceAlignment):
    """face-alignment's pipeline with its FAN read from our file instead of torch hub."""

    def __init__(self, fan_path: Path, detector_path: Path) -> None:
        self._fan_path = fan_path
        super().__init__(LandmarksType.TWO_D, device="cpu", face_detector="sfd",
                         face_detector_kwargs={"path_to_detector": str(detector_path)},
                         compile=False)

    def _load_native(self, network_name: str, network_size: int, device: str,
                     dtype: torch.dtype) -> FAN:
        _, state = weights.load_torch_state(self._fan_path)
        net = weights.load_strict(FAN(network_size), state, self._fan_path)
        return net.to(device, dtype=dtype).eval()


class Landmarker:
    """Finds the largest face in a photo and returns its 68 landmarks."""

    def __init__(self, aligner: FaceAlignment) -> None:
        self.aligner = aligner

    @classmethod
    def load(cls, checkpoint_dir: str | os.PathLike[str] | None = None) -> Landmarker:
        detector = weights.locate(weights.S3FD, checkpoint_dir)
        fan = weights.locate(weights.FAN_2D, checkpoint_dir)
        try:
            return cls(_OfflineFaceAlignment(fan, detector))
        except CheckpointError:
            raise  # the FAN, read by our loader
        except Exception:
            _, state = weights.load_torch_state(detector)  # face-alignment read it itself
            weights.load_strict(s3fd(), state, detector)
            raise  # the file is not at fault

    def detect(self, image: np.ndarray, name: str) -> np.ndarray:
        """(68, 2) float32 landmarks in `image` pixels; NoFaceError when there is no face."""
        height, width = image.shape[:2]
        scale = min(1.0, DETECTION_MAX_SIDE / max(height, width))
        small = image if scale == 1.0 else cv2.resize(
            image, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
        with torch.inference_mode():
            boxes = self.aligner.face_detector.detect_from_image(small[..., ::-1].copy())
        if len(boxes) == 0:
            raise NoFaceError(f"no face found in {name}: use a photo with one clearly visible "
                              "face, or pass --landmarks with 68 (x, y) points")
        boxes = np.asarray(boxes, dtype=np.float64)
        boxes[:, :4] /= scale
        areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        if len(boxes) > 1:
            log.info("%d faces found in %s: using the largest", len(boxes), name)
        box = boxes[int(np.argmax(areas))]
        with torch.inference_mode():
            points = self.aligner.get_landmarks_from_image(image, detected_faces=[box])
        return np.asarray(points[0], dtype=np.float32)


def validate_landmarks(points: np.ndarray, width: int, height: int, source: str) -> np.ndarray:
    """Check shape, finiteness and range of (68, 2) landmarks in image pixels."""
    points = np.asarray(points, dtype=np.float64)
    if points.shape != (NUM_LANDMARKS, 2):
        raise LandmarksError(f"{source} holds landmarks of shape {points.shape}: expected 68 "
                             "(x, y) points in image pixels (iBUG 68-point order)")
    if not np.isfinite(points).all():
        raise LandmarksError(f"{source} holds NaN or infinite landmark coordinates")
    mx, my = LANDMARK_MARGIN * width, LANDMARK_MARGIN * height
    if (points[:, 0].min() < -mx or points[:, 0].max() > width + mx
            or points[:, 1].min() < -my or points[:, 1].max() > height + my):
        raise LandmarksError(f"{source} has landmarks outside the {width}x{height} image: they "
                             "must be (x, y) in the image's pixels")
    return points.astype(np.float32)


def load_landmarks(path: str | os.PathLike[str], width: int, height: int) -> np.ndarray:
    """(68, 2) landmarks from .npy, or .json (a list of 68 [x, y], or {"landmarks": [...]})."""
    path = Path(path)
    try:
        if path.suffix.lower() == ".npy":
            points = np.load(path, allow_pickle=False)
        else:
            content = json.loads(path.read_text())
            points = content["landmarks"] if isinstance(content, dict) else content
            points = np.asarray(points, dtype=np.float64)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise LandmarksError(f"cannot read landmarks from {path} ({exc}): give a .npy array or a "
                             "JSON list of 68 [x, y] pairs") from exc
    return validate_landmarks(points, width, height, str(path))
