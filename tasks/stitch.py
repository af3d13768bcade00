"""Segments in order + the speech into the final mp4, stored at once so that the run's
report (a deck) links it."""

from __future__ import annotations

import time
from pathlib import Path

from flytekit import Cache, Deck, task

from sadtalker import video, weights
from sadtalker.cpu import CpuClass
from sadtalker.options import GenerateOptions
from tasks.cache import PIPELINE_CACHE_VERSION
from tasks.config import IMAGE, RETRIES, STITCH, STITCH_CPUS, STITCH_TIMEOUT, WEIGHTS_POD_TEMPLATE
from tasks.deck import report_html
from tasks.errors import flyte_errors
from tasks.publish import publish
from tasks.types import AudioFile, ClipInfo, RenderedChunk, StageTime, VideoFile
from tasks.workdir import output_path


@task(container_image=IMAGE, pod_template_name=WEIGHTS_POD_TEMPLATE,
      requests=STITCH, limits=STITCH, retries=RETRIES,
      timeout=STITCH_TIMEOUT, enable_deck=True,
      cache=Cache(version=PIPELINE_CACHE_VERSION,
                  ignored_inputs=("checkpoints", "times", "price_per_vcpu_hour", "render_cpu")))
def stitch(rendered: list[RenderedChunk], audio: AudioFile, info: ClipInfo, options: str,
           checkpoints: str, times: list[StageTime], price_per_vcpu_hour: float,
           render_cpu: CpuClass | None) -> VideoFile:
    """Join the chunks' segments (no re-encode), mux the speech cut to the frames, store the
    mp4 and write the report. Cached on the segments and the speech: a clip rendered before is
    not stitched again (the timings, the price and the declared render nodes only feed the
    report)."""
    start = time.perf_counter()
    with flyte_errors():
        opts = GenerateOptions.from_json(options)
        segments = [Path(r.segment.download()) for r in rendered]
        synthetic = weights.uses_synthetic_weights(checkpoints or None, opts.size)
        clip = video.stitch(segments, Path(audio.download()), info.num_frames,
                            output_path("talking_head.mp4"), synthetic=synthetic)
        stored = publish(clip)
    stages = [*times, *(r.time for r in rendered), StageTime.since("stitch", start, STITCH_CPUS)]
    Deck("Report", report_html(clip, stored, stages, info, len(rendered), price_per_vcpu_hour,
                                render_cpu, opts))
    return VideoFile(stored.uri)
