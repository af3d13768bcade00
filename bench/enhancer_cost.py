"""GFPGAN enhancer seconds per frame: every frame's face parsed, as GFPGANer does, against one
fixed face mask (`Enhancer.fix_face_mask`, what the render pods run), in the same run.

Synthetic GFPGAN v1.4, RetinaFace and ParseNet files (BatchNorm calibrated on the astronaut's
face); frames are the astronaut's face turned and shifted a little from frame to frame, as a
talking head moves, at the frame size of a 256 crop-mode render. Prints the CPU's class and
flags, the median seconds per frame over the frames whose face was found and restored (the
synthetic detector misses some; a frame without a face costs only the detection, so those are
counted and left out), the ratio, and the PSNR of the fixed-mask frames against the
parse-every-frame ones; for a precision other than fp32, also the fixed-mask enhancer in fp32,
interleaved, with the speed-up against it and the PSNR of its frames.

    python bench/enhancer_cost.py [--runs 5] [--precision auto] [--threads 2]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from render_speed import psnr
from skimage.data import astronaut

from sadtalker import cpu
from sadtalker.allocator import retain_freed_memory
from sadtalker.options import Precision
from sadtalker.testing.enhancer_files import write_enhancer_files

log = logging.getLogger("bench.enhancer_cost")
FRAME = 256  # a 256 crop-mode frame
SEED = 0
EVERY = "parse every frame"  # as GFPGANer does
FIXED = "fixed face mask"  # as the render pods do
FP32_FIXED = "fp32, fixed mask"  # the baseline a faster precision is timed against


def moving_face(count: int) -> list[np.ndarray]:
    """The astronaut's face, turned by up to +-4 degrees and shifted by up to +-3 px."""
    face = cv2.resize(astronaut()[0:300, 100:400], (FRAME, FRAME), interpolation=cv2.INTER_AREA)
    frames = []
    for i in range(count):
        matrix = cv2.getRotationMatrix2D((FRAME / 2, FRAME / 2), 4 * np.sin(i), 1.0)
        matrix[:, 2] += 3 * np.cos(i)
        frames.append(cv2.warpAffine(face, matrix, (FRAME, FRAME),
                                     borderMode=cv2.BORDER_REFLECT))
    return frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--precision", choices=[p.value for p in Precision], default="auto")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.set_num_threads(args.threads)
    retain_freed_memory()  # as the render pods run the enhancer (`pipeline.ChunkRenderer.load`)
    from sadtalker.enhance import Enhancer  # gfpgan's imports cost seconds

    precision = Precision(args.precision).resolve()
    frames = moving_face(args.runs + 1)
    with tempfile.TemporaryDirectory(prefix="bench-enhancer-") as tmp:
        write_enhancer_files(Path(tmp), SEED)
        enhancers = {EVERY: Enhancer.load(tmp, precision=precision),
                     FIXED: Enhancer.load(tmp, precision=precision)}
        if precision is not Precision.FP32:
            enhancers[FP32_FIXED] = Enhancer.load(tmp, precision=Precision.FP32)
        begin = time.perf_counter()
        if not enhancers[FIXED].fix_face_mask(frames[0]):
            raise SystemExit("the synthetic detector found no face in the reference frame")
        once = time.perf_counter() - begin
        if FP32_FIXED in enhancers:
            enhancers[FP32_FIXED].fix_face_mask(frames[0])
        seconds: dict[str, list[float]] = {name: [] for name in enhancers}
        outputs: dict[str, list[np.ndarray]] = {name: [] for name in enhancers}
        for frame in frames[1:]:  # interleaved, so that all see the same machine load
            for name, enhancer in enhancers.items():
                begin = time.perf_counter()
                restored = enhancer.enhance(frame[None])[0]
                took = time.perf_counter() - begin
                if np.array_equal(restored, frame):  # no face found: nothing restored
                    continue
                outputs[name].append(restored)
                seconds[name].append(took)
    if not all(seconds.values()):
        raise SystemExit("the synthetic detector found no face in the timed frames")

    log.info("%s", cpu.describe())
    log.info("GFPGAN v1.4 on %dx%d frames, %s, %d threads, median of the %d of %d frames with "
             "a face found:", FRAME, FRAME, precision.value, args.threads,
             len(seconds[FIXED]), args.runs)
    def typical(name: str) -> float:  # the first frame warms up
        return statistics.median(seconds[name][1:] or seconds[name])

    def worst_psnr(name: str, against: str) -> float:
        return min(psnr(torch.from_numpy(a) / 255, torch.from_numpy(b) / 255)
                   for a, b in zip(outputs[name], outputs[against]))

    for name in seconds:
        log.info("  %-18s %.2f s/frame (x%.2f)", name, typical(name),
                 typical(EVERY) / typical(name))
    log.info("  fixing the mask once per pod: %.2f s", once)
    log.info("  fixed-mask frames vs parse-every-frame: PSNR >= %.1f dB",
             worst_psnr(FIXED, EVERY))
    if FP32_FIXED in seconds:
        log.info("  %s vs fp32 (fixed face mask): x%.2f, PSNR >= %.1f dB", precision.value,
                 typical(FP32_FIXED) / typical(FIXED),
                 worst_psnr(FIXED, FP32_FIXED))


if __name__ == "__main__":
    main()
