"""The whole generation, stage by stage: what the CLI runs in one process and what each Flyte
task runs on its own pod. Each stage takes and returns plain files/arrays so that it can run
anywhere; `generate` chains them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sadtalker.chunks import Chunk
from sadtalker.options import DEFAULTS, GenerateOptions


@dataclass
class PreparedFace:
    """The portrait after crop and 3DMM extraction: everything later stages need of it."""

    crop: np.ndarray  # (size, size, 3) uint8 RGB: the renderer's source image
    coeffs: np.ndarray  # (73,) float32: exp 64 | angle 3 | trans 3 | crop scale, tx, ty
    full_coeffs: np.ndarray  # (257,) float32: the 3DMM regressor's whole output
    crop_info: dict  # JSON-friendly crop geometry (box, quad, original size) for paste-back

    def save(self, path: Path) -> Path:
        """Write to one .npz (crop info as JSON text), the format passed between tasks."""
        np.savez(path, crop=self.crop, coeffs=self.coeffs, full_coeffs=self.full_coeffs,
                 crop_info=np.array(json.dumps(self.crop_info, sort_keys=True)))
        return path

    @classmethod
    def load(cls, path: Path) -> PreparedFace:
        with np.load(path, allow_pickle=False) as data:
            return cls(data["crop"], data["coeffs"], data["full_coeffs"],
                       json.loads(str(data["crop_info"])))


def prepare_audio(audio: Path, max_seconds: float | None = None):
    """Decode speech to 16 kHz and compute the per-frame 80x16 mel windows."""
    raise NotImplementedError


def prepare_face(image: Path, options: GenerateOptions = DEFAULTS, checkpoints: Path | None = None,
                 landmarks: Path | None = None) -> PreparedFace:
    """Find (or take) the 68 landmarks, crop per `options.preprocess`, regress 3DMM coefficients."""
    raise NotImplementedError


def make_coefficients(features, face: PreparedFace, options: GenerateOptions = DEFAULTS,
                      checkpoints: Path | None = None, ref_eyeblink: Path | None = None,
                      ref_pose: Path | None = None) -> np.ndarray:
    """Per-frame (T, 70) expression + pose coefficients from the audio, seeded by options.seed."""
    raise NotImplementedError


def render_segment(image: Path, face: PreparedFace, coeffs: np.ndarray, chunk: Chunk,
                   options: GenerateOptions, out: Path, checkpoints: Path | None = None) -> Path:
    """Render one chunk's frames (+ enhancer, + paste-back) into a lossless video segment."""
    raise NotImplementedError


def stitch_video(segments: list[Path], audio: Path, num_frames: int, out: Path,
                 synthetic: bool = False) -> Path:
    """Concatenate segments in order, mux the audio cut to the frames, write `out` atomically."""
    raise NotImplementedError


def generate(image: Path, audio: Path, out: Path, options: GenerateOptions = DEFAULTS,
             checkpoints: Path | None = None, landmarks: Path | None = None,
             ref_eyeblink: Path | None = None, ref_pose: Path | None = None,
             chunk_frames: int | None = None) -> Path:
    """The whole pipeline in this process; returns `out`."""
    raise NotImplementedError
