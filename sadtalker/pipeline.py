"""The whole generation, stage by stage: what the CLI runs in one process and what each Flyte
task runs on its own pod. Each stage takes and returns plain files/arrays so that it can run
anywhere; `generate` chains them.
"""

from __future__ import annotations

import functools
import logging
import math
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from sadtalker import run_checkpoints, video, weights
from sadtalker.allocator import retain_freed_memory
from sadtalker.audio import AudioFeatures
from sadtalker.chunks import Chunk, plan_chunks
from sadtalker.coeff_layout import EXPRESSION, FRAME_COEFFS, POSE
from sadtalker.coeffs import generate_coefficients, load_coeff_models
from sadtalker.face.prepared import PreparedFace
from sadtalker.options import DEFAULTS, Enhancer, GenerateOptions
from sadtalker.paste import paste_back
from sadtalker.progress_log import frame_progress
from sadtalker.render.renderer import Renderer, SourceState, to_uint8
from sadtalker.render.settings import RenderSettings

if TYPE_CHECKING:  # gfpgan's import chain costs seconds: load it only when enhancing
    from sadtalker.enhance import Enhancer as FaceEnhancer

log = logging.getLogger(__name__)

def prepare_audio(audio: Path, max_seconds: float = DEFAULTS.max_audio_seconds) -> AudioFeatures:
    """Decode speech to 16 kHz and compute the per-frame 80x16 mel windows."""
    return AudioFeatures.from_file(audio, max_seconds)


def reference_coefficients(video_path: Path, checkpoints: Path | None) -> np.ndarray:
    """Per-frame (N, SOURCE_COEFFS) coefficients of a reference video (eye blinks, head motion)."""
    from sadtalker.face.landmarks import Landmarker
    from sadtalker.face.recon import load_recon
    from sadtalker.face.reference_video import REFERENCE_SIZE
    from sadtalker.face.reference_video import reference_coefficients as per_frame

    recon = load_recon(weights.locate(weights.sadtalker_file(REFERENCE_SIZE), checkpoints))
    return per_frame(Path(video_path), Landmarker.load(checkpoints), recon)


def make_coefficients(features: AudioFeatures, face: PreparedFace,
                      options: GenerateOptions = DEFAULTS, checkpoints: Path | None = None,
                      ref_eyeblink: Path | None = None, ref_pose: Path | None = None) -> np.ndarray:
    """Per-frame (T, FRAME_COEFFS) expression + pose from the audio, seeded by options.seed."""
    models = load_coeff_models(weights.locate(weights.sadtalker_file(options.size), checkpoints))
    reference = functools.cache(lambda path: reference_coefficients(path, checkpoints))
    eyeblink = reference(ref_eyeblink)[:, EXPRESSION] if ref_eyeblink is not None else None
    pose = reference(ref_pose)[:, POSE] if ref_pose is not None else None  # one pass if same file
    return generate_coefficients(features.windows, face.coeffs[:FRAME_COEFFS], models,
                                 options.pose_style, options.seed, options.still, eyeblink, pose)


def render_settings(renderer: Renderer, state: SourceState, coeffs: np.ndarray,
                    options: GenerateOptions) -> RenderSettings:
    """What `renderer` reads of the clip driven by `coeffs` (T, FRAME_COEFFS) under `options`."""
    return RenderSettings.for_clip(coeffs, state.coeffs, renderer.coeff_channels,
                                   options.batch_size, options.still, options.expression_scale,
                                   options.input_yaw, options.input_pitch, options.input_roll)


