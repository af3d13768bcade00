"""A batch's per-clip inputs: the settings its clips share, repeated once per speech clip.

An ArrayNode over a launch plan maps every input of the plan, so a value that all clips share
reaches it as a list with one copy per clip. The batch varies every option but the free-view
angles, which its clips predict (`PREDICTED`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from flytekit import task
from flytekit.types.file import FlyteFile

from sadtalker.cpu import CpuClass
from sadtalker.errors import InputError
from tasks.config import IMAGE, LIGHT, LIGHT_TIMEOUT, RETRIES
from tasks.errors import flyte_errors
from tasks.option_inputs import option_inputs, takes_options
from tasks.types import AudioFile, ImageFile

PREDICTED = ("input_yaw", "input_pitch", "input_roll")  # options a batch's clips leave unset

# The fields follow the options: a clip gets one list per input of `talking_head_clip`.
ClipInputs = NamedTuple("ClipInputs", [
    ("image", list[ImageFile]),
    ("audio", list[AudioFile]),
    ("landmarks", list[FlyteFile | None]),
    *((o.name, list[o.type]) for o in option_inputs(exclude=PREDICTED)),
    ("chunks", list[int]),
    ("render_cpu", list[CpuClass | None]),
    ("checkpoints", list[str]),
    ("price_per_vcpu_hour", list[float]),
])


@task(container_image=IMAGE, requests=LIGHT, limits=LIGHT, retries=RETRIES,
      timeout=LIGHT_TIMEOUT)
@takes_options(after="landmarks", exclude=PREDICTED)
def clip_inputs(image: ImageFile, audios: list[AudioFile], landmarks: FlyteFile | None,
                chunks: int, render_cpu: CpuClass | None, checkpoints: str,
                price_per_vcpu_hour: float, **options: Any) -> ClipInputs:
    """One entry per clip in every list, in the order of `audios`."""
    with flyte_errors():
        if not audios:
            raise InputError("the batch has no speech clips: give at least one audio URI")
    n = len(audios)
    return ClipInputs(image=[image] * n, audio=audios, landmarks=[landmarks] * n,
                      **{name: [value] * n for name, value in options.items()},
                      chunks=[chunks] * n, render_cpu=[render_cpu] * n,
                      checkpoints=[checkpoints] * n,
                      price_per_vcpu_hour=[price_per_vcpu_hour] * n)
