"""The renderer end to end on synthetic weights: loading, public-code agreement, chunking."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from sadtalker import weights
from sadtalker.coeff_layout import ALIGNMENT, ANGLES, FRAME_COEFFS, SOURCE_COEFFS, TRANSLATION
from sadtalker.errors import CheckpointError, ImageError, InputError
from sadtalker.options import GenerateOptions, Precision
from sadtalker.pipeline import render_settings
from sadtalker.render import Renderer
from sadtalker.render.renderer import GENERATOR_PREFIX, KP_PREFIX
from sadtalker.testing.checkpoints import write_safetensors
from sadtalker.testing.example_inputs import astronaut_crop
from sadtalker.testing.render_weights import mapping_weights, render_weights

SEED = 0
TINY = 128  # the smallest size the hourglasses accept; every layer still runs
EXPECTED = Path(__file__).parent / "data" / "render_expected.json"
POOL = 16  # expectations store 16x16 block means of each frame
TOLERANCE = 1e-4


def clip_coefficients(frames: int) -> np.ndarray:
    """A smooth (frames, FRAME_COEFFS) clip: expression, angles (rad) and translation in
    typical ranges."""
    t = np.arange(frames)[:, None]
    k = np.arange(FRAME_COEFFS)[None, :]
    coeffs = 0.4 * np.sin(0.3 * t + 0.7 * k)
    coeffs[:, ANGLES] = 0.15 * np.sin(0.2 * t + k[:, ANGLES])
    coeffs[:, TRANSLATION] = 0.03 * np.cos(0.1 * t + k[:, TRANSLATION])
    return coeffs.astype(np.float32)


def source_coefficients() -> np.ndarray:
    """(SOURCE_COEFFS,) source coefficients; the alignment's scale and offsets (pixels) last."""
    coeffs = 0.3 * np.cos(1.3 * np.arange(SOURCE_COEFFS))
    coeffs[ALIGNMENT] = [1.3, 121.0, 97.0]
    return coeffs.astype(np.float32)


def block_means(frames: torch.Tensor) -> np.ndarray:
    """(N, 3, S, S) -> (N, 3, S/16, S/16) means of 16x16 blocks."""
    return torch.nn.functional.avg_pool2d(frames, POOL).numpy()


@pytest.fixture(scope="module")
def renderer_weights() -> dict[str, torch.Tensor]:
    return render_weights(SEED, TINY)


def tiny_renderer(renderer_weights: dict[str, torch.Tensor], coeff_channels: int) -> Renderer:
    return Renderer.from_state_dicts(
        weights.strip_prefix(renderer_weights, KP_PREFIX),
        weights.strip_prefix(renderer_weights, GENERATOR_PREFIX),
        mapping_weights(SEED, coeff_channels), TINY, coeff_channels)


@pytest.mark.parametrize("case", json.loads(EXPECTED.read_text())["cases"],
                         ids=lambda case: case["name"])
def test_frames_match_the_public_code(renderer_weights, case) -> None:
    renderer = tiny_renderer(renderer_weights, case["coeff_channels"])
    options = GenerateOptions(**case["options"])
    state = renderer.prepare(astronaut_crop(TINY), source_coefficients())
    settings = render_settings(renderer, state, clip_coefficients(case["frames"]), options)
    frames = renderer.render_float(state, settings, 0, case["frames"])
    expected = np.array(case["block_means"], dtype=np.float32)
    assert np.abs(block_means(frames) - expected).max() < TOLERANCE
    # the synthetic weights give an image with structure: neither flat nor saturated
    assert 0.2 < frames.mean() < 0.8 and frames.std() > 0.1
    assert ((frames < 0.01) | (frames > 0.99)).float().mean() < 0.05


