"""One map element: render a chunk's frames (paste-back and enhancement included)."""

from __future__ import annotations

import functools
import time
from pathlib import Path

from flytekit import Cache, current_context, task

from sadtalker import pipeline
from sadtalker.chunks import Chunk
from sadtalker.cpu import cpu_class
from sadtalker.face.prepared import PreparedFace
from sadtalker.npz import load_coefficients
from sadtalker.options import GenerateOptions
from sadtalker.progress_log import ProgressLog
from tasks.cache import PIPELINE_CACHE_VERSION
from tasks.config import (
    IMAGE,
    RENDER,
    RENDER_CPUS,
    RENDER_POD_TEMPLATE,
    RENDER_RETRIES,
    RENDER_TIMEOUT,
    THREADS,
)
from tasks.errors import flyte_errors
from tasks.types import ImageFile, NpzFile, RenderedChunk, SegmentFile, StageTime
from tasks.workdir import output_path


@functools.lru_cache(maxsize=1)
def load_renderer(image: str, face: str, options: str, checkpoints: str) -> pipeline.ChunkRenderer:
    """The networks and source state, loaded once per process: on a cluster each element is
    its own pod, but a local run maps elements in one process, one after another."""
    return pipeline.ChunkRenderer.load(Path(image), PreparedFace.load(Path(face)),
                                       GenerateOptions.from_json(options), checkpoints or None)


@task(container_image=IMAGE, pod_template_name=RENDER_POD_TEMPLATE,
      requests=RENDER, limits=RENDER, retries=RENDER_RETRIES,
      timeout=RENDER_TIMEOUT, environment=THREADS, interruptible=True,
      cache=Cache(version=PIPELINE_CACHE_VERSION, ignored_inputs=("checkpoints",)))
def render_chunk(chunk: Chunk, image: ImageFile, face: NpzFile, coeffs: NpzFile, options: str,
                 checkpoints: str, weights: str) -> RenderedChunk:
    """Frames [chunk.start, chunk.stop) as a segment in the final codec; the whole coefficient
    array is read because each frame looks at a window of its neighbours. Cached per chunk:
    `weights` (unused here) keys it on the checkpoint files' content."""
    start = time.perf_counter()
    stage, log = f"render_chunk[{chunk.index}]", current_context().logging
    with flyte_errors():
        context = load_renderer(image.download(), face.download(), options, checkpoints)
        node_cpu, precision = cpu_class().value, context.renderer.precision.value
        log.info("%s: ready after %.0f s (%s, %s); rendering frames [%d, %d)", stage,
                 time.perf_counter() - start, node_cpu, precision, chunk.start, chunk.stop)
        segment = pipeline.render_segment(context, load_coefficients(coeffs.download()), chunk,
                                          output_path(f"segment-{chunk.index:05d}.mp4"),
                                          ProgressLog(stage, chunk.num_frames, log))
    return RenderedChunk(SegmentFile(str(segment)), StageTime.since(stage, start, RENDER_CPUS,
                                                                    node_cpu, precision))
