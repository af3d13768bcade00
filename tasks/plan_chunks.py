"""The render fan-out: frames split into chunk descriptors, one map element each."""

from __future__ import annotations

from flytekit import task

from sadtalker import chunks as chunking
from sadtalker.chunks import Chunk
from sadtalker.cost import RenderCost
from sadtalker.cpu import CpuClass
from sadtalker.options import GenerateOptions
from tasks.config import IMAGE, LIGHT, LIGHT_TIMEOUT, RENDER_TIMEOUT, RETRIES
from tasks.errors import flyte_errors
from tasks.types import ClipInfo


@task(container_image=IMAGE, requests=LIGHT, limits=LIGHT, retries=RETRIES,
      timeout=LIGHT_TIMEOUT)
def plan_chunks(info: ClipInfo, options: str, chunks: int, min_chunk_frames: int,
                render_cpu: CpuClass | None) -> list[Chunk]:
    """`chunks` nearly equal chunks, fewer when short, more when long. The frame limits come
    from the measured cost of these options (sadtalker.cost): no chunk so short that a pod's
    fixed cost dominates on `render_cpu` nodes (any class when None; `min_chunk_frames` > 0
    overrides), none so long that it risks the render timeout, wherever the pod runs."""
    with flyte_errors():
        opts = GenerateOptions.from_json(options)
        fewest, most = RenderCost.chunk_limits(opts, RENDER_TIMEOUT.total_seconds(), render_cpu)
        return chunking.plan_chunks(info.num_frames, opts.batch_size, chunks,
                                    min_chunk_frames or fewest, most)
