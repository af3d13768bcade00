"""Chunk sizing and fan-out prediction from the measured render costs."""

from __future__ import annotations

import re

import pytest

from sadtalker import cost
from sadtalker.chunks import Chunk, plan_chunks
from sadtalker.cost import MAX_OVERHEAD, TIMEOUT_SHARE, RenderCost
from sadtalker.cpu import CpuClass
from sadtalker.errors import OptionError
from sadtalker.options import GenerateOptions, Precision

HOUR = 3600.0


def frame(cpu: CpuClass, **kwargs) -> float:
    return RenderCost.estimate(GenerateOptions(**kwargs), cpu).frame_seconds


def test_options_that_cost_more_per_frame_estimate_more():
    bf16 = CpuClass.AVX512_BF16
    assert frame(bf16, precision="bf16") < frame(bf16, precision="fp32")
    assert frame(bf16, precision="bf16", size=512) > 3 * frame(bf16, precision="bf16")
    # the enhancer's figure on top of the renderer's, GFPGAN in the precision the renderer runs
    for precision in ("bf16", "fp32"):
        assert frame(bf16, precision=precision, enhancer="gfpgan") == pytest.approx(
            frame(bf16, precision=precision)
            + cost.ENHANCE_SECONDS[bf16, Precision(precision)].value)
    assert (frame(bf16, precision="fp32", enhancer="gfpgan") - frame(bf16, precision="fp32")
            > frame(bf16, precision="bf16", enhancer="gfpgan") - frame(bf16, precision="bf16"))


def test_every_figure_states_machine_date_and_command():
    rows = [*cost.RENDER_SECONDS.values(), *cost.ENHANCE_SECONDS.values(),
            *cost.LOAD_SECONDS.values(), cost.SERIAL_WORK]
    for row in rows:
        assert row.value > 0 and row.machine and "bench/" in row.command
        assert re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", row.date), row


@pytest.mark.parametrize("cpu", list(CpuClass))
def test_every_class_has_figures_for_every_option_it_runs(cpu):
    for size in (256, 512):
        for enhancer in ("none", "gfpgan"):
            for precision in (p for p in Precision if p.runs_on(cpu)):  # auto: what it runs
                assert frame(cpu, size=size, enhancer=enhancer, precision=precision) > 0
    assert frame(CpuClass.AVX2, precision="fp32") > frame(CpuClass.AVX512_BF16, precision="fp32")
    assert frame(CpuClass.AVX2, precision="winograd") < frame(CpuClass.AVX2, precision="fp32")
    assert frame(CpuClass.AVX2) == frame(CpuClass.AVX2, precision="winograd")
    with pytest.raises(OptionError, match="bf16"):
        frame(CpuClass.AVX2, precision="bf16")


def test_chunk_limits_hold_on_the_fastest_and_the_slowest_class():
    options = GenerateOptions(size=512, enhancer="gfpgan", precision="fp32")
    fewest, most = RenderCost.chunk_limits(options, HOUR)
    for cpu in CpuClass:
        cost = RenderCost.estimate(options, cpu)
        assert cost.chunk_seconds_total(Chunk(0, 0, most)) <= TIMEOUT_SHARE * HOUR
        assert cost.chunk_seconds <= MAX_OVERHEAD * fewest * cost.frame_seconds + 1e-9
    bf16 = GenerateOptions(precision="bf16")  # only bf16 nodes run it: their limits alone
    assert RenderCost.chunk_limits(bf16, HOUR) == RenderCost.estimate(
        bf16, CpuClass.AVX512_BF16).chunk_frame_limits(HOUR)


def test_declared_render_nodes_set_the_fewest_frames_and_never_the_most():
    options = GenerateOptions()  # auto: each class its own precision
    _, most_anywhere = RenderCost.chunk_limits(options, HOUR)
    for cpu in CpuClass:
        fewest, most = RenderCost.chunk_limits(options, HOUR, cpu)
        assert most == most_anywhere  # a wrong declaration cannot make a chunk time out
        cost = RenderCost.estimate(options, cpu)
        assert fewest == cost.chunk_frame_limits(HOUR)[0]
        assert cost.chunk_seconds <= MAX_OVERHEAD * fewest * cost.frame_seconds
    # AVX2's slower frames repay a pod's start sooner: a 10 s clip splits wider there
    assert (len(plan_chunks(250, 2, 8, *RenderCost.chunk_limits(options, HOUR, CpuClass.AVX2)))
            > len(plan_chunks(250, 2, 8, *RenderCost.chunk_limits(options, HOUR))))


def test_bf16_on_render_nodes_declared_without_it_is_refused():
    with pytest.raises(OptionError, match=r"^precision bf16 needs render nodes with native "
                       r"bfloat16 .* they are avx2 class: use precision auto, winograd or fp32, "
                       r"or leave render_cpu empty$"):
        RenderCost.chunk_limits(GenerateOptions(precision="bf16"), HOUR, CpuClass.AVX2)


def test_chunk_limits_bound_the_overhead_and_the_timeout():
    cost = RenderCost(frame_seconds=2.0, chunk_seconds=30.0)
    fewest, most = cost.chunk_frame_limits(HOUR)
    assert fewest == 75  # 30 s of fixed cost is 20 % of 75 frames x 2 s
    assert cost.chunk_seconds <= MAX_OVERHEAD * fewest * cost.frame_seconds
    assert cost.chunk_seconds_total(Chunk(0, 0, most)) <= TIMEOUT_SHARE * HOUR
    assert cost.chunk_seconds_total(Chunk(0, 0, most + 1)) > TIMEOUT_SHARE * HOUR


def test_slow_options_lower_both_limits_and_a_frame_must_fit():
    fewest, most = RenderCost(frame_seconds=100.0, chunk_seconds=30.0).chunk_frame_limits(HOUR)
    assert (fewest, most) == (2, 17)
    with pytest.raises(ValueError, match="does not fit"):
        RenderCost(frame_seconds=2000.0, chunk_seconds=30.0).chunk_frame_limits(HOUR)


def test_wall_time_schedules_chunks_on_the_first_free_pod():
    cost = RenderCost(frame_seconds=1.0, chunk_seconds=10.0)
    chunks = [Chunk(i, 10 * i, 10 * i + 10) for i in range(3)]  # 20 s each
    assert cost.wall_seconds(chunks, pods=1) == 60.0
    assert cost.wall_seconds(chunks, pods=2) == 40.0
    assert cost.wall_seconds(chunks, pods=32) == 20.0
    assert cost.cpu_seconds(chunks) == 2 * 60.0  # billed per vCPU, whatever the pods


def test_a_short_clip_is_not_spread_over_every_pod():
    cost = RenderCost(frame_seconds=1.7, chunk_seconds=32.0)
    fewest, most = cost.chunk_frame_limits(HOUR)
    chunks = plan_chunks(250, 2, 32, fewest, most)  # 10 s: 32 pods would idle on start-up
    assert 1 < len(chunks) < 32
    assert min(c.num_frames for c in chunks) >= fewest - 2  # batch-aligned split
