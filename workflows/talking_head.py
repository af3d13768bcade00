"""The talking-head workflow: portrait + speech -> mp4, with its default launch plan.

ingest -> audio_to_mel (cached) \
       -> crop_and_extract (cached) -> audio_to_coeffs -> plan_chunks -> map(render_chunk) -> stitch
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

from flytekit import LaunchPlan, map_task, workflow
from flytekit.types.file import FlyteFile

from sadtalker.cpu import CpuClass
from tasks.audio_to_coeffs import audio_to_coeffs
from tasks.audio_to_mel import audio_to_mel
from tasks.config import RENDER_CONCURRENCY
from tasks.crop_and_extract import crop_and_extract
from tasks.ingest import ingest
from tasks.option_inputs import takes_options
from tasks.plan_chunks import plan_chunks
from tasks.render_chunk import render_chunk
from tasks.stitch import stitch
from tasks.types import AudioFile, ImageFile, VideoFile

DEFAULT_CHUNKS = 4  # render pods per clip when the clip is long enough
PRICE_PER_VCPU_HOUR = 0.04  # USD, roughly an on-demand cloud vCPU-hour


class TalkingHeadVideo(NamedTuple):
    video: VideoFile  # the mp4: H.264 + AAC, 25 fps, as long as the speech


@workflow
@takes_options(after="landmarks")
def talking_head(
    image: ImageFile,
    audio: AudioFile,
    landmarks: FlyteFile | None = None,
    ref_eyeblink: FlyteFile | None = None,
    ref_pose: FlyteFile | None = None,
    chunks: int = DEFAULT_CHUNKS,
    min_chunk_frames: int = 0,
    render_cpu: CpuClass | None = None,
    checkpoints: str = "",
    price_per_vcpu_hour: float = PRICE_PER_VCPU_HOUR,
    **options: Any,
) -> TalkingHeadVideo:
    """Animate a portrait so that it speaks the given audio.

    :param image: The portrait (png/jpg URI): one clearly visible face.
    :param audio: The speech (wav/mp3/... URI); its length sets the video's.
    :param landmarks: Optional 68 (x, y) landmarks in pixels (.npy or .json) to skip face detection.
    :param ref_eyeblink: Optional reference video (URI) whose eye blinks the portrait copies.
    :param ref_pose: Optional reference video (URI) whose head motion the portrait copies.
    :param chunks: Render parallelism: the frames are split into this many pods, fewer for
        short clips (a pod's start-up must stay a small share of its work) and more for long
        ones (a chunk must finish well inside the render timeout); see sadtalker/cost.py.
    :param min_chunk_frames: No render chunk shorter than this; 0 = from the measured cost.
    :param render_cpu: The CPU class of the nodes the render pods run on, where they are all
        one: chunks are then sized from its measured cost. Empty = any class (README, "AVX2").
    :param checkpoints: Checkpoint directory inside the pods; empty = the image's
        (/opt/sadtalker/checkpoints: weights baked in or a mounted volume, see the README).
    :param price_per_vcpu_hour: Price used for the cost estimate in the report deck.
    """
    given = ingest(image=image, audio=audio, landmarks=landmarks, checkpoints=checkpoints,
                   ref_eyeblink=ref_eyeblink, ref_pose=ref_pose, chunks=chunks,
                   min_chunk_frames=min_chunk_frames, render_cpu=render_cpu,
                   price_per_vcpu_hour=price_per_vcpu_hour, **options)
    mel = audio_to_mel(audio=given.audio, max_seconds=options["max_audio_seconds"])
    face = crop_and_extract(image=given.image, landmarks=landmarks,
                            landmarks_sha256=given.landmarks_sha256,
                            preprocess=options["preprocess"], size=options["size"],
                            checkpoints=checkpoints, face_weights=given.face_weights)
    coeffs = audio_to_coeffs(mel=mel.mel, face=face.face, options=given.options,
                             checkpoints=checkpoints, weights=given.weights,
                             ref_eyeblink=ref_eyeblink, ref_pose=ref_pose)
    planned = plan_chunks(info=mel.info, options=given.options, chunks=chunks,
                          min_chunk_frames=min_chunk_frames, render_cpu=render_cpu)
    render = functools.partial(render_chunk, image=given.image, face=face.face,
                               coeffs=coeffs.coeffs, options=given.options,
                               checkpoints=checkpoints, weights=given.weights)
    rendered = map_task(render, concurrency=RENDER_CONCURRENCY, min_success_ratio=1.0)(
        chunk=planned)
    video = stitch(rendered=rendered, audio=given.audio, info=mel.info, options=given.options,
                   checkpoints=checkpoints, times=[given.time, mel.time, face.time, coeffs.time],
                   price_per_vcpu_hour=price_per_vcpu_hour, render_cpu=render_cpu)
    return TalkingHeadVideo(video=video)


default_launch_plan = LaunchPlan.get_or_create(talking_head)
