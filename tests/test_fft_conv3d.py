"""The mask's 7x7x7 convolution by FFT: the same numbers as the direct convolution."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from sadtalker.render.dense_motion import DenseMotionNetwork
from sadtalker.render.fft_conv3d import BLOCK, FFTConv3d

TOLERANCE = 2e-5  # of the output's largest magnitude


def relative_error(test: torch.Tensor, reference: torch.Tensor) -> float:
    return ((test.double() - reference.double()).abs().max()
            / reference.double().abs().max()).item()


@pytest.mark.parametrize("bias", [True, False])
def test_matches_the_direct_convolution_across_blocks_and_edges(bias):
    torch.manual_seed(0)
    conv = nn.Conv3d(6, 5, 7, padding=3, bias=bias)
    # more than one block each way, neither side a multiple of BLOCK, depth shorter than 7
    x = torch.randn(2, 6, 4, BLOCK + 9, 2 * BLOCK + 3)
    with torch.inference_mode():
        out = FFTConv3d(conv)(x)
        expected = F.conv3d(x, conv.weight, conv.bias, padding=3)
    assert out.shape == expected.shape
    assert relative_error(out, expected) < TOLERANCE


def test_other_convolutions_are_refused():
    for conv in (nn.Conv3d(4, 4, (1, 7, 7), padding=(0, 3, 3)), nn.Conv3d(4, 4, 7, padding=2),
                 nn.Conv3d(4, 4, 6, padding=3)):
        with pytest.raises(ValueError, match="cubic odd kernel"):
            FFTConv3d(conv)


def test_dense_motion_with_the_fft_mask_matches_its_direct_form():
    torch.manual_seed(0)
    network = DenseMotionNetwork(num_keypoints=3, feature_channels=8, depth=4).eval()
    for module in network.modules():  # a norm that neither vanishes nor explodes
        if isinstance(module, nn.BatchNorm3d):
            module.running_var.fill_(4.0)
    volume = torch.randn(1, 8, 4, 32, 32)
    kp_source, kp_driving = torch.rand(1, 3, 3) - 0.5, torch.rand(2, 3, 3) - 0.5
    with torch.inference_mode():
        network.set_frame_dtype(torch.float32)
        source = network.prepare(volume, kp_source)
        direct = network(source, kp_source, kp_driving)
        network.set_frame_dtype(torch.float32, winograd=True)
        assert network.mask_by_fft is not None
        by_fft = network(source, kp_source, kp_driving)
    for fast, reference in zip(by_fft, direct):
        assert (fast - reference).abs().max() < 1e-5
    with pytest.raises(ValueError, match="float32"):
        network.set_frame_dtype(torch.bfloat16, winograd=True)
