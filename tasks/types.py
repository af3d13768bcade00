"""The typed values passed between the Flyte tasks: format-tagged files and small metadata.

Arrays travel as .npz files and frames as video files: inline literals are capped at a few MB
by the platform, so only descriptors and timings are passed by value.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TypeVar

from flytekit.types.file import FlyteFile

from sadtalker.process_memory import peak_rss_gib

ImageFile = FlyteFile[TypeVar("image")]  # any format OpenCV reads (png, jpg, ...)
AudioFile = FlyteFile[TypeVar("audio")]  # any format ffmpeg decodes (wav, mp3, ...)
NpzFile = FlyteFile[TypeVar("npz")]  # numpy arrays written with np.savez, read without pickle
SegmentFile = FlyteFile[TypeVar("mp4")]  # one chunk's frames in the final codec, no audio
VideoFile = FlyteFile[TypeVar("mp4")]  # the final H.264 + AAC video


@dataclass
class ClipInfo:
    """How long the speech is in video frames (25 fps) and seconds."""

    num_frames: int
    duration: float


@dataclass
class StageTime:
    """Wall time of one task, the CPUs it requested, its process's peak memory, when it
    finished and, for a render pod, the CPU class of its node and the precision it ran: the
    deck's timing, cost and sizing table (a cached stage's result carries the run that
    computed it, so its finish time tells a cache hit)."""

    stage: str
    seconds: float
    cpus: float
    peak_rss_gib: float
    finished_at: float  # Unix time
    node_cpu: str = ""  # a CpuClass value; empty where the node's CPU does not matter
    precision: str = ""  # the Precision a render pod resolved

    @classmethod
    def since(cls, stage: str, start: float, cpus: float, node_cpu: str = "",
              precision: str = "") -> StageTime:
        """The time elapsed since `start` (a `time.perf_counter()` reading), and the peak
        resident memory of this process so far (on a cluster: of this task's pod)."""
        return cls(stage, time.perf_counter() - start, cpus, peak_rss_gib(), time.time(),
                   node_cpu, precision)

    @property
    def ran_on(self) -> str:
        """e.g. "avx2, winograd"; empty where the node's CPU does not matter."""
        return ", ".join(part for part in (self.node_cpu, self.precision) if part)


@dataclass
class RenderedChunk:
    """One map element's result: its video segment and how long it took."""

    segment: SegmentFile
    time: StageTime
