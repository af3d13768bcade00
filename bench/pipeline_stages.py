"""Wall time and peak memory of each workflow stage, each run in a fresh process like a pod.

The stages are those of the Flyte tasks: audio_to_mel, crop_and_extract, audio_to_coeffs,
render_chunk (split into model load + source preparation, and rendering) and stitch. Each runs
in its own Python process, so its peak RSS is what that pod would need (imports included).
Inputs: the astronaut photo with its landmarks and espeak-ng speech of `--seconds`; weights:
`--checkpoints DIR`, synthesized there first when missing (random weights, real code paths).

    python bench/pipeline_stages.py [--seconds 10] [--preprocess crop] [--enhancer none]
        [--precision auto] [--size 256] [--checkpoints out/synthetic-checkpoints] [--runs 1]

Prints the CPU's class and flags, one line per stage (median of `--runs`), then the render's
seconds per frame, the clip's CPU-seconds at 2 vCPUs per stage pod, and the largest peak RSS.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sadtalker import cpu
from sadtalker.npz import load_coefficients
from sadtalker.process_memory import peak_rss_gib

log = logging.getLogger("bench.pipeline_stages")

STAGES = ("audio_to_mel", "crop_and_extract", "audio_to_coeffs", "render_load", "render",
          "stitch")


def run_stage(stage: str, work: Path, options: dict, checkpoints: Path) -> None:
    """One stage in this process; inputs and outputs are files in `work` (as between pods)."""
    from sadtalker import pipeline, video
    from sadtalker.audio import AudioFeatures
    from sadtalker.chunks import Chunk
    from sadtalker.face.prepare import prepare_face
    from sadtalker.face.prepared import PreparedFace
    from sadtalker.npz import save_coefficients
    from sadtalker.options import GenerateOptions

    opts = GenerateOptions(**options).with_resolved_precision()
    inputs = work / "inputs"
    if stage == "audio_to_mel":
        pipeline.prepare_audio(inputs / "speech.wav").save(work / "mel.npz")
    elif stage == "crop_and_extract":
        prepare_face(inputs / "astronaut.png", opts.preprocess, opts.size, checkpoints,
                     inputs / "astronaut_landmarks.json").save(work / "face.npz")
    elif stage == "audio_to_coeffs":
        coeffs = pipeline.make_coefficients(AudioFeatures.load(work / "mel.npz"),
                                            PreparedFace.load(work / "face.npz"),
                                            opts, checkpoints)
        save_coefficients(work / "coeffs.npz", coeffs)
    elif stage in ("render_load", "render"):
        context = pipeline.ChunkRenderer.load(inputs / "astronaut.png",
                                              PreparedFace.load(work / "face.npz"),
                                              opts, checkpoints)
        if stage == "render":
            coeffs = load_coefficients(work / "coeffs.npz")
            begin = time.perf_counter()
            pipeline.render_segment(context, coeffs, Chunk(0, 0, len(coeffs)),
                                    work / "segment.mp4")
            (work / "render_seconds.txt").write_text(str(time.perf_counter() - begin))
    elif stage == "stitch":
        frames = len(load_coefficients(work / "coeffs.npz"))
        video.stitch([work / "segment.mp4"], inputs / "speech.wav", frames,
                              work / "out.mp4")


def measure(stage: str, work: Path, options: dict, checkpoints: Path) -> tuple[float, float]:
    """(wall seconds, peak RSS GiB) of a fresh process running one stage."""
    command = [sys.executable, __file__, "--stage", stage, "--work", str(work),
               "--options", json.dumps(options), "--checkpoints", str(checkpoints)]
    begin = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - begin, float((work / f"{stage}.rss").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--preprocess", default="crop")
    parser.add_argument("--enhancer", default="none")
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--still", action="store_true")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--checkpoints", type=Path, default=Path("out/synthetic-checkpoints"))
    parser.add_argument("--stage", choices=STAGES, help=argparse.SUPPRESS)  # child mode
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--options", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage:
        run_stage(args.stage, args.work, json.loads(args.options), args.checkpoints)
        (args.work / f"{args.stage}.rss").write_text(str(peak_rss_gib()))
        return
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    from sadtalker import weights
    from sadtalker.testing.checkpoints import synthesize
    from sadtalker.testing.example_inputs import write_example_inputs

    # not in the stage processes
    from tasks.config import FACE_CPUS, LIGHT_CPUS, RENDER_CPUS, STITCH_CPUS

    stage_cpus = {"audio_to_mel": LIGHT_CPUS, "crop_and_extract": FACE_CPUS,
                  "audio_to_coeffs": FACE_CPUS, "render_load": RENDER_CPUS,
                  "render": RENDER_CPUS, "stitch": STITCH_CPUS}  # what the tasks request

    if not (args.checkpoints / weights.sadtalker_file(args.size)).exists():
        log.info("synthesizing weights in %s", args.checkpoints)
        synthesize(args.checkpoints, sizes=(args.size,))
    options = {"preprocess": args.preprocess, "enhancer": args.enhancer, "size": args.size,
               "precision": args.precision, "still": args.still}
    results: dict[str, list[tuple[float, float]]] = {stage: [] for stage in STAGES}
    render_seconds = []
    with tempfile.TemporaryDirectory(prefix="bench-stages-") as tmp:
        work = Path(tmp)
        write_example_inputs(work / "inputs", seconds=args.seconds)
        for _ in range(args.runs):
            for stage in STAGES:
                results[stage].append(measure(stage, work, options, args.checkpoints))
            render_seconds.append(float((work / "render_seconds.txt").read_text()))
        frames = len(load_coefficients(work / "coeffs.npz"))

    log.info("%s", cpu.describe())
    log.info("%s, %.1f s clip (%d frames), median of %d, one process per stage:",
             " ".join(f"{k}={v}" for k, v in options.items()), args.seconds, frames, args.runs)
    cpu_seconds = 0.0
    for stage in STAGES:
        wall = statistics.median(s for s, _ in results[stage])
        rss = max(r for _, r in results[stage])
        log.info("  %-17s %8.1f s  peak RSS %.2f GiB", stage, wall, rss)
        if stage != "render_load":  # the render stage loads the models itself
            cpu_seconds += wall * stage_cpus[stage]
    per_frame = statistics.median(render_seconds) / frames
    load = statistics.median(s for s, _ in results["render_load"])
    log.info("render %.2f s/frame (rendering only); render pod fixed cost (start, imports, "
             "model load, source) %.1f s; clip total %.0f CPU-seconds at the pods' vCPUs; "
             "largest peak RSS %.2f GiB", per_frame, load, cpu_seconds,
             max(r for runs in results.values() for _, r in runs))


if __name__ == "__main__":
    main()
