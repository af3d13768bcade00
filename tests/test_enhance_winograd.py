"""GFPGAN's 3x3 convolutions by Winograd: the same layers, the same results, on wide maps only."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from skimage.data import astronaut

from sadtalker.enhance_winograd import (
    MIN_MAP,
    ModulatedConv2d,
    WinogradConv2d,
    WinogradModulatedConv2d,
    use_winograd,
)
from sadtalker.render.winograd import gains


def modulated(in_features: int, out_features: int, kernel: int = 3, **kwargs) -> tuple:
    torch.manual_seed(in_features + out_features + kernel)
    public = ModulatedConv2d(in_features, out_features, kernel, num_style_feat=16, **kwargs)
    return public, WinogradModulatedConv2d.replacing(public)


@pytest.mark.parametrize(("in_features", "out_features", "size", "kwargs"), [
    (64, 64, 64, {}),  # the kernel's transformed copy is scaled per call
    (128, 128, 64, {}),  # the kernel outweighs the map: the maps are scaled instead
    (64, 96, 32, {"sample_mode": "upsample"}),
    (64, 64, 64, {"demodulate": False}),
])
def test_modulated_convolution_by_winograd_matches_gfpgans(in_features: int, out_features: int,
                                                           size: int, kwargs: dict) -> None:
    public, layer = modulated(in_features, out_features, **kwargs)
    x, style = torch.randn(2, in_features, size, size), torch.randn(2, 16)
    with torch.inference_mode():
        expected, got = public(x, style), layer(x, style)
    assert layer.kernel is not None  # Winograd ran
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4 * expected.abs().max().item())


@pytest.mark.parametrize(("in_features", "out_features", "kernel", "size", "batch"), [
    (64, 3, 1, 256, 1),  # an RGB layer: never Winograd
    (64, 3, 1, 64, 2),
    (64, 64, 3, MIN_MAP // 2, 1),  # a map too small
    (32, 32, 3, 128, 1),  # too narrow to gain
])
def test_modulated_convolution_left_to_torch_matches_gfpgans_on_channels_last_maps(
        in_features: int, out_features: int, kernel: int, size: int, batch: int) -> None:
    public, layer = modulated(in_features, out_features, kernel)
    x = torch.randn(batch, in_features, size, size).to(memory_format=torch.channels_last)
    style = torch.randn(batch, 16)
    with torch.inference_mode():
        expected, got = public(x.contiguous(), style), layer(x, style)
    assert layer.kernel is None
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_plain_convolution_runs_by_winograd_on_wide_maps_only() -> None:
    torch.manual_seed(0)
    public = torch.nn.Conv2d(64, 128, 3, 1, 1)
    layer = WinogradConv2d.replacing(public)
    with torch.inference_mode():
        small = torch.randn(1, 64, 8, 8).to(memory_format=torch.channels_last)
        torch.testing.assert_close(layer(small), public(small))
        assert layer.kernel is None and layer(small).is_contiguous()  # GFPGAN views it
        wide = torch.randn(1, 64, MIN_MAP, MIN_MAP + 5)
        expected = public(wide)
        torch.testing.assert_close(layer(wide), expected, rtol=1e-4,
                                   atol=1e-4 * expected.abs().max().item())
    assert layer.kernel is not None


def face(size: int = 512) -> torch.Tensor:
    """The astronaut's face as GFPGAN takes it: (1, 3, size, size) in [-1, 1]."""
    image = cv2.resize(astronaut()[0:300, 100:400], (size, size), interpolation=cv2.INTER_AREA)
    return torch.from_numpy(image).permute(2, 0, 1)[None].float() / 127.5 - 1


def test_gfpgan_by_winograd_restores_as_gfpgan_does() -> None:
    from sadtalker.enhance import gfpgan_v14

    torch.manual_seed(0)
    public = gfpgan_v14().eval()
    network = gfpgan_v14().eval()
    network.load_state_dict(public.state_dict())
    state = {key: value.clone() for key, value in network.state_dict().items()}
    swapped = use_winograd(network)

    wide = [m for m in public.modules() if isinstance(m, (torch.nn.Conv2d, ModulatedConv2d))
            and m.kernel_size in (3, (3, 3)) and gains(m.in_channels, m.out_channels)]
    assert swapped == len(wide) > 40
    assert network.state_dict().keys() == state.keys()
    for key, value in network.state_dict().items():
        assert torch.equal(value, state[key]), key
    with torch.inference_mode():
        torch.manual_seed(1)
        expected = public(face(), return_rgb=False)[0]
        torch.manual_seed(1)  # the same noise maps
        got = network(face(), return_rgb=False)[0]
    by_winograd = [m for m in network.modules()
                   if isinstance(m, (WinogradConv2d, WinogradModulatedConv2d))]
    assert 0 < sum(m.kernel is not None for m in by_winograd) < swapped  # large maps only
    assert network.stylegan_decoder.style_convs[-1].modulated_conv.kernel is not None
    assert network.stylegan_decoder.style_conv1.modulated_conv.kernel is None  # 4x4
    mse = torch.mean((got - expected) ** 2).item()
    assert 10 * np.log10(4 / mse) > 80  # dB over GFPGAN's [-1, 1] range
