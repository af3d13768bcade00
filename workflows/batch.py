"""A batch of clips for one portrait: `talking_head` once per speech clip, as an ArrayNode.

The clips run the registered launch plan `talking_head_clip`, so each runs with the image,
resources and settings it was registered with; nothing is compiled inside a pod.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from flytekit import LaunchPlan, workflow
from flytekit.core.array_node import array_node
from flytekit.types.file import FlyteFile

from sadtalker.cpu import CpuClass
from tasks.clip_inputs import PREDICTED, clip_inputs
from tasks.option_inputs import takes_options
from tasks.types import AudioFile, ImageFile, VideoFile
from workflows.talking_head import DEFAULT_CHUNKS, PRICE_PER_VCPU_HOUR, talking_head

CLIP_CONCURRENCY = 4  # clips at once; each fans out to its own render pods

# What a batch does not vary: predicted head motion and blinks, chunk sizes from the cost.
talking_head_clip = LaunchPlan.get_or_create(
    talking_head, name="talking_head_clip",
    fixed_inputs={**dict.fromkeys(PREDICTED), "ref_eyeblink": None, "ref_pose": None,
                  "min_chunk_frames": 0})


class TalkingHeadVideos(NamedTuple):
    videos: list[VideoFile]  # one mp4 per speech clip, in the order of `audios`


@workflow
@takes_options(after="landmarks", exclude=PREDICTED)
def talking_head_batch(
    image: ImageFile,
    audios: list[AudioFile],
    landmarks: FlyteFile | None = None,
    chunks: int = DEFAULT_CHUNKS,
    render_cpu: CpuClass | None = None,
    checkpoints: str = "",
    price_per_vcpu_hour: float = PRICE_PER_VCPU_HOUR,
    **options: Any,
) -> TalkingHeadVideos:
    """Animate one portrait with each speech clip; the options as in `talking_head`.

    :param image: The portrait URI.
    :param audios: Speech clip URIs; one video each, in the same order.
    :param landmarks: Optional 68 (x, y) landmarks of the portrait (.npy or .json).
    :param chunks: Desired render parallelism per clip.
    :param render_cpu: The CPU class of the render nodes, where they are all one; empty = any.
    :param checkpoints: Checkpoint directory inside the pods; empty = the image's.
    :param price_per_vcpu_hour: Price used for the cost estimate in each clip's report deck.
    """
    clips = clip_inputs(image=image, audios=audios, landmarks=landmarks, chunks=chunks,
                        render_cpu=render_cpu, checkpoints=checkpoints,
                        price_per_vcpu_hour=price_per_vcpu_hour, **options)
    videos = array_node(talking_head_clip, concurrency=CLIP_CONCURRENCY)(**clips._asdict())
    return TalkingHeadVideos(videos=videos)
