"""A batch of clips for one portrait, and the scheduled launch plan that renders it nightly.

Everything the schedule needs is read from the environment at registration (a schedule cannot
prompt for inputs, so every input has a default):
  SADTALKER_BATCH_IMAGE   portrait URI
  SADTALKER_BATCH_AUDIOS  comma-separated speech URIs
  SADTALKER_BATCH_CRON    cron expression (UTC), default nightly at 03:00
  SADTALKER_ALERT_EMAILS  comma-separated recipients of FAILED / TIMED_OUT notices (empty: none)
"""

from __future__ import annotations

import os

from flytekit import CronSchedule, Email, LaunchPlan, WorkflowExecutionPhase, dynamic, workflow

from tasks.config import IMAGE, LIGHT
from tasks.types import AudioFile, ImageFile, VideoFile
from workflows.talking_head import DEFAULT_CHUNKS, PRICE_PER_VCPU_HOUR, talking_head

BATCH_IMAGE = os.environ.get("SADTALKER_BATCH_IMAGE", "s3://sadtalker/batch/portrait.png")
BATCH_AUDIOS = os.environ.get("SADTALKER_BATCH_AUDIOS", "s3://sadtalker/batch/speech.wav")
BATCH_CRON = os.environ.get("SADTALKER_BATCH_CRON", "0 3 * * *")
ALERT_EMAILS = os.environ.get("SADTALKER_ALERT_EMAILS", "sadtalker-oncall@example.com")
ALERT_PHASES = [WorkflowExecutionPhase.FAILED, WorkflowExecutionPhase.TIMED_OUT]


def split_list(text: str) -> list[str]:
    """Comma-separated values, blanks dropped."""
    return [item.strip() for item in text.split(",") if item.strip()]


@dynamic(container_image=IMAGE, requests=LIGHT, limits=LIGHT)
def render_clips(image: ImageFile, audios: list[AudioFile], chunks: int, checkpoints: str,
                 price_per_vcpu_hour: float) -> list[VideoFile]:
    """One talking-head sub-workflow per clip; the clip count is known only at run time."""
    return [talking_head(image=image, audio=audio, chunks=chunks, checkpoints=checkpoints,
                         price_per_vcpu_hour=price_per_vcpu_hour) for audio in audios]


@workflow
def talking_head_batch(image: ImageFile, audios: list[AudioFile], chunks: int = DEFAULT_CHUNKS,
                       checkpoints: str = "",
                       price_per_vcpu_hour: float = PRICE_PER_VCPU_HOUR) -> list[VideoFile]:
    """Animate one portrait with each speech clip, default options.

    :param image: The portrait URI.
    :param audios: Speech clip URIs; one video each, in the same order.
    :param chunks: Desired render parallelism per clip.
    :param checkpoints: Checkpoint directory in the pods; empty = $SADTALKER_CHECKPOINTS.
    :param price_per_vcpu_hour: Price used for the cost estimate in each clip's report deck.
    """
    return render_clips(image=image, audios=audios, chunks=chunks, checkpoints=checkpoints,
                        price_per_vcpu_hour=price_per_vcpu_hour)


nightly_launch_plan = LaunchPlan.get_or_create(
    talking_head_batch,
    name="talking_head_batch_nightly",
    default_inputs={
        "image": ImageFile(BATCH_IMAGE),
        "audios": [AudioFile(uri) for uri in split_list(BATCH_AUDIOS)],
    },
    schedule=CronSchedule(schedule=BATCH_CRON),
    notifications=[Email(phases=ALERT_PHASES, recipients_email=split_list(ALERT_EMAILS))]
    if split_list(ALERT_EMAILS) else [],
)
