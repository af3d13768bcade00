"""The SPADE decoder as a static graph computes what the eager decoder computes."""

from __future__ import annotations

import torch

from sadtalker.render.decoder_graph import DecoderGraph, upsampled_conv
from sadtalker.render.spade_decoder import SPADEDecoder
from sadtalker.render.upsampled_conv import UpsampledConv3x3


def test_upsampled_conv_by_pixel_shuffle_matches_the_in_place_form() -> None:
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(8, 5, 3, padding=1)
    x = torch.randn(2, 8, 6, 7)
    for factor in (2, 4):
        upsampled = UpsampledConv3x3(conv, factor)
        expected = upsampled(x)
        assert upsampled_conv(upsampled, x).shape == expected.shape
        torch.testing.assert_close(upsampled_conv(upsampled, x), expected, rtol=0, atol=1e-5)


@torch.inference_mode()
def test_decoder_graph_matches_the_eager_decoder() -> None:
    torch.manual_seed(0)
    decoder = SPADEDecoder().eval()
    decoder.set_frame_dtype(torch.float32)
    feature = torch.randn(2, 256, 8, 8)
    expected = decoder(feature.to(memory_format=torch.channels_last))
    out = DecoderGraph(decoder)(feature)
    assert out.shape == (2, 3, 32, 32)
    assert (out - expected).abs().max().item() < 1e-5
