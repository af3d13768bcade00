"""Winograd F(6x6, 3x3) convolutions: the same numbers as a direct convolution, wherever used."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from sadtalker.render import winograd
from sadtalker.render.generator import Generator
from sadtalker.render.spade_decoder import SPADE, SPADEDecoder
from sadtalker.render.winograd import (
    Conv3x3,
    Conv3x3x3,
    WinogradKernel,
    gains,
    transform_matrices,
)

TOLERANCE = 5e-5  # of the output's largest magnitude; direct fp32 is ~2e-6 off float64


def relative_error(test: torch.Tensor, reference: torch.Tensor) -> float:
    return ((test.double() - reference).abs().max() / reference.abs().max()).item()


@pytest.mark.parametrize("tile, points", [(2, (0.0, 1.0, -1.0)), (4, (0.0, 1.0, -1.0, 2.0, -2.0)),
                                          (6, winograd.POINTS)])
def test_transforms_compute_the_correlation_exactly(tile, points):
    a_t, g, b_t = transform_matrices(tile, 3, points)
    rng = np.random.default_rng(0)
    for _ in range(5):
        d, kernel = rng.normal(size=tile + 2), rng.normal(size=3)
        expected = [d[i:i + 3] @ kernel for i in range(tile)]
        np.testing.assert_allclose(a_t @ ((g @ kernel) * (b_t @ d)), expected, atol=1e-10)


def test_points_that_cannot_make_a_transform_are_refused():
    with pytest.raises(ValueError, match="distinct"):
        transform_matrices(4, 3, (0.0, 1.0, 1.0, 2.0, -2.0))
    with pytest.raises(ValueError, match="5 distinct"):
        transform_matrices(4, 3, (0.0, 1.0))


@pytest.mark.parametrize("batch, height, width", [(1, 16, 16), (2, 13, 9), (1, 4, 27)])
@pytest.mark.parametrize("layout", [torch.channels_last, torch.contiguous_format])
@pytest.mark.parametrize("in_features, out_features", [
    (24, 40), (winograd.CHANNEL_BLOCK + 8, winograd.CHANNEL_BLOCK + 3)])  # part of a 2nd block
def test_kernel_matches_a_direct_convolution_on_any_map(batch, height, width, layout,
                                                        in_features, out_features):
    torch.manual_seed(0)
    x = torch.randn(batch, in_features, height, width).contiguous(memory_format=layout)
    weight = torch.randn(out_features, in_features, 3, 3)
    bias = torch.randn(out_features)
    out = WinogradKernel(weight)(x, bias)
    expected = F.conv2d(x.double(), weight.double(), bias.double(), padding=1)
    assert out.shape == expected.shape
    assert out.is_contiguous(memory_format=torch.channels_last)
    assert relative_error(out, expected) < TOLERANCE


@pytest.mark.parametrize("factor", [1, 2, 4])
@pytest.mark.parametrize("features", [40, winograd.CHANNEL_BLOCK + 8])
def test_modulation_is_spades_from_the_kernels_convolution(factor, features):
    torch.manual_seed(0)
    hidden = torch.randn(2, 24, 12, 16).contiguous(memory_format=torch.channels_last)
    normalized = torch.randn(2, features, 12 // factor, 16 // factor).contiguous(
        memory_format=torch.channels_last)
    weight, bias = torch.randn(2 * features, 24, 3, 3), torch.randn(2 * features)
    conv = F.conv2d(hidden.double(), weight.double(), bias.double(), padding=1)
    scale, shift = conv[:, :features], conv[:, features:]
    upsampled = F.interpolate(normalized.double(), scale_factor=factor, mode="nearest")
    out = WinogradKernel(weight).modulate(hidden, bias, normalized, 0.2)
    assert out.is_contiguous(memory_format=torch.channels_last)
    assert relative_error(out, F.leaky_relu(shift + upsampled * scale, 0.2)) < TOLERANCE
    # scale alone (the shortcut's SPADE), no activation
    alone = WinogradKernel(weight[:features]).modulate(hidden, bias[:features], normalized)
    assert relative_error(alone, upsampled * scale) < TOLERANCE
    with pytest.raises(ValueError, match="cannot modulate"):
        WinogradKernel(weight[:features + 1]).modulate(hidden, bias, normalized)
    for mismatched in (hidden[..., :-1], hidden[:1]):  # size, batch
        with pytest.raises(ValueError, match="does not upsample"):
            WinogradKernel(weight).modulate(mismatched, bias, normalized)
    with pytest.raises(ValueError, match="slope in"):  # leaky ReLU computed as a max
        WinogradKernel(weight).modulate(hidden, bias, normalized, 1.5)


@pytest.mark.parametrize("depth", [1, 2, 5])
def test_3d_kernel_matches_a_direct_convolution(depth):
    torch.manual_seed(0)
    x = torch.randn(2, 24, depth, 13, 9).contiguous(memory_format=torch.channels_last_3d)
    weight, bias = torch.randn(40, 24, 3, 3, 3), torch.randn(40)
    out = WinogradKernel(weight)(x, bias)
    expected = F.conv3d(x.double(), weight.double(), bias.double(), padding=1)
    assert out.shape == expected.shape
    assert out.is_contiguous(memory_format=torch.channels_last_3d)
    assert relative_error(out, expected) < TOLERANCE
    with pytest.raises(ValueError, match="3-D kernel cannot convolve"):
        WinogradKernel(weight)(x[:, :, 0])


def test_conv3x3x3_keeps_conv3ds_checkpoint_and_runs_winograd():
    torch.manual_seed(0)
    conv = Conv3x3x3(64, 80)
    assert list(conv.state_dict()) == list(nn.Conv3d(64, 80, 3, padding=1).state_dict())
    x = torch.randn(1, 64, 3, 8, 8).contiguous(memory_format=torch.channels_last_3d)
    with torch.inference_mode():
        direct = conv(x)
        conv.use_winograd(True)
        assert conv.winograd is not None
        assert relative_error(conv(x), direct.double()) < TOLERANCE


def test_row_bands_give_the_whole_maps_result(monkeypatch):
    torch.manual_seed(0)
    x = torch.randn(2, 32, 30, 22).contiguous(memory_format=torch.channels_last)
    kernel = WinogradKernel(torch.randn(48, 32, 3, 3))
    whole = kernel(x)
    monkeypatch.setattr(winograd, "CHUNK_ELEMENTS", 1)  # one tile row per band
    torch.testing.assert_close(kernel(x), whole, rtol=1e-6, atol=1e-6)


def test_thread_count_does_not_change_the_result():
    torch.manual_seed(0)
    x = torch.randn(3, 64, 21, 18).contiguous(memory_format=torch.channels_last)
    kernel = WinogradKernel(torch.randn(130, 64, 3, 3))  # a channel block and a remainder
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        single = kernel(x)
        torch.set_num_threads(2)
        torch.testing.assert_close(kernel(x), single, rtol=1e-6, atol=1e-5)
    finally:
        torch.set_num_threads(threads)


# Both transforms on seeded maps (a channel block and a remainder); prints whether this process
# compiled them or loaded numba's cache, and the bytes of the output.
TRANSFORM_ONCE = """
import hashlib
import numpy as np
from sadtalker.render import winograd
rng = np.random.default_rng(0)
x = rng.standard_normal((2, 20, 14, 130), dtype=np.float32)
rows, cols = 4, 3
tiles = np.zeros((64, 2 * rows * cols, 130), np.float32)
winograd.transform_input(x, tiles, 0, rows, cols)
y = np.zeros((2, 20, 14, 130), np.float32)
winograd.transform_output(tiles, rng.standard_normal(130, dtype=np.float32), y, 0, rows, cols)
stats = winograd._output_rows.stats
print("cached" if stats.cache_hits else "compiled", hashlib.sha256(y.tobytes()).hexdigest())
"""


def test_compiling_and_loading_numbas_cache_give_the_same_numbers(tmp_path):
    """A process that compiles the transforms and one that loads them from numba's cache
    compute the same floats: a render does not depend on which ran."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    runs = [subprocess.run([sys.executable, "-c", TRANSFORM_ONCE], env=env, capture_output=True,
                           text=True, check=True).stdout.split() for _ in range(2)]
    assert [how for how, _ in runs] == ["compiled", "cached"]
    assert runs[0][1] == runs[1][1]


