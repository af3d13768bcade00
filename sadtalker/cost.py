"""What rendering costs, from measurement: seconds per frame and per render pod, and the wall
time of a fan-out predicted from them.

The figures were measured on 2 cores of an AMD EPYC with AVX-512 BF16 (the render pod's
request) by `bench/render_speed.py` and `bench/pipeline_stages.py`; re-measure on your nodes
and pass your own `RenderCost` where they differ. Chunk sizes follow from them: a chunk must be
long enough that a pod's fixed cost stays a small share of its work, and short enough to finish
well inside the render task's timeout.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

from sadtalker.chunks import Chunk
from sadtalker.options import Enhancer, GenerateOptions, Precision

# Seconds per frame of a render chunk on 2 cores, by (size, precision). bf16 at 256 is measured
# in the render stage of bench/pipeline_stages.py (10 s clip: 1.06 in crop, 1.07 in full mode,
# whose paste-back costs next to nothing), bf16 at 512 likewise (1 s clip: 4.64); fp32 scales
# them by the renderer's own ratio (bench/render_speed.py, same run each: 256 fp32 2.13 vs
# bf16 1.08; 512 fp32 9.01 vs bf16 4.41).
RENDER_SECONDS = {
    (256, Precision.FP32): 2.1, (256, Precision.BF16): 1.07,
    (512, Precision.FP32): 9.5, (512, Precision.BF16): 4.64,
}
# GFPGAN v1.4 with its face detector and parser, per frame, by precision (1 s clips; it grows
# with the faces found): bf16 3.33 - 1.06 s in crop and 3.50 - 1.07 s in full mode (7.04 - 4.64
# at 512, full); fp32 (measured before GFPGAN followed the precision) 3.80 - 1.20 and
# 4.03 - 1.22 s.
ENHANCE_SECONDS = {Precision.FP32: 2.8, Precision.BF16: 2.4}
# A render pod's fixed cost: imports, model load and the source's encoding (5 s measured), plus
# pod scheduling and start with the image already on the node (assumed; not measurable here).
LOAD_SECONDS = 5.0
POD_START_SECONDS = 20.0
# The stages around the render fan-out, one after another on their own pods: ingest with the
# weights' fingerprint, the face stage (the mel runs beside it), coefficients, chunk planning
# and stitch, ~20 s measured for a 10 s clip, each with a pod start.
SERIAL_SECONDS = 20.0 + 5 * POD_START_SECONDS
MAX_OVERHEAD = 0.2  # a chunk's fixed cost may be at most this share of its rendering
TIMEOUT_SHARE = 0.5  # a chunk's planned time may be at most this share of the task timeout


@dataclass(frozen=True)
class RenderCost:
    """Seconds per frame (render + paste-back + enhance) and per chunk (pod start + load)."""

    frame_seconds: float
    chunk_seconds: float

    @classmethod
    def estimate(cls, options: GenerateOptions) -> RenderCost:
        """The measured figures for these options (AUTO precision as this machine resolves it)."""
        precision = options.precision.resolve()
        frame = RENDER_SECONDS[options.size, precision]
        if options.enhancer is Enhancer.GFPGAN:
            frame += ENHANCE_SECONDS[precision]
        return cls(frame, LOAD_SECONDS + POD_START_SECONDS)

    def chunk_frame_limits(self, timeout_seconds: float) -> tuple[int, int]:
        """(fewest, most) frames worth a chunk: fixed cost <= MAX_OVERHEAD of the work, and
        planned time <= TIMEOUT_SHARE of the timeout."""
        fewest = math.ceil(self.chunk_seconds / (MAX_OVERHEAD * self.frame_seconds))
        most = math.floor((TIMEOUT_SHARE * timeout_seconds - self.chunk_seconds)
                          / self.frame_seconds)
        if most < 1:
            raise ValueError(f"one frame ({self.frame_seconds:.0f} s) does not fit in "
                             f"{TIMEOUT_SHARE:.0%} of a {timeout_seconds:.0f} s timeout")
        return min(fewest, most), most

    def chunk_seconds_total(self, chunk: Chunk) -> float:
        """One chunk's pod time: fixed cost + its frames."""
        return self.chunk_seconds + chunk.num_frames * self.frame_seconds

    def wall_seconds(self, chunks: list[Chunk], pods: int) -> float:
        """When the last chunk ends if chunks start in order on the first free of `pods` pods."""
        free_at = [0.0] * min(pods, len(chunks))
        for chunk in chunks:
            heapq.heapreplace(free_at, free_at[0] + self.chunk_seconds_total(chunk))
        return max(free_at)

    def cpu_seconds(self, chunks: list[Chunk], cpus_per_pod: int = 2) -> float:
        """vCPU-seconds the render pods are billed for."""
        return cpus_per_pod * sum(self.chunk_seconds_total(c) for c in chunks)
