"""The render fan-out: frames split into chunk descriptors, one map element each."""

from __future__ import annotations

from flytekit import task

from sadtalker import chunks as chunking
from sadtalker.chunks import Chunk
from tasks.config import IMAGE, LIGHT, LIGHT_TIMEOUT, RETRIES
from tasks.errors import flyte_errors
from tasks.ingest import options_from_json
from tasks.types import ClipInfo


@task(container_image=IMAGE, requests=LIGHT, limits=LIGHT, retries=RETRIES,
      timeout=LIGHT_TIMEOUT)
def plan_chunks(info: ClipInfo, options: str, chunks: int, min_chunk_frames: int) -> list[Chunk]:
    """`chunks` nearly equal chunks (fewer when short: none under `min_chunk_frames` frames;
    more when long: none over `sadtalker.chunks.MAX_CHUNK_FRAMES`, to beat the timeout)."""
    with flyte_errors():
        batch_size = options_from_json(options).batch_size
        return chunking.plan_chunks(info.num_frames, batch_size, chunks, min_chunk_frames)
