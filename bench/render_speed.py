"""Renderer seconds per frame: the public code's fp32 eager path vs ours in fp32, winograd, bf16.

Four paths, timed in the same run on the same inputs:
  baseline  what SadTalker's make_animation computes per frame: fp32 in NCHW, the source image
            encoded again with every frame, each SPADE normalising its input with
            F.instance_norm and convolving the label map upsampled to full size, the shortcut
            conv applied to the shortcut's modulated map;
  fp32      this package's exact path: source work once per chunk, the upsampled convolution
            computed at low resolution (sadtalker.render.upsampled_conv), the SPADE blocks'
            exact rearrangements (sadtalker.render.spade_decoder), channels-last;
  winograd  fp32, the decoder's 3x3 convolutions by Winograd F(6x6, 3x3), the mask's 7x7x7 by FFT
            (sadtalker.render.winograd, sadtalker.render.fft_conv3d; `auto` on CPUs without
            native bf16);
  bf16      the same with the per-frame networks in bfloat16 (--precision bf16), on CPUs
            that compute bf16 natively (skipped elsewhere, and said so).
The baseline runs with glibc's default allocator, as the public code does, and again with
freed memory kept in the heap (sadtalker.allocator, which the CLI and the render pods use and
the other paths run with): the ratios against both are printed.
Synthetic weights (BatchNorm calibrated on a real face) and the astronaut as source; driving
coefficients are a seeded random walk. Prints the CPU's class and flags, the median of `--runs`
timed batches after one warm-up batch per path (the paths taking turns, batch by batch, so that
a shared machine's slow spells weigh on all alike), each path's speed-up over the baseline, the max
abs difference of fp32 frames and the PSNR of the winograd and bf16 frames against the
baseline's, and the process's peak RSS.

    python bench/render_speed.py [--size 256] [--runs 3] [--batch 2] [--threads 2]
                                 [--paths fp32 winograd bf16]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from sadtalker import cpu, weights
from sadtalker.allocator import retain_freed_memory
from sadtalker.coeff_layout import FRAME_COEFFS
from sadtalker.options import Precision
from sadtalker.process_memory import peak_rss_gib
from sadtalker.render import Renderer
from sadtalker.render.renderer import GENERATOR_PREFIX, KP_PREFIX, SourceState
from sadtalker.render.settings import RenderSettings
from sadtalker.render.spade_decoder import LEAKY_SLOPE, SPADEResBlock
from sadtalker.testing.example_inputs import astronaut_crop
from sadtalker.testing.render_weights import mapping_weights, render_weights

log = logging.getLogger("bench.render_speed")

SEED = 0
CLIP_FRAMES = 32
PATHS = (Precision.FP32, Precision.WINOGRAD, Precision.BF16)
COEFF_STEP = 0.05  # random-walk step of the driving coefficients per frame


def driving_coefficients(frames: int, seed: int) -> np.ndarray:
    """(frames, FRAME_COEFFS) smooth, seeded coefficients: a random walk around zero."""
    rng = np.random.default_rng(seed)
    return np.cumsum(rng.normal(0, COEFF_STEP, (frames, FRAME_COEFFS)), 0).astype(np.float32)


def psnr(test: torch.Tensor, reference: torch.Tensor) -> float:
    """PSNR in dB of images in [0, 1]."""
    mse = torch.mean((test.float() - reference.float()) ** 2).item()
    return float("inf") if mse == 0 else 10 * np.log10(1 / mse)


def public_block_forward(block: SPADEResBlock, x: torch.Tensor,
                         label: torch.Tensor) -> torch.Tensor:
    """SPADEResnetBlock as the public code computes it: every SPADE normalises its input with
    F.instance_norm and convolves the label map upsampled to full size; conv_s applies to
    the shortcut's modulated map."""
    if block.upsample > 1:
        x = F.interpolate(x, scale_factor=block.upsample, mode="nearest")

    def spade(norm: nn.Module, x: torch.Tensor) -> torch.Tensor:
        segmap = F.interpolate(label, size=x.shape[2:], mode="nearest")
        hidden = norm.mlp_shared(segmap)
        return F.instance_norm(x) * (1 + norm.mlp_gamma(hidden)) + norm.mlp_beta(hidden)

    shortcut = block.conv_s(spade(block.norm_s, x)) if block.learned_shortcut else x
    dx = block.conv_0(F.leaky_relu(spade(block.norm_0, x), LEAKY_SLOPE))
    dx = block.conv_1(F.leaky_relu(spade(block.norm_1, dx), LEAKY_SLOPE))
    return shortcut + dx


@contextmanager
def public_spade() -> Iterator[None]:
    """Run the SPADE blocks as the public code does for the duration of the block."""
    fast = SPADEResBlock.forward
    SPADEResBlock.forward = public_block_forward
    try:
        yield
    finally:
        SPADEResBlock.forward = fast


def render_like_public(renderer: Renderer, state: SourceState, source: np.ndarray,
                       settings: RenderSettings, start: int, stop: int) -> torch.Tensor:
    """Frames [start, stop) with the source encoded again for every frame, as the public
    generator does (it takes the source image, batch-repeated, at each step)."""
    pixels = torch.from_numpy(source).permute(2, 0, 1)[None].float() / 255
    with torch.inference_mode(), public_spade():
        for _ in range(start, stop):
            renderer.generator.encode(pixels, state.kp_source)
        return renderer.render_float(state, settings, start, stop)


