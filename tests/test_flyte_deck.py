"""The report deck: the video playable at any size, timings and peak memory, cost from
CPU-seconds."""

from __future__ import annotations

import base64
import time
from pathlib import Path

import pytest

from sadtalker.cpu import CpuClass
from sadtalker.options import DEFAULTS
from sadtalker.process_memory import peak_rss_gib
from tasks.deck import (
    MAX_EMBEDDED_BYTES,
    cache_hits,
    cpu_seconds,
    estimated_cost,
    render_cpu_note,
    report_html,
    video_html,
)
from tasks.publish import Published
from tasks.types import ClipInfo, StageTime

RUN = 1_800_000_000.0  # when the run's first stage finished (Unix time)
TIMES = [StageTime("ingest", 2.0, 1.0, 0.31, RUN),
         StageTime("render_chunk[0]", 90.0, 2.0, 2.0, RUN + 100, "avx2", "winograd"),
         StageTime("render_chunk[1]", 81.0, 2.0, 1.96, RUN + 95, "avx512_bf16", "bf16")]
STORED = Published("s3://bucket/data/ab/cd-n0-0/0f1e/talking_head.mp4",
                   "https://bucket.s3.amazonaws.com/data/ab/cd-n0-0/0f1e/talking_head.mp4?X-Amz-"
                   "Signature=0a&X-Amz-Expires=604800")


def test_stages_finished_before_the_run_began_are_cache_hits(tmp_path: Path) -> None:
    reused = StageTime("crop_and_extract", 30.0, 2.0, 1.1, RUN - 3600)  # a day-old result
    times = [TIMES[0], reused, *TIMES[1:]]
    assert cache_hits(times) == [False, True, False, False]
    assert cpu_seconds(times) == cpu_seconds(TIMES)  # reused work costs this run nothing
    video = tmp_path / "v.mp4"
    video.write_bytes(b"x")
    html = report_html(video, STORED, times, ClipInfo(num_frames=50, duration=2.0), 2, 0.04,
                       None, DEFAULTS)
    assert "<td>crop_and_extract</td><td>cache hit</td>" in html


def test_the_run_starts_with_ingest_wherever_it_is_listed() -> None:
    reused = StageTime("crop_and_extract", 30.0, 2.0, 1.1, RUN - 3600)
    assert cache_hits([reused, *TIMES]) == [True, False, False, False]
    with pytest.raises(ValueError, match="exactly one 'ingest' entry"):
        cache_hits(TIMES[1:])


def test_cost_is_requested_cpu_seconds_at_the_price() -> None:
    assert cpu_seconds(TIMES) == 2.0 + 180.0 + 162.0
    assert estimated_cost(TIMES, 0.036) == 344.0 / 3600 * 0.036


def test_small_video_is_embedded(tmp_path: Path) -> None:
    video = tmp_path / "v.mp4"
    video.write_bytes(b"\x00\x00\x00\x18ftypmp42")
    html = video_html(video, STORED)
    assert html.startswith("<video controls")
    assert base64.b64encode(video.read_bytes()).decode() in html
    assert f">{STORED.uri}</a>" in html


def test_large_video_streams_from_the_stored_copy(tmp_path: Path) -> None:
    video = tmp_path / "v.mp4"
    with open(video, "wb") as f:
        f.truncate(MAX_EMBEDDED_BYTES + 1)
    html = video_html(video, STORED)
    link = STORED.link.replace("&", "&amp;")  # as HTML attributes spell it
    assert f'<video controls width="512" src="{link}"></video>' in html
    assert f'<a href="{link}">{STORED.uri}</a> (8.0 MiB)' in html
    assert "base64" not in html


def test_report_lists_stages_frames_and_chunks(tmp_path: Path) -> None:
    video = tmp_path / "v.mp4"
    video.write_bytes(b"x")
    html = report_html(video, STORED, TIMES, ClipInfo(num_frames=50, duration=2.0), 2, 0.04,
                       None, DEFAULTS)
    assert "<td>ingest</td><td>2.0</td><td>1</td><td>0.31</td><td></td>" in html
    # each render pod's node: a cluster may mix CPU classes
    assert "<td>render_chunk[0]</td><td>90.0</td><td>2</td><td>2.00</td><td>avx2, winograd" in html
    assert "render_chunk[1]</td><td>81.0</td><td>2</td><td>1.96</td><td>avx512_bf16, bf16" in html
    assert "50 frames (2.00 s of speech), 2 render chunk(s)" in html
    assert "344 CPU-seconds; estimated cost 0.0038" in html


def render_pods(*node_cpus: str, finished_at: float = RUN + 100) -> list[StageTime]:
    return [StageTime(f"render_chunk[{i}]", 90.0, 2.0, 2.0, finished_at, cpu, "fp32")
            for i, cpu in enumerate(node_cpus)]


def test_render_pods_on_other_nodes_than_declared_are_counted() -> None:
    times = [TIMES[0], *render_pods("avx2", "avx512_bf16", "avx512", "avx512_bf16")]
    assert render_cpu_note(times, CpuClass.AVX2, DEFAULTS) == (
        "<p>render_cpu is avx2, but 3 of 4 render pods ran on avx512 and avx512_bf16 nodes: "
        "their chunks were sized for avx2. Set render_cpu to your render nodes' class, or "
        "leave it empty where they differ; to place render pods on one class, register with "
        "SADTALKER_RENDER_POD_TEMPLATE (README, Render nodes).</p>")
    assert render_cpu_note([TIMES[0], *render_pods("avx2", "avx2")], CpuClass.AVX2,
                           DEFAULTS) == ""


def test_undeclared_render_nodes_of_one_slower_class_get_a_hint() -> None:
    note = render_cpu_note([TIMES[0], *render_pods("avx2", "avx2", "avx2")], None, DEFAULTS)
    assert note.startswith("<p>All 3 render pods ran on avx2 nodes, and render_cpu is empty")
    assert "render_cpu avx2 sizes them for that class" in note
    fastest = render_pods("avx512_bf16", "avx512_bf16")  # planned for it already
    assert render_cpu_note([TIMES[0], *fastest], None, DEFAULTS) == ""
    assert render_cpu_note([TIMES[0], *render_pods("avx2", "avx512")], None, DEFAULTS) == ""


def test_cached_chunks_say_nothing_of_this_runs_nodes() -> None:
    earlier = render_pods("avx512_bf16", "avx512_bf16", finished_at=RUN - 3600)
    assert render_cpu_note([TIMES[0], *earlier, *render_pods("avx2")], CpuClass.AVX2,
                           DEFAULTS) == ""


def test_the_report_carries_the_note(tmp_path: Path) -> None:
    video = tmp_path / "v.mp4"
    video.write_bytes(b"x")
    info = ClipInfo(num_frames=50, duration=2.0)
    assert "render_cpu is avx2, but 1 of 2" in report_html(video, STORED, TIMES, info, 2, 0.04,
                                                           CpuClass.AVX2, DEFAULTS)
    assert "render_cpu is" not in report_html(video, STORED, TIMES, info, 2, 0.04, None,
                                              DEFAULTS)


def test_stage_time_records_the_process_peak_memory() -> None:
    start = time.perf_counter()
    stage = StageTime.since("stitch", start, 1.0)
    assert stage.seconds >= 0 and stage.cpus == 1.0
    assert 0 < stage.peak_rss_gib <= peak_rss_gib() + 0.01
