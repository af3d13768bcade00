"""What rendering costs, from measurement: seconds per frame and per render pod on each CPU
class, and the wall time of a fan-out predicted from them.

Every figure is a `Measured` row stating the machine, the date and the command that produced
it: `bench/pipeline_stages.py` on 2 cores (the render pod's request), the render stage in its
own process, synthetic weights of the official sizes. Re-measure on your nodes and pass your
own `RenderCost` where they differ. Chunk sizes follow from them: a chunk must be long enough
that a pod's fixed cost stays a small share of its work, and short enough to finish well inside
the render task's timeout on the slowest class a pod may land on.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

from sadtalker.chunks import Chunk
from sadtalker.cpu import AVX2_EMULATION, CpuClass, cpu_class
from sadtalker.errors import OptionError
from sadtalker.options import Enhancer, GenerateOptions, Precision


@dataclass(frozen=True)
class Measured:
    """One figure of the cost table, and where, when and how it was measured."""

    value: float
    machine: str
    date: str
    command: str

    def scaled(self, bench: str, path: str, seconds: float, reference: str,
               reference_seconds: float, machine: str, date: str) -> Measured:
        """This figure times `path`'s seconds over `reference`'s, both from one run of `bench`:
        a path timed against another where the pipeline bench did not run it."""
        return Measured(round(self.value * seconds / reference_seconds, 2), machine, date,
                        f"{self.command}; x `{bench}`'s {path}/{reference} "
                        f"({seconds} / {reference_seconds})")


AVX512_BF16, AVX512, AVX2 = CpuClass.AVX512_BF16, CpuClass.AVX512, CpuClass.AVX2
EPYC_BF16 = "AMD EPYC, 2 cores, avx512f avx512_vnni avx512_bf16"
EPYC_AVX2 = "AMD EPYC, 2 cores, avx2 fma (no AVX-512, no BF16)"
STAGES = "python bench/pipeline_stages.py"
SPEED = "python bench/render_speed.py"
# the AVX2 class on an AVX-512 CPU, as a command's prefix
AVX2_CAP = " ".join(f"{name}={value}" for name, value in AVX2_EMULATION.items())
# Seconds per frame of the render stage (renderer + paste-back, which costs next to nothing),
# by (CPU class, size, precision). Where crop and full mode differ, the larger is kept.
_BF16_256 = Measured(1.07, EPYC_BF16, "2026-11", f"{STAGES} --still --precision bf16 --seconds 10 "
                     "[--preprocess full]: 1.06 / 1.07")
_BF16_512 = Measured(4.64, EPYC_BF16, "2026-11",
                     f"{STAGES} --still --precision bf16 --size 512 --seconds 1")
_AVX2_256 = Measured(7.72, EPYC_AVX2, "2026-12-01", f"{STAGES} --still --seconds 1")
_AVX2_512 = Measured(38.6, EPYC_AVX2, "2026-12-01",
                     f"{STAGES} --still --size 512 --seconds 0.24: 38.61")
_FP32_256 = _BF16_256.scaled(f"{SPEED} --size 256", "fp32", 2.13, "bf16", 1.08, EPYC_BF16,
                             "2026-11")
_FP32_512 = _BF16_512.scaled(f"{SPEED} --size 512", "fp32", 9.01, "bf16", 4.41, EPYC_BF16,
                             "2026-11")
# No AVX2 machine since winograd exists: the AVX2 fp32 rows times winograd/fp32 on an AVX-512
# one capped to AVX2.
_CAPPED = f"{EPYC_AVX2}; ratio: {EPYC_BF16} capped"
RENDER_SECONDS = {
    (AVX512_BF16, 256, Precision.BF16): _BF16_256,
    (AVX512_BF16, 512, Precision.BF16): _BF16_512,
    (AVX512_BF16, 256, Precision.FP32): _FP32_256,
    (AVX512_BF16, 512, Precision.FP32): _FP32_512,
    (AVX512_BF16, 256, Precision.WINOGRAD): _FP32_256.scaled(
        f"{SPEED} --size 256 --runs 5", "winograd", 2.49, "fp32", 4.99, EPYC_BF16, "2026-12-07"),
    (AVX512_BF16, 512, Precision.WINOGRAD): _FP32_512.scaled(
        f"{SPEED} --size 512 --runs 1", "winograd", 10.95, "fp32", 20.48, EPYC_BF16,
        "2026-12-07"),
    (AVX2, 256, Precision.FP32): _AVX2_256,
    (AVX2, 512, Precision.FP32): _AVX2_512,
    (AVX2, 256, Precision.WINOGRAD): _AVX2_256.scaled(
        f"{AVX2_CAP} {SPEED} --size 256 --runs 5 (the slowest ratio of two runs)", "winograd",
        2.57, "fp32", 5.21, _CAPPED, "2026-12-07"),
    (AVX2, 512, Precision.WINOGRAD): _AVX2_512.scaled(
        f"{AVX2_CAP} {SPEED} --size 512 --runs 1", "winograd", 9.86, "fp32", 22.10, _CAPPED,
        "2026-12-07"),
}
# What GFPGAN with its detector and parser adds per frame, by (CPU class, precision): the
# enhanced render minus the plain one, the larger of crop and full mode, when the parser ran on
# every frame; times what fixing the face mask once per pod saved (`bench/enhancer_cost.py`,
# with freed memory kept, as in a render pod). GFPGAN by Winograd: the fp32 row times the
# bench's winograd/fp32 ratio, both with the face mask fixed.
_ENHANCER = "python bench/enhancer_cost.py --runs 6"
_ENHANCE_BF16_FP32 = Measured(
    2.8, EPYC_BF16, "2026-11",
    f"{STAGES} --still --precision bf16 --seconds 1 --enhancer gfpgan [--preprocess full]"
    " when GFPGAN ran fp32 whatever the precision: 3.80 - 1.20, 4.03 - 1.22").scaled(
    f"{_ENHANCER} --precision fp32", "fixed face mask", 2.57, "parse every frame", 5.30,
    EPYC_BF16, "2026-12-07")
_ENHANCE_AVX2_FP32 = Measured(
    9.7, EPYC_AVX2, "2026-12-01",
    f"{STAGES} --still --seconds 0.4 --enhancer gfpgan [--preprocess full]"
    ": 17.42 - 7.72, 15.78 - 7.72").scaled(
    f"{AVX2_CAP} {_ENHANCER} --precision fp32", "fixed face mask", 2.86, "parse every frame",
    5.57, _CAPPED, "2026-12-07")
ENHANCE_SECONDS = {
    (AVX512_BF16, Precision.BF16): Measured(
        2.4, EPYC_BF16, "2026-11",
        f"{STAGES} --still --precision bf16 --seconds 1 --enhancer gfpgan [--preprocess full]"
        ": 3.33 - 1.06, 3.50 - 1.07").scaled(
        _ENHANCER, "fixed face mask", 1.75, "parse every frame", 4.36, EPYC_BF16, "2026-12-07"),
    (AVX512_BF16, Precision.FP32): _ENHANCE_BF16_FP32,
    (AVX512_BF16, Precision.WINOGRAD): _ENHANCE_BF16_FP32.scaled(
        f"{_ENHANCER} --precision winograd", "fixed face mask", 1.63, "fp32, fixed mask", 2.59,
        EPYC_BF16, "2026-12-07"),
    (AVX2, Precision.FP32): _ENHANCE_AVX2_FP32,
    (AVX2, Precision.WINOGRAD): _ENHANCE_AVX2_FP32.scaled(
        f"{AVX2_CAP} {_ENHANCER}", "fixed face mask", 1.69, "fp32, fixed mask", 2.58, _CAPPED,
        "2026-12-07"),
}
# A render pod's fixed cost by class: imports, model load and the source's encoding (the
# render_load stage of the runs above).
LOAD_SECONDS = {
    AVX512_BF16: Measured(5.0, EPYC_BF16, "2026-11",
                          f"{STAGES} --still --precision bf16 --seconds 10: render_load"),
    # winograd's (what `auto` runs there) with numba compiling its transforms, as in a pod
    # whose image has no compiled copy
    AVX2: Measured(14.0, EPYC_AVX2, "2026-12-01",
                   f"{STAGES} --still --seconds 1, --seconds 0.4 --enhancer gfpgan [--preprocess"
                   " full], --seconds 0.24 --size 512: render_load 12.9-16.3").scaled(
        f"NUMBA_CACHE_DIR=<empty> {AVX2_CAP} {STAGES} --still --seconds 0.24 --precision "
        "winograd|fp32", "winograd render_load", 15.9, "fp32", 6.3, _CAPPED, "2026-12-07"),
}
# Classes with no machine to measure on take the figures of one that bounds them from above:
# AVX-512 without BF16 runs the same fp32 kernels as AVX2 with wider vectors.
MEASURED_AS = {AVX512: AVX2}
# Pod scheduling and start with the image already on the node: assumed, not measurable here.
POD_START_SECONDS = 20.0
# The stages around the render fan-out, one after another on their own pods (ingest with the
# weights' fingerprint, the face stage with the mel beside it, coefficients, chunk planning
# and stitch), each with a pod start.
SERIAL_WORK = Measured(20.0, EPYC_BF16, "2026-11",
                       f"{STAGES} --still --precision bf16 --seconds 10: all stages but render")
SERIAL_SECONDS = SERIAL_WORK.value + 5 * POD_START_SECONDS
MAX_OVERHEAD = 0.2  # a chunk's fixed cost may be at most this share of its rendering
TIMEOUT_SHARE = 0.5  # a chunk's planned time may be at most this share of the task timeout


@dataclass(frozen=True)
class RenderCost:
    """Seconds per frame (render + paste-back + enhance) and per chunk (pod start + load)."""

    frame_seconds: float
    chunk_seconds: float

    @classmethod
    def estimate(cls, options: GenerateOptions, cpu: CpuClass | None = None) -> RenderCost:
        """The measured figures for these options on `cpu` (default: this machine's class),
        AUTO precision as that class resolves it."""
        cpu = cpu or cpu_class()
        precision = options.precision.resolve(cpu)
        measured = MEASURED_AS.get(cpu, cpu)
        frame = RENDER_SECONDS[measured, options.size, precision].value
        if options.enhancer is Enhancer.GFPGAN:
            frame += ENHANCE_SECONDS[measured, precision].value
        return cls(frame, LOAD_SECONDS[measured].value + POD_START_SECONDS)

    @classmethod
    def chunk_limits(cls, options: GenerateOptions, timeout_seconds: float,
                     nodes: CpuClass | None = None) -> tuple[int, int]:
        """(fewest, most) frames a chunk of these options should hold.

        The fewest keep a pod's fixed cost under MAX_OVERHEAD of its work on `nodes`, the class
        the render nodes are declared to be (None: any class, so the fastest that runs the
        options' precision, where that cost weighs most). The most finish in time on the
        slowest class that runs it, whatever was declared: a wrong declaration costs time,
        never a timed-out chunk.
        """
        if nodes is not None and not options.precision.runs_on(nodes):
            raise OptionError(
                f"precision {options.precision.value} needs render nodes with native bfloat16 "
                f"(AVX-512 BF16 or AMX), and render_cpu says they are {nodes.value} class: use "
                f"precision auto, winograd or fp32, or leave render_cpu empty")
        costs = {cpu: cls.estimate(options, cpu) for cpu in CpuClass
                 if options.precision.runs_on(cpu)}
        by_speed = sorted(costs.values(), key=lambda cost: cost.frame_seconds)
        on_nodes = by_speed[0] if nodes is None else costs[nodes]
        fewest, _ = on_nodes.chunk_frame_limits(timeout_seconds)
        _, most = by_speed[-1].chunk_frame_limits(timeout_seconds)
        return min(fewest, most), most

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
