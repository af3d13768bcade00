"""The SPADE decoder written as a static graph, for runtimes other than torch's eager mode.

`DecoderGraph` computes what a folded `SPADEDecoder` computes (the same rearrangements, max abs
diff ~1e-6), with operators every exporter and converter knows: `F.instance_norm` in place of
the channels-last batch-norm trick, no in-place writes, and the label's upsampled 3x3
convolution as one small convolution per output phase stacked into channels and moved into
place by `pixel_shuffle`. OpenVINO and ONNX Runtime convert it (`sadtalker.render.int8`); the
3-D warps around the decoder stay in torch (OpenVINO's GridSample is 4-D only).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from sadtalker.render.spade_decoder import (
    LEAKY_SLOPE,
    NUM_MIDDLE_BLOCKS,
    SPADE,
    SPADEDecoder,
    SPADEResBlock,
)
from sadtalker.render.upsampled_conv import UpsampledConv3x3


def upsampled_conv(conv: UpsampledConv3x3, x: torch.Tensor) -> torch.Tensor:
    """`conv(x)` as per-phase convolutions, stacked phase-major and pixel-shuffled."""
    f = conv.factor
    padded = F.pad(x, (1, 1, 1, 1))
    h, w = x.shape[2:]
    by_phase: dict[tuple[int, int], torch.Tensor] = {}
    for index, (rows, cols) in enumerate(conv.phases):
        kernel = getattr(conv, f"kernel_{index}")
        window = padded[:, :, 1 + rows.first: 1 + rows.first + h + kernel.shape[2] - 1,
                        1 + cols.first: 1 + cols.first + w + kernel.shape[3] - 1]
        y = F.conv2d(window, kernel, conv.bias)
        for row in rows.phases:
            for col in cols.phases:
                by_phase[row, col] = y
    # pixel_shuffle reads channel c * f * f + row * f + col into pixel (f h + row, f w + col)
    stacked = torch.stack([by_phase[row, col] for row in range(f) for col in range(f)], dim=2)
    return F.pixel_shuffle(stacked.flatten(1, 2), f)


def spade_hidden(norm: SPADE, label: torch.Tensor) -> torch.Tensor:
    shared = (upsampled_conv(norm.upsampled_shared, label) if norm.label_factor > 1
              else norm.mlp_shared[0](label))
    return F.relu(shared)


def spade_scale(norm: SPADE, hidden: torch.Tensor) -> torch.Tensor:
    """1 + gamma."""
    return F.conv2d(hidden, norm.mlp_gamma.weight, norm.scale_bias, padding=1)


def spade(norm: SPADE, normalized: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
    hidden = spade_hidden(norm, label)
    return norm.mlp_beta(hidden) + normalized * spade_scale(norm, hidden)


def block_forward(block: SPADEResBlock, x: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
    """`SPADEResBlock.forward` without in-place writes."""
    normalized = F.instance_norm(x)
    if block.upsample > 1:
        normalized = F.interpolate(normalized, scale_factor=block.upsample, mode="nearest")
    dx = block.conv_0(F.leaky_relu(spade(block.norm_0, normalized, label), LEAKY_SLOPE))
    dx = block.conv_1(F.leaky_relu(spade(block.norm_1, F.instance_norm(dx), label),
                                   LEAKY_SLOPE))
    if not block.learned_shortcut:
        return dx + x
    hidden = spade_hidden(block.norm_s, label)
    shortcut = block.conv_s(normalized * spade_scale(block.norm_s, hidden))
    return dx + shortcut + F.conv2d(hidden, block.shortcut_beta_weight,
                                    block.shortcut_beta_bias, padding=1)


class DecoderGraph(nn.Module):
    """A folded fp32 `SPADEDecoder`'s forward in exportable operators (shares its weights)."""

    def __init__(self, decoder: SPADEDecoder) -> None:
        super().__init__()
        decoder.fold()
        self.decoder = decoder

    def forward(self, feature: torch.Tensor) -> torch.Tensor:
        d = self.decoder
        x = d.fc(feature)
        for i in range(NUM_MIDDLE_BLOCKS):
            x = block_forward(getattr(d, f"G_middle_{i}"), x, feature)
        x = block_forward(d.up_1, block_forward(d.up_0, x, feature), feature)
        return torch.sigmoid(d.conv_img(F.leaky_relu(x, LEAKY_SLOPE)))
