"""A batch of clips for one portrait: `talking_head` once per speech clip, as an ArrayNode.

The clips run the registered launch plan `talking_head_clip`, so each runs with the image,
resources and settings it was registered with; nothing is compiled inside a pod.
"""

from __future__ import annotations

from typing import NamedTuple

from flytekit import LaunchPlan, workflow
from flytekit.core.array_node import array_node
from flytekit.types.file import FlyteFile

from sadtalker.options import DEFAULTS, Enhancer, Precision, Preprocess, Size
from tasks.clip_inputs import clip_inputs
from tasks.types import AudioFile, ImageFile, VideoFile
from workflows.talking_head import DEFAULT_CHUNKS, PRICE_PER_VCPU_HOUR, talking_head

CLIP_CONCURRENCY = 4  # clips at once; each fans out to its own render pods

# What a batch does not vary: predicted head motion and blinks, chunk sizes from the cost.
talking_head_clip = LaunchPlan.get_or_create(
    talking_head, name="talking_head_clip",
    fixed_inputs={"input_yaw": None, "input_pitch": None, "input_roll": None,
                  "ref_eyeblink": None, "ref_pose": None, "min_chunk_frames": 0})


class TalkingHeadVideos(NamedTuple):
    videos: list[VideoFile]  # one mp4 per speech clip, in the order of `audios`


@workflow
def talking_head_batch(
    image: ImageFile,
    audios: list[AudioFile],
    landmarks: FlyteFile | None = None,
    preprocess: Preprocess = DEFAULTS.preprocess,
    size: Size = DEFAULTS.size_choice,
    still: bool = DEFAULTS.still,
    enhancer: Enhancer = DEFAULTS.enhancer,
    pose_style: int = DEFAULTS.pose_style,
    expression_scale: float = DEFAULTS.expression_scale,
    seed: int = DEFAULTS.seed,
    batch_size: int = DEFAULTS.batch_size,
    precision: Precision = DEFAULTS.precision,
    max_audio_seconds: float = DEFAULTS.max_audio_seconds,
    chunks: int = DEFAULT_CHUNKS,
    checkpoints: str = "",
    price_per_vcpu_hour: float = PRICE_PER_VCPU_HOUR,
) -> TalkingHeadVideos:
    """Animate one portrait with each speech clip; the options as in `talking_head`.

    :param image: The portrait URI.
    :param audios: Speech clip URIs; one video each, in the same order.
    :param landmarks: Optional 68 (x, y) landmarks of the portrait (.npy or .json).
    :param preprocess: crop | resize | full | extcrop | extfull (full modes paste back).
    :param size: Renderer resolution, 256 or 512.
    :param still: Keep the head still (less head motion).
    :param enhancer: Face restoration of rendered frames: none | gfpgan.
    :param pose_style: Head-motion style, 0..45.
    :param expression_scale: Expression strength, 0..5 (1 = as predicted).
    :param seed: Seed of every random choice: same seed, same video.
    :param batch_size: Frames the renderer runs at once.
    :param precision: auto (bf16 where the CPU has it) | fp32 | bf16.
    :param max_audio_seconds: Longer speech is refused before any heavy stage.
    :param chunks: Desired render parallelism per clip.
    :param checkpoints: Checkpoint directory inside the pods; empty = the image's.
    :param price_per_vcpu_hour: Price used for the cost estimate in each clip's report deck.
    """
    clips = clip_inputs(image=image, audios=audios, landmarks=landmarks,
                        preprocess=preprocess, size=size,
                        still=still, enhancer=enhancer, pose_style=pose_style,
                        expression_scale=expression_scale, seed=seed, batch_size=batch_size,
                        precision=precision, max_audio_seconds=max_audio_seconds,
                        chunks=chunks, checkpoints=checkpoints,
                        price_per_vcpu_hour=price_per_vcpu_hour)
    videos = array_node(talking_head_clip, concurrency=CLIP_CONCURRENCY)(**clips._asdict())
    return TalkingHeadVideos(videos=videos)