def test_conv3x3_keeps_conv2ds_checkpoint_and_uses_winograd_only_where_it_gains():
    torch.manual_seed(0)
    wide, narrow = Conv3x3(128, 512), Conv3x3(128, 32)
    assert list(wide.state_dict()) == list(nn.Conv2d(128, 512, 3, padding=1).state_dict())
    assert gains(128, 512) and gains(128, 64) and gains(64, 64) and not gains(32, 256)
    # 3-D: the depth taps share the transforms; the largest kernels stay direct (memory)
    assert gains(80, 64, 3) and gains(128, 32, 3) and not gains(16, 32, 3)
    assert not gains(256, 512, 3) and not gains(1024, 512, 3)
    x = torch.randn(1, 128, 12, 12).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        direct = wide(x)
        wide.use_winograd(True)
        narrow.use_winograd(True)
        assert wide.winograd is not None and narrow.winograd is None
        assert list(wide.state_dict()) == ["weight", "bias"]  # nothing new is saved
        assert relative_error(wide(x), direct.double()) < TOLERANCE
        wide.use_winograd(False)
        assert wide.winograd is None and torch.equal(wide(x), direct)


def test_bfloat16_maps_bypass_the_float32_kernel():
    torch.manual_seed(0)
    conv = Conv3x3(256, 256).bfloat16()
    conv.use_winograd(True)
    x = torch.randn(1, 256, 8, 8).bfloat16()
    with torch.inference_mode():
        torch.testing.assert_close(conv(x), F.conv2d(x, conv.weight, conv.bias, padding=1),
                                   rtol=0, atol=0)


