import math
from itertools import pairwise

import pytest

from sadtalker.chunks import MAX_CHUNK_FRAMES, Chunk, plan_chunks
from sadtalker.errors import OptionError
from sadtalker.options import MAX_BATCH_SIZE


@pytest.mark.parametrize("frames", [1, 2, 3, 10, 11, 50, 251, 1500])
@pytest.mark.parametrize("batch", [1, 2, 5])
@pytest.mark.parametrize("max_chunks", [1, 3, 8, 32])
def test_chunks_cover_frames_in_order_with_batch_aligned_starts(frames, batch, max_chunks):
    chunks = plan_chunks(frames, batch, max_chunks)
    needed = math.ceil(frames / (MAX_CHUNK_FRAMES - batch + 1))
    assert 1 <= len(chunks) <= max_chunks * math.ceil(needed / max_chunks)  # whole waves
    assert max(c.num_frames for c in chunks) <= MAX_CHUNK_FRAMES
    assert chunks[0].start == 0 and chunks[-1].stop == frames
    for index, (a, b) in enumerate(pairwise(chunks)):
        assert a.index == index and a.stop == b.start
    assert all(c.start % batch == 0 and c.num_frames > 0 for c in chunks)


def test_sizes_are_balanced():
    sizes = [c.num_frames for c in plan_chunks(50, 2, 5)]
    assert sizes == [10, 10, 10, 10, 10]


def test_min_chunk_frames_limits_the_fan_out():
    assert plan_chunks(20, 1, 8, min_chunk_frames=10) == [Chunk(0, 0, 10), Chunk(1, 10, 20)]


def test_no_frames_is_an_error():
    with pytest.raises(OptionError):
        plan_chunks(0, 2, 4)


def test_long_clips_get_more_chunks_than_asked_none_over_the_guard():
    # 10 min of speech at 25 fps, batch 5: at most 60 frames (12 batches) a chunk
    chunks = plan_chunks(15_000, 5, 4)
    assert len(chunks) == 250
    assert {c.num_frames for c in chunks} == {60}
    assert chunks[-1].stop == 15_000


def test_the_guard_balances_chunks_and_wins_over_min_chunk_frames():
    sizes = [c.num_frames for c in plan_chunks(130, 2, 1, min_chunk_frames=100)]
    assert sizes == [44, 44, 42]  # 3 chunks of <= 64, not 64 + 64 + 2
    assert [c.num_frames for c in plan_chunks(20, 2, 1, max_chunk_frames=8)] == [8, 8, 4]


def test_every_batch_size_fits_the_guard():
    assert MAX_CHUNK_FRAMES >= MAX_BATCH_SIZE
    assert [c.num_frames for c in plan_chunks(130, MAX_BATCH_SIZE, 1)] == [64, 64, 2]
    with pytest.raises(OptionError, match="cannot hold one batch of 8"):
        plan_chunks(20, 8, 1, max_chunk_frames=6)


def test_a_forced_split_comes_in_whole_waves_of_pods():
    chunks = plan_chunks(1500, 2, 8, max_chunk_frames=165)  # 10 chunks would be needed
    assert len(chunks) == 16 and {c.num_frames for c in chunks[:-1]} == {94}