@dataclass
class ChunkRenderer:
    """Everything a render pod loads once: networks, the source's precomputed state, the photo."""

    renderer: Renderer
    state: SourceState
    enhancer: FaceEnhancer | None
    photo: np.ndarray | None  # the original photo, for paste-back in full modes
    paste_box: tuple[int, int, int, int]
    output_size: tuple[int, int]  # (width, height) of crop-mode frames
    options: GenerateOptions

    @classmethod
    def load(cls, image: Path, face: PreparedFace, options: GenerateOptions,
             checkpoints: Path | None = None) -> ChunkRenderer:
        """Load the networks and do the source-only work, once per pod (or per process).

        Then this process keeps freed memory for reuse (`sadtalker.allocator`; undo with
        `retain_freed_memory(False)`): rendering frees and allocates the same large buffers
        every batch. Switched on only now, so that loading's transient buffers are not kept too
        (they would raise the pod's peak memory).
        """
        from sadtalker.image import load_image

        renderer = Renderer.load(checkpoints, options.size, options.coeff_channels,
                                 options.precision)
        state = renderer.prepare(face.crop, face.coeffs)
        photo = load_image(image) if options.preprocess.pastes_back else None
        enhancer = None
        if options.enhancer is Enhancer.GFPGAN:
            from sadtalker.enhance import Enhancer as FaceEnhancer

            enhancer = FaceEnhancer.load(checkpoints, seed=options.seed,
                                        precision=options.precision)
        context = cls(renderer, state, enhancer, photo, face.crop_info.paste_box,
                      face.crop_info.output_size(options.size), options)
        if enhancer is not None:  # the source, placed as frames are: the face mask's reference
            enhancer.fix_face_mask(context.place(face.crop[None])[0])
        retain_freed_memory()
        return context

    def place(self, frames: np.ndarray) -> np.ndarray:
        """Paste back into the photo (full modes) or restore the crop's aspect."""
        if self.photo is not None:
            return paste_back(frames, self.photo, self.paste_box)
        if self.output_size != frames.shape[2:0:-1]:
            return np.stack([cv2.resize(f, self.output_size) for f in frames])
        return frames

    def finish(self, frames: np.ndarray) -> np.ndarray:
        """Place the rendered crops (`place`), then enhance."""
        frames = self.place(frames)
        return frames if self.enhancer is None else self.enhancer.enhance(frames)

    def batches(self, coeffs: np.ndarray, chunk: Chunk,
                progress: Callable[[int], None] | None = None) -> Iterator[np.ndarray]:
        """The chunk's finished frames, one renderer batch at a time (memory: one batch)."""
        settings = render_settings(self.renderer, self.state, coeffs, self.options)
        for images in self.renderer.batches(self.state, settings, chunk.start, chunk.stop):
            frames = self.finish(to_uint8(images))
            if progress is not None:
                progress(len(frames))
            yield frames


def render_segment(context: ChunkRenderer, coeffs: np.ndarray, chunk: Chunk, out: Path,
                   progress: Callable[[int], None] | None = None) -> Path:
    """Render one chunk's frames (+ paste-back, + enhancer) into a segment in the final codec.

    Frames stream to the encoder batch by batch, so a pod's memory does not grow with the
    chunk's length; on any failure no file appears at `out`.
    """
    return video.write_segment(context.batches(coeffs, chunk, progress), out)


def generate(image: Path, audio: Path, out: Path, options: GenerateOptions = DEFAULTS,
             checkpoints: Path | None = None, landmarks: Path | None = None,
             ref_eyeblink: Path | None = None, ref_pose: Path | None = None,
             chunk_frames: int | None = None) -> Path:
    """The whole pipeline in this process; returns `out` (written only when complete)."""
    from sadtalker.face.prepare import prepare_face  # torchvision's import costs seconds

    options = options.with_resolved_precision()  # bf16 on a CPU without it fails here, at once
    run_checkpoints.check(options, checkpoints, detect=landmarks is None,
                          references=ref_eyeblink is not None or ref_pose is not None)
    features = prepare_audio(audio, options.max_audio_seconds)
    face = prepare_face(image, options.preprocess, options.size, checkpoints, landmarks)
    coeffs = make_coefficients(features, face, options, checkpoints, ref_eyeblink, ref_pose)
    frames = len(coeffs)
    max_chunks = math.ceil(frames / chunk_frames) if chunk_frames else 1
    chunks = plan_chunks(frames, options.batch_size, max_chunks)
    context = ChunkRenderer.load(image, face, options, checkpoints)
    synthetic = weights.uses_synthetic_weights(checkpoints, options.size)
    out = Path(out)
    with tempfile.TemporaryDirectory(prefix="sadtalker-", dir=out.parent) as work, \
            frame_progress("render", frames, log) as progress:
        segments = [render_segment(context, coeffs, chunk, Path(work) / f"{chunk.index:05d}.mp4",
                                   progress) for chunk in chunks]
        return video.stitch(segments, audio, frames, out, synthetic=synthetic)
