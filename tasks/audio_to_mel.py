"""Speech to per-frame mel windows, cached on the audio's bytes and the front end's code."""

from __future__ import annotations

import time
from typing import NamedTuple

from flytekit import Cache, task

from sadtalker.audio import SAMPLE_RATE, AudioFeatures
from tasks.cache import AUDIO_CACHE_VERSION
from tasks.config import IMAGE, LIGHT, LIGHT_CPUS, LIGHT_TIMEOUT, RETRIES
from tasks.errors import flyte_errors
from tasks.types import AudioFile, ClipInfo, NpzFile, StageTime
from tasks.workdir import output_path


class Mel(NamedTuple):
    mel: NpzFile
    info: ClipInfo
    time: StageTime


@task(container_image=IMAGE, requests=LIGHT, limits=LIGHT, retries=RETRIES,
      timeout=LIGHT_TIMEOUT, cache=Cache(version=AUDIO_CACHE_VERSION))
def audio_to_mel(audio: AudioFile, max_seconds: float) -> Mel:
    """Decode the speech to 16 kHz and compute one 80x16 mel window per 25 fps frame."""
    start = time.perf_counter()
    with flyte_errors():
        features = AudioFeatures.from_file(audio.download(), max_seconds)
        path = features.save(output_path("mel.npz"))
    info = ClipInfo(features.num_frames, features.num_samples / SAMPLE_RATE)
    return Mel(NpzFile(str(path)), info, StageTime.since("audio_to_mel", start, LIGHT_CPUS))
