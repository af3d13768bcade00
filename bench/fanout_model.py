"""Predicted wall time and cost of a clip rendered on 1, 8 and 32 pods of 2 vCPUs.

A simulation, not a measurement: it plans chunks as the workflow does (sadtalker.chunks with
the limits of sadtalker.cost) and schedules them on the first free pod, from the per-frame and
per-chunk costs measured by bench/render_speed.py and bench/pipeline_stages.py (the figures in
sadtalker/cost.py; override them with --frame-seconds / --chunk-seconds).

    python bench/fanout_model.py [--cpu avx2] [--undeclared] [--clips 10 60] [--pods 1 8 32]
                                 [--price 0.04]

`--cpu` is the class of the nodes the render pods run on (default: this machine's), given to the
workflow as `render_cpu`; `--undeclared` plans as the workflow does without it, for nodes of any
class. Precision is `auto`, as each render pod resolves it on its node.
"""

from __future__ import annotations

import argparse
import logging

from sadtalker.chunks import plan_chunks
from sadtalker.cost import SERIAL_SECONDS, RenderCost
from sadtalker.cpu import CpuClass, cpu_class
from sadtalker.options import GenerateOptions
from tasks.config import RENDER_TIMEOUT

log = logging.getLogger("bench.fanout_model")

FPS = 25
CONFIGS = {
    "Still+Crop": GenerateOptions(still=True),
    "Still+Full": GenerateOptions(still=True, preprocess="full"),
    "Still+Enhancer": GenerateOptions(still=True, enhancer="gfpgan"),
    "Still+Enhancer+Full": GenerateOptions(still=True, preprocess="full", enhancer="gfpgan"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu", type=CpuClass, choices=list(CpuClass), default=cpu_class())
    parser.add_argument("--undeclared", action="store_true",
                        help="plan chunks for any class, as without the render_cpu input")
    parser.add_argument("--clips", type=float, nargs="+", default=[10.0, 60.0])
    parser.add_argument("--pods", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--price", type=float, default=0.04, help="USD per vCPU-hour")
    parser.add_argument("--frame-seconds", type=float, help="override every config's figure")
    parser.add_argument("--chunk-seconds", type=float, help="override the per-chunk cost")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    timeout = RENDER_TIMEOUT.total_seconds()
    log.info("%-20s %5s %5s  %s", "config", "clip", "pods",
             "chunks  wall (render + serial stages)  vCPU-h  cost")
    declared = None if args.undeclared else args.cpu
    log.info("render pods on %s-class nodes, chunks planned for %s", args.cpu.value,
             declared.value if declared else "any class")
    for name, options in CONFIGS.items():
        cost = RenderCost.estimate(options, args.cpu)
        if args.frame_seconds or args.chunk_seconds:
            cost = RenderCost(args.frame_seconds or cost.frame_seconds,
                              args.chunk_seconds or cost.chunk_seconds)
            fewest, most = cost.chunk_frame_limits(timeout)
        else:  # as the workflow's plan_chunks task plans them
            fewest, most = RenderCost.chunk_limits(options, timeout, declared)
        for seconds in args.clips:
            frames = round(seconds * FPS)
            for pods in args.pods:
                chunks = plan_chunks(frames, options.batch_size, pods, fewest, most)
                wall = cost.wall_seconds(chunks, pods) + SERIAL_SECONDS
                vcpu_hours = (cost.cpu_seconds(chunks) + 2 * SERIAL_SECONDS) / 3600
                log.info("%-20s %4.0fs %5d  %6d  %8.0f s  %28.2f  $%.3f", name, seconds, pods,
                         len(chunks), wall, vcpu_hours, vcpu_hours * args.price)
    log.info("per frame / per chunk: %s", "; ".join(
        f"{n} {RenderCost.estimate(o, args.cpu).frame_seconds:.2f} s / "
        f"{RenderCost.estimate(o, args.cpu).chunk_seconds:.0f} s" for n, o in CONFIGS.items()))


if __name__ == "__main__":
    main()
