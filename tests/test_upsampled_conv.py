"""The low-resolution form of a 3x3 convolution of a nearest-upsampled map."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from sadtalker.render.upsampled_conv import UpsampledConv3x3, axis_phases


@pytest.mark.parametrize("factor", [1, 2, 3, 4])
def test_equals_convolving_the_upsampled_map(factor: int) -> None:
    generator = torch.Generator().manual_seed(factor)
    conv = torch.nn.Conv2d(16, 8, 3, padding=1)
    with torch.no_grad():
        conv.weight.copy_(torch.randn(conv.weight.shape, generator=generator))
        conv.bias.copy_(torch.randn(8, generator=generator))
    x = torch.randn(2, 16, 7, 5, generator=generator)  # odd, non-square: edges matter
    with torch.inference_mode():
        expected = conv(F.interpolate(x, scale_factor=factor, mode="nearest"))
        got = UpsampledConv3x3(conv, factor)(x)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, rtol=0, atol=2e-5)


def test_x4_reads_three_distinct_phases_per_axis() -> None:
    phases = axis_phases(4)
    assert [p.phases for p in phases] == [(0,), (1, 2), (3,)]
    assert [p.first for p in phases] == [-1, 0, 0]
    assert [p.merge.shape[1] for p in phases] == [2, 1, 2]  # taps read: 2 + 1 + 2 of 3 x 4


def test_kernels_follow_the_module_to_bfloat16_and_stay_out_of_the_state_dict() -> None:
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(8, 4, 3, padding=1)
    x = torch.randn(1, 8, 6, 6)
    upsampled = UpsampledConv3x3(conv, 4)
    assert upsampled.state_dict() == {}  # derived from conv: never saved nor loaded
    assert len(list(upsampled.buffers())) == len(axis_phases(4)) ** 2 + 1  # kernels + bias
    with torch.inference_mode():
        reference = upsampled(x)
        half = upsampled.to(torch.bfloat16)(x.bfloat16())
    assert half.dtype is torch.bfloat16
    torch.testing.assert_close(half.float(), reference, rtol=0.05, atol=0.05)
