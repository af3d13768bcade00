"""The workflow's first task: validate the options and fingerprint the input files.

Flyte caches on input literals, and a file's literal is its URI. Returning the portrait and the
speech annotated with a hash of their bytes makes every cached task downstream key on content:
the same audio at another path hits `audio_to_mel`'s cache. The options are validated once,
here, so a bad value (or a missing checkpoint) fails fast, before any heavy stage; later tasks
get them as JSON text (small, readable in the console, part of their cache keys). The checkpoint
files are fingerprinted by content too: cached tasks that read models take the fingerprint as an
input, so new weights miss their cache even in the same directory.
"""

from __future__ import annotations

import json
import time
from typing import NamedTuple

from flytekit import task
from flytekit.types.file import FlyteFile

from sadtalker import pipeline, weights
from sadtalker.options import Enhancer, GenerateOptions, Precision, Preprocess
from tasks.cache import HashedAudio, HashedImage, file_sha256
from tasks.config import IMAGE, LIGHT, LIGHT_CPUS, LIGHT_TIMEOUT, RETRIES
from tasks.errors import flyte_errors
from tasks.types import AudioFile, ImageFile, StageTime


def options_from_json(text: str) -> GenerateOptions:
    """The options that `ingest` validated."""
    return GenerateOptions(**json.loads(text))


class Ingested(NamedTuple):
    image: HashedImage
    audio: HashedAudio
    options: str
    weights_fingerprint: str  # sha256 of the checkpoint files the run reads, by content
    landmarks_sha256: str  # of the given landmarks file's bytes; "" when none is given
    time: StageTime


@task(container_image=IMAGE, requests=LIGHT, limits=LIGHT, retries=RETRIES,
      timeout=LIGHT_TIMEOUT)
def ingest(image: ImageFile, audio: AudioFile, landmarks: FlyteFile | None, checkpoints: str,
           preprocess: Preprocess, size: int, still: bool,
           enhancer: Enhancer, pose_style: int, expression_scale: float,
           input_yaw: list[float] | None, input_pitch: list[float] | None,
           input_roll: list[float] | None, seed: int, batch_size: int, precision: Precision,
           max_audio_seconds: float) -> Ingested:
    """Check the options (an OptionError is final) and that the checkpoint files the run will
    read are there, then pass the files on, keyed by content, with the weights' fingerprint
    and the landmarks' hash (the face stage's cache keys on those, not on paths)."""
    start = time.perf_counter()
    with flyte_errors():
        options = GenerateOptions(preprocess, size, still, enhancer, pose_style,
                                  expression_scale, input_yaw, input_pitch, input_roll, seed,
                                  batch_size, precision, max_audio_seconds,
                                  ).with_resolved_precision()
        names = pipeline.required_files(options, detect=landmarks is None)
        pipeline.check_checkpoints(options, checkpoints or None, detect=landmarks is None)
        fingerprint = weights.fingerprint(names, checkpoints or None)
        marks = file_sha256(landmarks.download()) if landmarks is not None else ""
    text = json.dumps(options.to_dict(), sort_keys=True)
    return Ingested(image, audio, text, fingerprint, marks,
                    StageTime.since("ingest", start, LIGHT_CPUS))
