"""The workflow's first task: validate the options and fingerprint the input files.

Flyte caches on input literals, and a file's literal is its URI. Returning the portrait and the
speech annotated with a hash of their bytes makes every cached task downstream key on content:
the same audio at another path hits `audio_to_mel`'s cache. The options are validated once,
here, so a bad value (or a missing checkpoint) fails fast, before any heavy stage; later tasks
get them as JSON text (`GenerateOptions.to_json`: small, readable in the console). The checkpoint files the face stage
reads are fingerprinted by content too: that cached task takes the fingerprint as an input, so
new weights miss its cache even in the same directory.
"""

from __future__ import annotations

import time
from typing import Any, NamedTuple

from flytekit import task
from flytekit.types.file import FlyteFile

from sadtalker import run_checkpoints, weights
from sadtalker.checksum import file_sha256
from sadtalker.chunks import check_fan_out
from sadtalker.cost import RenderCost
from sadtalker.cpu import CpuClass
from sadtalker.errors import CheckpointError, OptionError
from sadtalker.options import GenerateOptions
from tasks.cache import HashedAudio, HashedImage
from tasks.config import (
    IMAGE,
    LIGHT,
    LIGHT_CPUS,
    LIGHT_TIMEOUT,
    RENDER_TIMEOUT,
    RETRIES,
    WEIGHTS_POD_TEMPLATE,
)
from tasks.errors import flyte_errors
from tasks.option_inputs import takes_options
from tasks.types import AudioFile, ImageFile, StageTime


class Ingested(NamedTuple):
    image: HashedImage
    audio: HashedAudio
    options: str
    face_weights: str  # sha256 of the checkpoint files the face stage reads, by content
    weights: str  # sha256 of every checkpoint file the run reads: the later stages' key
    landmarks_sha256: str  # of the given landmarks file's bytes; "" when none is given
    time: StageTime


@task(container_image=IMAGE, pod_template_name=WEIGHTS_POD_TEMPLATE,
      requests=LIGHT, limits=LIGHT, retries=RETRIES,
      timeout=LIGHT_TIMEOUT)
@takes_options(after="landmarks")
def ingest(image: ImageFile, audio: AudioFile, landmarks: FlyteFile | None, checkpoints: str,
           ref_eyeblink: FlyteFile | None, ref_pose: FlyteFile | None, chunks: int,
           min_chunk_frames: int, render_cpu: CpuClass | None, price_per_vcpu_hour: float,
           **options: Any) -> Ingested:
    """Check every input of the workflow (an OptionError is final) and that the checkpoint
    files the run will read are there, then pass the files on, keyed by content, with the
    face stage's weights' fingerprint and the landmarks' hash (its cache keys on those, not on
    paths)."""
    start = time.perf_counter()
    with flyte_errors():
        # `auto` stays undecided: each render pod decides it for the node it lands on
        options = GenerateOptions(**options)
        _, most = RenderCost.chunk_limits(options, RENDER_TIMEOUT.total_seconds(), render_cpu)
        check_fan_out(chunks, min_chunk_frames, options.batch_size, most)
        if price_per_vcpu_hour < 0:
            raise OptionError(f"price_per_vcpu_hour must be >= 0, got {price_per_vcpu_hour}")
        references = ref_eyeblink is not None or ref_pose is not None
        missing = run_checkpoints.missing(options, checkpoints or None,
                                          detect=landmarks is None, references=references)
        if missing:
            raise CheckpointError(
                f"{len(missing)} checkpoint file(s) missing in "
                f"{weights.checkpoint_dir(checkpoints or None)} in this pod: "
                f"{', '.join(missing)}: build the image with the weights baked in "
                f"(BAKE_WEIGHTS=1) or register with the weights volume mounted there (README, "
                f"'Weights in pods')")
        prints = weights.fingerprints({
            "run": run_checkpoints.required_files(options, detect=landmarks is None,
                                                  references=references),
            "face": run_checkpoints.face_files(options.size, detect=landmarks is None),
        }, checkpoints or None)
        marks = file_sha256(landmarks.download()) if landmarks is not None else ""
    return Ingested(image, audio, options.to_json(), prints["face"], prints["run"], marks,
                    StageTime.since("ingest", start, LIGHT_CPUS))
