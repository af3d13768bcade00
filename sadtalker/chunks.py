"""Splitting a clip's frames into render chunks: the unit of fan-out across pods."""

from __future__ import annotations

import math
from dataclasses import dataclass

from sadtalker.errors import OptionError


@dataclass(frozen=True)
class Chunk:
    """Frames [start, stop) of the clip, rendered by one map-task element."""

    index: int
    start: int
    stop: int

    @property
    def num_frames(self) -> int:
        return self.stop - self.start


def plan_chunks(num_frames: int, batch_size: int, max_chunks: int,
                min_chunk_frames: int = 1) -> list[Chunk]:
    """Split frames into at most `max_chunks` nearly equal chunks.

    Chunk starts are multiples of `batch_size`: the renderer always runs full batches, so a
    frame's pixels do not depend on how the clip was split. Chunks smaller than
    `min_chunk_frames` are not worth a pod's fixed start-up cost, so fewer chunks are made.
    """
    if num_frames < 1:
        raise OptionError(f"cannot plan chunks for {num_frames} frames")
    if max_chunks < 1 or batch_size < 1 or min_chunk_frames < 1:
        raise OptionError("max_chunks, batch_size and min_chunk_frames must be >= 1")
    batches = math.ceil(num_frames / batch_size)
    by_size = max(1, num_frames // min_chunk_frames)
    count = min(max_chunks, batches, by_size)
    per_chunk = math.ceil(batches / count)  # batches per chunk
    chunks = []
    for index, first_batch in enumerate(range(0, batches, per_chunk)):
        start = first_batch * batch_size
        stop = min(num_frames, (first_batch + per_chunk) * batch_size)
        chunks.append(Chunk(index, start, stop))
    return chunks
