"""Mel windows + source face to per-frame expression and head-pose coefficients."""

from __future__ import annotations

import time
from pathlib import Path
from typing import NamedTuple

from flytekit import Cache, task
from flytekit.types.file import FlyteFile

from sadtalker import pipeline
from sadtalker.audio import AudioFeatures
from sadtalker.face.prepared import PreparedFace
from sadtalker.npz import save_coefficients
from sadtalker.options import GenerateOptions
from tasks.cache import PIPELINE_CACHE_VERSION
from tasks.config import FACE, FACE_CPUS, FACE_TIMEOUT, IMAGE, RETRIES, WEIGHTS_POD_TEMPLATE
from tasks.errors import flyte_errors
from tasks.types import NpzFile, StageTime
from tasks.workdir import output_path


class Coeffs(NamedTuple):
    coeffs: NpzFile
    time: StageTime


@task(container_image=IMAGE, pod_template_name=WEIGHTS_POD_TEMPLATE,
      requests=FACE, limits=FACE, retries=RETRIES, timeout=FACE_TIMEOUT,
      cache=Cache(version=PIPELINE_CACHE_VERSION, ignored_inputs=("checkpoints",)))
def audio_to_coeffs(mel: NpzFile, face: NpzFile, options: str, checkpoints: str,
                    weights: str, ref_eyeblink: FlyteFile | None,
                    ref_pose: FlyteFile | None) -> Coeffs:
    """Run the audio-to-expression and audio-to-pose networks (seeded by the options); blinks
    and head motion from the reference videos where given. Cached: `weights` (from ingest,
    unused here) keys it on the checkpoint files' content instead of their directory."""
    start = time.perf_counter()
    with flyte_errors():
        coeffs = pipeline.make_coefficients(
            AudioFeatures.load(mel.download()), PreparedFace.load(face.download()),
            GenerateOptions.from_json(options), checkpoints or None,
            Path(ref_eyeblink.download()) if ref_eyeblink is not None else None,
            Path(ref_pose.download()) if ref_pose is not None else None)
        path = save_coefficients(output_path("coeffs.npz"), coeffs)
    return Coeffs(NpzFile(str(path)), StageTime.since("audio_to_coeffs", start, FACE_CPUS))
