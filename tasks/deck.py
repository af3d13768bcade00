"""The run report shown as a Flyte Deck: the video, where it is stored, per-stage wall time
and peak memory, frames, chunks, cost."""

from __future__ import annotations

import base64
import html
from pathlib import Path

from sadtalker.cost import RenderCost
from sadtalker.cpu import CpuClass
from sadtalker.options import GenerateOptions
from tasks.config import RENDER_TIMEOUT
from tasks.publish import Published
from tasks.types import ClipInfo, StageTime

SECONDS_PER_HOUR = 3600.0
MAX_EMBEDDED_BYTES = 8 << 20  # the deck is one HTML file the browser downloads whole


RUN_START_STAGE = "ingest"  # never cached: it runs in every run, first, so it starts the run


def cache_hits(times: list[StageTime]) -> list[bool]:
    """Which stages this run took from the cache: those that finished before it began (when
    its `ingest` started)."""
    starts = [t.finished_at - t.seconds for t in times if t.stage == RUN_START_STAGE]
    if len(starts) != 1:
        raise ValueError(f"the stage times need exactly one {RUN_START_STAGE!r} entry to tell "
                         f"cache hits, got stages {[t.stage for t in times]}")
    return [t.finished_at < starts[0] for t in times]


def cpu_seconds(times: list[StageTime]) -> float:
    """CPU-seconds this run's pods requested over their wall times (cache hits cost none)."""
    return sum(t.seconds * t.cpus for t, hit in zip(times, cache_hits(times)) if not hit)


def estimated_cost(times: list[StageTime], price_per_vcpu_hour: float) -> float:
    """The run's compute cost at a price per vCPU-hour (pod start-up and idle excluded)."""
    return cpu_seconds(times) / SECONDS_PER_HOUR * price_per_vcpu_hour


def render_cpu_note(times: list[StageTime], render_cpu: CpuClass | None,
                    options: GenerateOptions) -> str:
    """What the render pods' nodes say about the `render_cpu` input: those of this run (cache
    hits excluded) that ran on another class than declared, or, with none declared, the one
    class they all ran on where declaring it would have sized the chunks differently."""
    ran = [t.node_cpu for t, hit in zip(times, cache_hits(times)) if t.node_cpu and not hit]
    if render_cpu is not None:
        elsewhere = [cpu for cpu in ran if cpu != render_cpu.value]
        if not elsewhere:
            return ""
        return (f"<p>render_cpu is {render_cpu.value}, but {len(elsewhere)} of {len(ran)} render "
                f"pods ran on {' and '.join(sorted(set(elsewhere)))} nodes: their chunks were "
                f"sized for {render_cpu.value}. Set render_cpu to your render nodes' class, "
                "or leave it empty where they differ; to place render pods on one class, "
                "register with SADTALKER_RENDER_POD_TEMPLATE (README, Render nodes).</p>")
    classes = set(ran)
    if len(classes) != 1:
        return ""
    (cpu,) = classes
    timeout = RENDER_TIMEOUT.total_seconds()
    if (RenderCost.chunk_limits(options, timeout, CpuClass(cpu))
            == RenderCost.chunk_limits(options, timeout)):
        return ""
    return (f"<p>All {len(ran)} render pods ran on {cpu} nodes, and render_cpu is empty: "
            f"chunks were sized for any class. Where your render nodes are all {cpu}, "
            f"render_cpu {cpu} sizes them for that class.</p>")


def video_html(video: Path, stored: Published) -> str:
    """A playable <video>: the mp4 embedded as base64 when small, else streamed from the stored
    copy's link (any size plays, and the deck stays small); then where it is stored."""
    size = video.stat().st_size
    if size <= MAX_EMBEDDED_BYTES:
        data = base64.b64encode(video.read_bytes()).decode("ascii")
        source = f"data:video/mp4;base64,{data}"
    else:
        source = html.escape(stored.link)
    return (f'<video controls width="512" src="{source}"></video>'
            f'<p>Stored at <a href="{html.escape(stored.link)}">{html.escape(stored.uri)}</a> '
            f"({size / 2**20:.1f} MiB).</p>")


def report_html(video: Path, stored: Published, times: list[StageTime], info: ClipInfo,
                num_chunks: int, price_per_vcpu_hour: float, render_cpu: CpuClass | None,
                options: GenerateOptions) -> str:
    """The whole report as one HTML fragment; `render_cpu` and `options` as the run was
    launched with (for what the render pods' nodes say about the chunks' sizes)."""
    rows = "".join(
        f"<tr><td>{html.escape(t.stage)}</td><td>{'cache hit' if hit else f'{t.seconds:.1f}'}"
        f"</td><td>{t.cpus:g}</td><td>{t.peak_rss_gib:.2f}</td><td>{html.escape(t.ran_on)}</td>"
        "</tr>" for t, hit in zip(times, cache_hits(times)))
    cost = estimated_cost(times, price_per_vcpu_hour)
    return (
        f"<h3>Talking head</h3>{video_html(video, stored)}"
        f"<p>{info.num_frames} frames ({info.duration:.2f} s of speech), "
        f"{num_chunks} render chunk(s).</p>"
        "<table><tr><th>stage</th><th>wall s</th><th>CPUs</th><th>peak GiB</th>"
        f"<th>ran on</th></tr>{rows}</table>"
        "<p>Peak GiB: the task process's peak resident memory (on a cluster, its pod's; a "
        "local run shares one process, so there it grows from stage to stage). A cache hit "
        "reused an earlier run's result: no time, no cost in this run (its memory is the "
        "earlier run's). Ran on: a render pod's node CPU class and the precision it ran; "
        "the workflow's render_cpu input sizes chunks for one class.</p>"
        f"{render_cpu_note(times, render_cpu, options)}"
        f"<p>{cpu_seconds(times):.0f} CPU-seconds; estimated cost {cost:.4f} at "
        f"{price_per_vcpu_hour:g} per vCPU-hour (requested CPUs x wall time).</p>"
    )
