"""Splitting a clip's frames into render chunks: the unit of fan-out across pods."""

from __future__ import annotations

import math
from dataclasses import dataclass

from sadtalker.errors import OptionError
from sadtalker.options import MAX_BATCH_SIZE

# The most frames one chunk holds when the caller gives no bound: the largest batch, so that
# every batch fits in a chunk. The workflow gives the bound that keeps a chunk inside the render
# task's timeout on any CPU class (sadtalker.cost.RenderCost.chunk_limits).
MAX_CHUNK_FRAMES = MAX_BATCH_SIZE


@dataclass(frozen=True)
class Chunk:
    """Frames [start, stop) of the clip, rendered by one map-task element."""

    index: int
    start: int
    stop: int

    @property
    def num_frames(self) -> int:
        return self.stop - self.start


def check_fan_out(max_chunks: int, min_chunk_frames: int, batch_size: int,
                  max_chunk_frames: int = MAX_CHUNK_FRAMES) -> None:
    """Refuse a chunking request no clip can satisfy, before any frame is computed."""
    if max_chunks < 1:
        raise OptionError(f"chunks must be >= 1, got {max_chunks}")
    if min_chunk_frames < 0:
        raise OptionError(f"min_chunk_frames must be >= 0 (0: from the measured cost), got "
                          f"{min_chunk_frames}")
    if max_chunk_frames < batch_size:
        raise OptionError(f"a chunk of at most {max_chunk_frames} frames cannot hold one "
                          f"batch of {batch_size}: lower the batch size")


def plan_chunks(num_frames: int, batch_size: int, max_chunks: int,
                min_chunk_frames: int = 1,
                max_chunk_frames: int = MAX_CHUNK_FRAMES) -> list[Chunk]:
    """Split frames into nearly equal chunks: `max_chunks` of them, fewer for short clips,
    more for long ones.

    Chunk starts are multiples of `batch_size`: the renderer always runs full batches, so a
    frame's pixels do not depend on how the clip was split. Chunks smaller than
    `min_chunk_frames` are not worth a pod's fixed start-up cost, so fewer chunks are made.
    No chunk holds more than `max_chunk_frames` frames (a chunk must finish before the render
    task's timeout), so a long clip gets more than `max_chunks` chunks, in whole multiples of
    it (waves of equal chunks): `max_chunks` is then the least parallelism, and the guard wins
    over `min_chunk_frames`.
    """
    if num_frames < 1:
        raise OptionError(f"cannot plan chunks for {num_frames} frames")
    if batch_size < 1:
        raise OptionError(f"batch_size must be >= 1, got {batch_size}")
    check_fan_out(max_chunks, min_chunk_frames, batch_size, max_chunk_frames)
    batches = math.ceil(num_frames / batch_size)
    by_size = max(1, num_frames // max(1, min_chunk_frames))
    count = min(max_chunks, batches, by_size)
    needed = math.ceil(batches / (max_chunk_frames // batch_size))  # the guard
    if needed > count:  # whole waves of `max_chunks` pods, so the last wave is not a straggler
        count = math.ceil(needed / max_chunks) * max_chunks
    per_chunk = math.ceil(batches / count)  # batches per chunk
    chunks = []
    for index, first_batch in enumerate(range(0, batches, per_chunk)):
        start = first_batch * batch_size
        stop = min(num_frames, (first_batch + per_chunk) * batch_size)
        chunks.append(Chunk(index, start, stop))
    return chunks
