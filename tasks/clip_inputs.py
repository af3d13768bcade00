"""A batch's per-clip inputs: the settings its clips share, repeated once per speech clip.

An ArrayNode over a launch plan maps every input of the plan, so a value that all clips share
reaches it as a list with one copy per clip.
"""

from __future__ import annotations

from typing import NamedTuple

from flytekit import task
from flytekit.types.file import FlyteFile

from sadtalker.errors import InputError
from sadtalker.options import Enhancer, Precision, Preprocess, Size
from tasks.config import IMAGE, LIGHT, LIGHT_TIMEOUT, RETRIES
from tasks.errors import flyte_errors
from tasks.types import AudioFile, ImageFile


class ClipInputs(NamedTuple):
    image: list[ImageFile]
    audio: list[AudioFile]
    landmarks: list[FlyteFile | None]
    preprocess: list[Preprocess]
    size: list[Size]
    still: list[bool]
    enhancer: list[Enhancer]
    pose_style: list[int]
    expression_scale: list[float]
    seed: list[int]
    batch_size: list[int]
    precision: list[Precision]
    max_audio_seconds: list[float]
    chunks: list[int]
    checkpoints: list[str]
    price_per_vcpu_hour: list[float]


@task(container_image=IMAGE, requests=LIGHT, limits=LIGHT, retries=RETRIES,
      timeout=LIGHT_TIMEOUT)
def clip_inputs(image: ImageFile, audios: list[AudioFile], landmarks: FlyteFile | None,
                preprocess: Preprocess, size: Size,
                still: bool, enhancer: Enhancer, pose_style: int, expression_scale: float,
                seed: int, batch_size: int, precision: Precision, max_audio_seconds: float,
                chunks: int, checkpoints: str, price_per_vcpu_hour: float) -> ClipInputs:
    """One entry per clip in every list, in the order of `audios`."""
    with flyte_errors():
        if not audios:
            raise InputError("the batch has no speech clips: give at least one audio URI")
    n = len(audios)
    return ClipInputs([image] * n, audios, [landmarks] * n, [preprocess] * n, [size] * n,
                      [still] * n, [enhancer] * n, [pose_style] * n, [expression_scale] * n, [seed] * n,
                      [batch_size] * n, [precision] * n, [max_audio_seconds] * n, [chunks] * n,
                      [checkpoints] * n, [price_per_vcpu_hour] * n)
