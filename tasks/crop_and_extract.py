"""Portrait to the renderer's source: landmarks, crop, 3DMM coefficients; cached on content.

The cache key holds exactly what the stage reads: the image's bytes, the landmarks' bytes, the
preprocess mode, the size and the fingerprint of the checkpoint files it loads (not their
directory: the same weights elsewhere hit, other weights miss). No other option is an input,
so a run that changes only, say, the seed or the enhancer reuses the face. Identical face tasks
running at once (a batch of clips of one portrait) are serialised: one computes, the others hit.
"""

from __future__ import annotations

import time
from typing import NamedTuple

from flytekit import Cache, task
from flytekit.types.file import FlyteFile

from sadtalker.face.prepare import prepare_face
from sadtalker.options import Preprocess, Size
from tasks.cache import FACE_CACHE_VERSION
from tasks.config import FACE, FACE_CPUS, FACE_TIMEOUT, IMAGE, RETRIES, WEIGHTS_POD_TEMPLATE
from tasks.errors import flyte_errors
from tasks.types import ImageFile, NpzFile, StageTime
from tasks.workdir import output_path


class Face(NamedTuple):
    face: NpzFile
    time: StageTime


@task(container_image=IMAGE, pod_template_name=WEIGHTS_POD_TEMPLATE,
      requests=FACE, limits=FACE, retries=RETRIES, timeout=FACE_TIMEOUT,
      cache=Cache(version=FACE_CACHE_VERSION, serialize=True,
                  ignored_inputs=("checkpoints", "landmarks")))
def crop_and_extract(image: ImageFile, landmarks: FlyteFile | None, landmarks_sha256: str,
                     preprocess: Preprocess, size: Size, checkpoints: str,
                     face_weights: str) -> Face:
    """Find (or take) the 68 landmarks, crop per the preprocess mode, regress the 3DMM.
    `face_weights` and `landmarks_sha256` (from ingest) are unused here: they key the cache on
    the weights' and the landmarks' content instead of their paths."""
    start = time.perf_counter()
    with flyte_errors():
        marks = landmarks.download() if landmarks is not None else None
        face = prepare_face(image.download(), preprocess, size.pixels, checkpoints or None,
                            marks)
        path = face.save(output_path("face.npz"))
    return Face(NpzFile(str(path)), StageTime.since("crop_and_extract", start, FACE_CPUS))