Path = tuple[str, Callable[[int, int], torch.Tensor], bool]  # name, render, keep freed memory


def time_paths(paths: list[Path], batch: int, runs: int,
               ) -> dict[str, tuple[float, list[float], torch.Tensor]]:
    """Per path: median seconds per frame of `runs` batches after a warm-up batch, the runs,
    and the frames. The paths take turns batch by batch, so a slow spell of a shared machine
    weighs on all of them alike rather than on whichever path it fell on."""
    for _, render, heap in paths:
        retain_freed_memory(heap)
        render(0, batch)
    times: dict[str, list[float]] = {name: [] for name, _, _ in paths}
    frames: dict[str, list[torch.Tensor]] = {name: [] for name, _, _ in paths}
    for run in range(runs):
        start = (run + 1) * batch
        for name, render, heap in paths:
            retain_freed_memory(heap)
            begin = time.perf_counter()
            frames[name].append(render(start, start + batch))
            times[name].append((time.perf_counter() - begin) / batch)
    return {name: (statistics.median(times[name]), times[name], torch.cat(frames[name]))
            for name, _, _ in paths}


def render_arguments(description: str) -> argparse.ArgumentParser:
    """The options every renderer bench takes: size, timed batches, batch size, threads."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    return parser


def main() -> None:
    parser = render_arguments(__doc__.splitlines()[0])
    parser.add_argument("--paths", nargs="+", choices=[p.value for p in PATHS],
                        default=[p.value for p in PATHS],
                        help="which of our paths to time beside the baseline (default: all)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.set_num_threads(args.threads)

    log.info("%s, torch kernels: %s", cpu.describe(), torch.backends.cpu.get_cpu_capability())
    asked = [p for p in PATHS if p.value in args.paths]
    measured = [p for p in asked if p.runs_on(cpu.cpu_class())]
    for skipped in sorted(set(asked) - set(measured)):
        log.info("%s skipped: this CPU has no native %s (needs avx512_bf16 or amx_bf16)",
                 skipped.value, skipped.value)

    tensors = render_weights(SEED, args.size)
    coeffs = driving_coefficients(CLIP_FRAMES, SEED)
    source = astronaut_crop(args.size)
    def build(precision: Precision) -> Renderer:
        return Renderer.from_state_dicts(
            weights.strip_prefix(tensors, KP_PREFIX),
            weights.strip_prefix(tensors, GENERATOR_PREFIX),
            mapping_weights(SEED, FRAME_COEFFS), args.size, FRAME_COEFFS, precision)

    # fp32's renderer is built even where its path is not timed: the baseline takes its state
    renderers = {precision: build(precision) for precision in {Precision.FP32, *measured}}
    public = build(Precision.FP32)
    public.generator.set_frame_dtype(torch.float32, channels_last=False)  # the public layout
    states = {precision: renderer.prepare(source, coeffs[0])
              for precision, renderer in renderers.items()}
    settings = RenderSettings.for_clip(coeffs, coeffs[0], FRAME_COEFFS, args.batch)
    def public_path(a: int, b: int) -> torch.Tensor:
        return render_like_public(public, states[Precision.FP32], source, settings, a, b)

    # (name, render, keep freed memory in the heap as the CLI and the render pods do)
    paths: list[Path] = [
        ("baseline", public_path, False),
        ("baseline+heap", public_path, True),
        *((precision.value, (lambda a, b, p=precision: renderers[p].render_float(
            states[p], settings, a, b)), True) for precision in measured),
    ]
    timed = time_paths(paths, args.batch, args.runs)
    seconds = {name: median for name, (median, _, _) in timed.items()}
    frames = {name: rendered for name, (_, _, rendered) in timed.items()}
    for name, (median, times, _) in timed.items():
        log.info("%-13s %.2f s/frame (runs %s)", name, median,
                 " ".join(f"{t:.2f}" for t in times))
    base, heap_base = seconds["baseline"], seconds["baseline+heap"]
    summary = [(f"size {args.size}, {args.threads} threads, batch {args.batch}, median of "
               f"{args.runs}: baseline {base:.2f} s/frame ({heap_base:.2f} with freed memory "
               f"kept)")]
    for precision in measured:
        took = seconds[precision.value]
        summary.append(f"{precision.value} {took:.2f} (x{base / took:.2f}, "
                       f"x{heap_base / took:.2f})")
    if Precision.FP32 in measured:
        summary.append(f"fp32 max abs diff "
                       f"{(frames['fp32'] - frames['baseline']).abs().max().item():.1e}")
    for precision in (Precision.WINOGRAD, Precision.BF16):
        if precision in measured:
            summary.append(f"{precision.value} PSNR "
                           f"{psnr(frames[precision.value], frames['baseline']):.1f} dB")
    summary.append(f"peak RSS {peak_rss_gib():.2f} GiB")
    log.info(" | ".join(summary))

if __name__ == "__main__":
    main()