def test_chunked_render_equals_whole_render(renderer_weights) -> None:
    renderer = tiny_renderer(renderer_weights, FRAME_COEFFS)
    coeffs = clip_coefficients(3)
    options = GenerateOptions(batch_size=2, input_yaw=(-10.0, 10.0))
    state = renderer.prepare(astronaut_crop(TINY), source_coefficients())
    settings = render_settings(renderer, state, coeffs, options)
    batches = [len(images) for images in renderer.batches(state, settings, 0, 3)]
    whole = renderer.render(state, settings, 0, 3)
    assert batches == [2, 1] and whole.shape == (3, TINY, TINY, 3) and whole.dtype == np.uint8
    # each chunk as a separate pod would do it: its own prepare and settings
    parts = []
    for start, stop in ((0, 2), (2, 3)):
        state = renderer.prepare(astronaut_crop(TINY), source_coefficients())
        parts.append(renderer.render(state, render_settings(renderer, state, coeffs, options),
                                     start, stop))
    np.testing.assert_array_equal(np.concatenate(parts), whole)
    assert not np.array_equal(whole[0], whole[2])  # the frames really move


def test_missing_key_is_named(renderer_weights) -> None:
    generator_state = weights.strip_prefix(renderer_weights, GENERATOR_PREFIX)
    del generator_state["fourth.bias"]
    with pytest.raises(CheckpointError, match=r"renderer weights \[generator\].*fourth\.bias"):
        Renderer.from_state_dicts(weights.strip_prefix(renderer_weights, KP_PREFIX),
                                  generator_state,
                                  mapping_weights(SEED, FRAME_COEFFS), TINY, FRAME_COEFFS)


def test_source_of_the_wrong_size_and_frames_outside_the_clip_are_refused(
        renderer_weights) -> None:
    renderer = tiny_renderer(renderer_weights, FRAME_COEFFS)
    with pytest.raises(ImageError, match="128x128"):
        renderer.prepare(astronaut_crop(256), source_coefficients())
    state = renderer.prepare(astronaut_crop(TINY), source_coefficients())
    with pytest.raises(InputError, match=r"\[2, 5\)"):
        renderer.render(state, render_settings(renderer, state, clip_coefficients(4),
                                               GenerateOptions()), 2, 5)


@pytest.fixture(scope="module")
def official_files(renderer_weights, module_dir: Path) -> Path:
    """The renderer's two files at 256, written in the official layout."""
    write_safetensors(module_dir / weights.SADTALKER_256, renderer_weights)
    torch.save({"mapping": mapping_weights(SEED, FRAME_COEFFS), "epoch": 229},
               module_dir / weights.MAPPING_CROP)
    return module_dir


def render_official(directory: Path, precision: Precision) -> np.ndarray:
    """Two 256 frames from the official files, as float64 pixels."""
    renderer = Renderer.load(directory, 256, FRAME_COEFFS, precision)
    state = renderer.prepare(astronaut_crop(256), source_coefficients())
    settings = render_settings(renderer, state, clip_coefficients(2),
                               GenerateOptions(batch_size=2))
    frames = renderer.render(state, settings, 0, 2)
    return frames.astype(np.float64)


@pytest.fixture(scope="module")
def fp32_frames(official_files: Path) -> np.ndarray:
    return render_official(official_files, Precision.FP32)


def test_load_official_files_and_render_256_in_fp32(fp32_frames) -> None:
    assert fp32_frames.shape == (2, 256, 256, 3)
    assert 50 < fp32_frames.mean() < 200 and fp32_frames.std() > 25


def test_winograd_frames_equal_fp32_up_to_rounding(official_files, fp32_frames) -> None:
    winograd = render_official(official_files, Precision.WINOGRAD)
    difference = np.abs(winograd - fp32_frames)
    assert difference.max() <= 1  # ~1e-5 relative per layer: only uint8 rounding differs
    assert difference.mean() < 0.01


@pytest.mark.bf16
def test_bf16_frames_stay_close_to_fp32(official_files, fp32_frames) -> None:
    mse = np.mean((render_official(official_files, Precision.BF16) - fp32_frames) ** 2)
    psnr = 10 * np.log10(255**2 / max(mse, 1e-12))
    # 33 dB here (weights calibrated at 128 px); bench/render_speed.py, calibrated at the
    # rendered size, measures 42.5 dB
    assert psnr > 30
