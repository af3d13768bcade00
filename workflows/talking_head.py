"""The talking-head workflow: portrait + speech -> mp4, with its default launch plan.

ingest -> audio_to_mel (cached) \
       -> crop_and_extract (cached) -> audio_to_coeffs -> plan_chunks -> map(render_chunk) -> stitch
"""

from __future__ import annotations

import functools
from typing import NamedTuple

from flytekit import LaunchPlan, map_task, workflow
from flytekit.types.file import FlyteFile

from sadtalker.options import DEFAULTS, Enhancer, Precision, Preprocess, Size
from tasks.audio_to_coeffs import audio_to_coeffs
from tasks.audio_to_mel import audio_to_mel
from tasks.config import RENDER_CONCURRENCY
from tasks.crop_and_extract import crop_and_extract
from tasks.ingest import ingest
from tasks.plan_chunks import plan_chunks
from tasks.render_chunk import render_chunk
from tasks.stitch import stitch
from tasks.types import AudioFile, ImageFile, VideoFile

DEFAULT_CHUNKS = 4  # render pods per clip when the clip is long enough
PRICE_PER_VCPU_HOUR = 0.04  # USD, roughly an on-demand cloud vCPU-hour


class TalkingHeadVideo(NamedTuple):
    video: VideoFile  # the mp4: H.264 + AAC, 25 fps, as long as the speech


@workflow
def talking_head(
    image: ImageFile,
    audio: AudioFile,
    landmarks: FlyteFile | None = None,
    preprocess: Preprocess = DEFAULTS.preprocess,
    size: Size = DEFAULTS.size_choice,
    still: bool = DEFAULTS.still,
    enhancer: Enhancer = DEFAULTS.enhancer,
    pose_style: int = DEFAULTS.pose_style,
    expression_scale: float = DEFAULTS.expression_scale,
    input_yaw: list[float] | None = None,
    input_pitch: list[float] | None = None,
    input_roll: list[float] | None = None,
    seed: int = DEFAULTS.seed,
    batch_size: int = DEFAULTS.batch_size,
    precision: Precision = DEFAULTS.precision,
    max_audio_seconds: float = DEFAULTS.max_audio_seconds,
    ref_eyeblink: FlyteFile | None = None,
    ref_pose: FlyteFile | None = None,
    chunks: int = DEFAULT_CHUNKS,
    min_chunk_frames: int = 0,
    checkpoints: str = "",
    price_per_vcpu_hour: float = PRICE_PER_VCPU_HOUR,
) -> TalkingHeadVideo:
    """Animate a portrait so that it speaks the given audio.

    :param image: The portrait (png/jpg URI): one clearly visible face.
    :param audio: The speech (wav/mp3/... URI); its length sets the video's.
    :param landmarks: Optional 68 (x, y) landmarks in pixels (.npy or .json) to skip face detection.
    :param preprocess: crop | resize | full | extcrop | extfull (full modes paste back).
    :param size: Renderer resolution, 256 or 512.
    :param still: Keep the head still (less head motion).
    :param enhancer: Face restoration of rendered frames: none | gfpgan.
    :param pose_style: Head-motion style, 0..45.
    :param expression_scale: Expression strength, 0..5 (1 = as predicted).
    :param input_yaw: Head yaw angles in degrees to move through (empty = predicted).
    :param input_pitch: Head pitch angles in degrees to move through.
    :param input_roll: Head roll angles in degrees to move through.
    :param seed: Seed of every random choice (blinks, pose sampling): same seed, same video.
    :param batch_size: Frames the renderer runs at once.
    :param precision: Renderer and GFPGAN precision: auto (bf16 where the CPU has it) | fp32
        | bf16.
    :param max_audio_seconds: Longer speech is refused before any heavy stage.
    :param ref_eyeblink: Optional reference video (URI) whose eye blinks the portrait copies.
    :param ref_pose: Optional reference video (URI) whose head motion the portrait copies.
    :param chunks: Render parallelism: the frames are split into this many pods, fewer for
        short clips (a pod's start-up must stay a small share of its work) and more for long
        ones (a chunk must finish well inside the render timeout); see sadtalker/cost.py.
    :param min_chunk_frames: No render chunk shorter than this; 0 = from the measured cost.
    :param checkpoints: Checkpoint directory inside the pods; empty = the image's
        (/opt/sadtalker/checkpoints: weights baked in or a mounted volume, see the README).
    :param price_per_vcpu_hour: Price used for the cost estimate in the report deck.
    """
    given = ingest(image=image, audio=audio, landmarks=landmarks, checkpoints=checkpoints,
                   preprocess=preprocess, size=size, still=still,
                   enhancer=enhancer, pose_style=pose_style, expression_scale=expression_scale,
                   input_yaw=input_yaw, input_pitch=input_pitch, input_roll=input_roll,
                   seed=seed, batch_size=batch_size, precision=precision,
                   max_audio_seconds=max_audio_seconds, ref_eyeblink=ref_eyeblink,
                   ref_pose=ref_pose, chunks=chunks,
                   min_chunk_frames=min_chunk_frames, price_per_vcpu_hour=price_per_vcpu_hour)
    mel = audio_to_mel(audio=given.audio, max_seconds=max_audio_seconds)
    face = crop_and_extract(image=given.image, landmarks=landmarks,
                            landmarks_sha256=given.landmarks_sha256, preprocess=preprocess,
                            size=size, checkpoints=checkpoints, face_weights=given.face_weights)
    coeffs = audio_to_coeffs(mel=mel.mel, face=face.face, options=given.options,
                             checkpoints=checkpoints, weights=given.weights,
                             ref_eyeblink=ref_eyeblink, ref_pose=ref_pose)
    planned = plan_chunks(info=mel.info, options=given.options, chunks=chunks,
                          min_chunk_frames=min_chunk_frames)
    render = functools.partial(render_chunk, image=given.image, face=face.face,
                               coeffs=coeffs.coeffs, options=given.options,
                               checkpoints=checkpoints, weights=given.weights)
    rendered = map_task(render, concurrency=RENDER_CONCURRENCY, min_success_ratio=1.0)(
        chunk=planned)
    video = stitch(rendered=rendered, audio=given.audio, info=mel.info, options=given.options,
                   checkpoints=checkpoints, times=[given.time, mel.time, face.time, coeffs.time],
                   price_per_vcpu_hour=price_per_vcpu_hour)
    return TalkingHeadVideo(video=video)


default_launch_plan = LaunchPlan.get_or_create(talking_head)
