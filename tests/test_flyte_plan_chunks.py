"""`plan_chunks` sizes the render chunks for the CPU class the render nodes are declared to be."""

from __future__ import annotations

from sadtalker.chunks import Chunk
from sadtalker.cpu import CpuClass
from sadtalker.options import GenerateOptions
from tasks.plan_chunks import plan_chunks
from tasks.types import ClipInfo

CLIP = ClipInfo(num_frames=250, duration=10.0)


def planned(render_cpu: CpuClass | None, min_chunk_frames: int = 0) -> list[Chunk]:
    return plan_chunks(info=CLIP, options=GenerateOptions(still=True).to_json(), chunks=8,
                       min_chunk_frames=min_chunk_frames, render_cpu=render_cpu)


def test_declared_avx2_render_nodes_split_a_clip_wider_than_any_class() -> None:
    anywhere, on_avx2 = planned(None), planned(CpuClass.AVX2)
    assert 1 < len(anywhere) < len(on_avx2) <= 8
    for chunks in (anywhere, on_avx2):  # every frame once, in order
        assert (chunks[0].start, chunks[-1].stop) == (0, CLIP.num_frames)
        assert [c.start for c in chunks[1:]] == [c.stop for c in chunks[:-1]]
    assert planned(CpuClass.AVX512_BF16) == anywhere  # the fastest class is what any plans for


def test_min_chunk_frames_overrides_the_declared_class() -> None:
    assert planned(CpuClass.AVX2, min_chunk_frames=125) == planned(None, min_chunk_frames=125)
