from itertools import pairwise

import pytest

from sadtalker.chunks import Chunk, plan_chunks
from sadtalker.errors import OptionError


@pytest.mark.parametrize("frames", [1, 2, 3, 10, 11, 50, 251, 1500])
@pytest.mark.parametrize("batch", [1, 2, 5])
@pytest.mark.parametrize("max_chunks", [1, 3, 8, 32])
def test_chunks_cover_frames_in_order_with_batch_aligned_starts(frames, batch, max_chunks):
    chunks = plan_chunks(frames, batch, max_chunks)
    assert 1 <= len(chunks) <= max_chunks
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
