"""Renderer seconds per frame, fp32 eager baseline vs the bf16 path, with the fidelity figure.

Synthetic weights (BatchNorm calibrated on a real face) and the astronaut as source; driving
coefficients are a seeded random walk. Prints the median of `--runs` timed batches after one
warm-up batch for each precision, the bf16/fp32 ratio measured in the same run, the PSNR of bf16
frames against fp32 frames, and the process's peak RSS.

    python bench/render_speed.py [--size 256] [--runs 3] [--batch 2] [--threads 2]
"""

from __future__ import annotations

import argparse
import logging
import resource
import statistics
import time

import numpy as np
import torch

from sadtalker.options import GenerateOptions, Precision
from sadtalker.render import Renderer
from sadtalker.render.synthetic import face_image, synthetic_mapping, synthetic_weights

log = logging.getLogger("bench.render_speed")

SEED = 0
COEFF_CHANNELS = 70
CLIP_FRAMES = 32
COEFF_STEP = 0.05  # random-walk step of the driving coefficients per frame


def split(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """Tensors under `prefix.`, prefix stripped (as the safetensors loader returns them)."""
    return {k.removeprefix(prefix + "."): v for k, v in tensors.items()
            if k.startswith(prefix + ".")}


def driving_coefficients(frames: int, seed: int) -> np.ndarray:
    """(frames, 70) smooth, seeded coefficients: a random walk around zero."""
    rng = np.random.default_rng(seed)
    return np.cumsum(rng.normal(0, COEFF_STEP, (frames, COEFF_CHANNELS)), 0).astype(np.float32)


def psnr(test: torch.Tensor, reference: torch.Tensor) -> float:
    """PSNR in dB of images in [0, 1]."""
    mse = torch.mean((test.float() - reference.float()) ** 2).item()
    return float("inf") if mse == 0 else 10 * np.log10(1 / mse)


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # ru_maxrss is in KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.set_num_threads(args.threads)

    tensors = synthetic_weights(SEED, args.size)
    coeffs = driving_coefficients(CLIP_FRAMES, SEED)
    seconds: dict[Precision, float] = {}
    images: dict[Precision, torch.Tensor] = {}
    for precision in (Precision.FP32, Precision.BF16):
        renderer = Renderer.from_state_dicts(
            split(tensors, "kp_extractor"), split(tensors, "generator"),
            synthetic_mapping(SEED, COEFF_CHANNELS), args.size, COEFF_CHANNELS, precision)
        options = GenerateOptions(size=args.size, batch_size=args.batch, precision=precision)
        state = renderer.prepare(face_image(args.size), coeffs[0])
        renderer.render_float(state, coeffs, 0, args.batch, options)  # warm-up
        times = []
        for run in range(args.runs):
            start = (run + 1) * args.batch
            begin = time.perf_counter()
            images[precision] = renderer.render_float(state, coeffs, start, start + args.batch,
                                                      options)
            times.append((time.perf_counter() - begin) / args.batch)
        seconds[precision] = statistics.median(times)
        log.info("%s: %.2f s/frame (runs %s)", precision.value, seconds[precision],
                 " ".join(f"{t:.2f}" for t in times))
    ratio = seconds[Precision.FP32] / seconds[Precision.BF16]
    log.info("size %d, %d threads, batch %d: fp32 %.2f s/frame, bf16 %.2f s/frame, "
             "speed-up x%.2f, PSNR bf16 vs fp32 %.1f dB, peak RSS %.2f GiB",
             args.size, args.threads, args.batch, seconds[Precision.FP32],
             seconds[Precision.BF16], ratio,
             psnr(images[Precision.BF16], images[Precision.FP32]), peak_rss_gib())


if __name__ == "__main__":
    main()
