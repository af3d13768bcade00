"""Portrait to the renderer's source: landmarks, crop, 3DMM coefficients; cached on content.

The cache key holds the image's bytes, the options and the checkpoint files' fingerprint, not
the checkpoint directory's name: the same weights elsewhere hit, other weights miss.
"""

from __future__ import annotations

import time
from typing import NamedTuple

from flytekit import Cache, task
from flytekit.types.file import FlyteFile

from sadtalker import pipeline
from tasks.cache import FACE_CACHE_VERSION
from tasks.config import FACE, FACE_CPUS, FACE_TIMEOUT, IMAGE, RETRIES
from tasks.errors import flyte_errors
from tasks.ingest import options_from_json
from tasks.types import ImageFile, NpzFile, StageTime
from tasks.workdir import output_path


class Face(NamedTuple):
    face: NpzFile
    time: StageTime


@task(container_image=IMAGE, requests=FACE, limits=FACE, retries=RETRIES, timeout=FACE_TIMEOUT,
      cache=Cache(version=FACE_CACHE_VERSION, ignored_inputs=("checkpoints", "landmarks")))
def crop_and_extract(image: ImageFile, landmarks: FlyteFile | None, options: str,
                     checkpoints: str, weights_fingerprint: str, landmarks_sha256: str) -> Face:
    """Find (or take) the 68 landmarks, crop per the preprocess mode, regress the 3DMM.
    `weights_fingerprint` and `landmarks_sha256` (from ingest) are unused here: they key the
    cache on the weights' and the landmarks' content instead of the paths."""
    start = time.perf_counter()
    with flyte_errors():
        marks = landmarks.download() if landmarks is not None else None
        face = pipeline.prepare_face(image.download(), options_from_json(options),
                                     checkpoints or None, marks)
        path = face.save(output_path("face.npz"))
    return Face(NpzFile(str(path)), StageTime.since("crop_and_extract", start, FACE_CPUS))