def test_decoder_with_winograd_matches_its_direct_form():
    torch.manual_seed(0)
    decoder = SPADEDecoder().eval()
    decoder.set_frame_dtype(torch.float32)
    feature = torch.randn(1, 256, 16, 16).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        direct = decoder(feature)
        decoder.set_frame_dtype(torch.float32, winograd=True)
        fast = {name for name, m in decoder.named_modules()
                if isinstance(m, Conv3x3) and m.winograd is not None}
        modulating = {name for name, m in decoder.named_modules()
                      if isinstance(m, SPADE) and m.modulation is not None}
        # every layer 64 or more channels wide on both sides, except those that never run:
        # the up blocks' shared convs (per-phase kernels run instead), their shortcut's beta
        # (folded into shortcut_beta_weight), and gamma and beta, one kernel per SPADE
        middle = 2 + 2  # conv_0, conv_1; the shared convs of norm_0 and norm_1
        up = 2 + 2  # conv_0, conv_1 of up_0 and of up_1 (256 -> 64, 64 -> 64)
        assert len(fast) == 1 + 6 * middle + up
        assert {"fc", "G_middle_5.norm_1.mlp_shared.0", "up_0.conv_1", "up_1.conv_1"} <= fast
        assert not {"up_0.norm_s.mlp_beta", "up_0.norm_0.mlp_shared.0",
                    "G_middle_0.norm_0.mlp_gamma", "up_1.norm_s.mlp_gamma", "conv_img"} & fast
        assert len(modulating) == 6 * 2 + 3 + 3 and "up_1.norm_1" in modulating  # 64 wide
        assert (decoder(feature) - direct).abs().max() < 1e-4
    with pytest.raises(ValueError, match="float32"):
        decoder.set_frame_dtype(torch.bfloat16, winograd=True)


def test_generator_runs_its_wide_planar_convs_by_winograd_only_on_that_path():
    torch.manual_seed(0)
    generator = Generator().eval()
    block = generator.third  # conv 512 -> 256 at the decoder's input size, BatchNorm, leaky ReLU
    x = torch.randn(1, 512, 10, 10).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        generator.set_frame_dtype(torch.float32)
        assert block.conv.winograd is None
        direct = block(x)
        generator.set_frame_dtype(torch.float32, winograd=True)
        planar = {name for name, m in generator.named_modules()
                  if isinstance(m, Conv3x3) and m.winograd is not None}
        # the source encoder (first, down blocks) runs once per chunk: it stays direct
        assert "third.conv" in planar and not any(n.startswith(("first", "down")) for n in planar)
        assert relative_error(block(x), direct.double()) < TOLERANCE
    assert {"third.conv.weight", "third.conv.bias"} <= set(generator.state_dict())


def test_transforms_compile_before_the_first_map():
    winograd.compile_transforms()
    for transform in (winograd._input_rows, winograd._output_rows):
        assert len(transform.signatures) == 1
    torch.manual_seed(0)
    x = torch.randn(1, 128, 9, 7).contiguous(memory_format=torch.channels_last)
    weight = torch.randn(128, 128, 3, 3)
    WinogradKernel(weight)(x)  # the real maps' types: no second specialisation
    for transform in (winograd._input_rows, winograd._output_rows):
        assert len(transform.signatures) == 1
