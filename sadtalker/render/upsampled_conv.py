"""A 3x3 convolution of a nearest-upsampled map, computed at the map's own resolution.

SPADE feeds its 3x3 ``mlp_shared`` convolution the S/4 feature map upsampled x2 or x4 by
nearest neighbour. Upsampled pixels repeat, so each output phase (the position of a pixel
inside its f x f block) sees at most 2 x 2 distinct input pixels: summing the 3x3 weights that
land on the same input pixel gives a small kernel per phase, applied to the small map. For x4
this is ~6x fewer multiply-adds (phases 1 and 2 even coincide); the result is the same up to
float rounding of the summed weights.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

TAPS = (-1, 0, 1)  # a 3x3 kernel's offsets along one axis


@dataclass(frozen=True)
class Phase:
    """Output phases along one axis that read the same input offsets with the same weights."""

    phases: tuple[int, ...]  # positions inside the f-pixel block
    first: int  # lowest input offset read (-1 or 0)
    merge: torch.Tensor  # (3, taps) 0/1: which of the 3 kernel taps lands on which input tap


@functools.cache
def axis_phases(factor: int) -> tuple[Phase, ...]:
    """The distinct phases of one axis for an integer upsampling factor."""
    groups: dict[tuple[int, ...], list[int]] = {}
    for phase in range(factor):
        # tap d of output pixel f*i + phase reads input pixel floor((f*i + phase + d) / f)
        offsets = tuple((phase + d) // factor for d in TAPS)
        groups.setdefault(offsets, []).append(phase)
    out = []
    for offsets, phases in groups.items():
        first = min(offsets)
        merge = torch.zeros(len(TAPS), max(offsets) - first + 1)
        for tap, offset in enumerate(offsets):
            merge[tap, offset - first] = 1
        out.append(Phase(tuple(phases), first, merge))
    return tuple(out)


class UpsampledConv3x3(nn.Module):
    """``conv(F.interpolate(x, scale_factor=factor, mode="nearest"))`` for a 3x3, padding-1
    convolution, without building the upsampled input.

    The per-phase kernels are derived once from `conv`'s weights, in float32, and kept as
    non-persistent buffers: `.to()` casts them with the rest of a model, and state dicts (the
    checkpoint layout) do not change.
    """

    def __init__(self, conv: nn.Conv2d, factor: int) -> None:
        super().__init__()
        self.factor = factor
        self.out_channels = conv.out_channels
        self.phases = [(rows, cols) for rows in axis_phases(factor) for cols in axis_phases(factor)]
        weight = conv.weight.detach().float()
        for index, (rows, cols) in enumerate(self.phases):
            kernel = torch.einsum("oiyx,ya,xb->oiab", weight, rows.merge, cols.merge)
            self.register_buffer(f"kernel_{index}", kernel.to(conv.weight.dtype), persistent=False)
        bias = None if conv.bias is None else conv.bias.detach().clone()
        self.register_buffer("bias", bias, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (N, C, H, W) -> (N, out, f H, f W), channels-last (the next convolutions' layout)."""
        n, _, h, w = x.shape
        f = self.factor
        padded = F.pad(x, (1, 1, 1, 1))
        out = x.new_empty(n, h, f, w, f, self.out_channels)
        for index, (rows, cols) in enumerate(self.phases):
            kernel = getattr(self, f"kernel_{index}")
            window = padded[:, :, 1 + rows.first: 1 + rows.first + h + kernel.shape[2] - 1,
                            1 + cols.first: 1 + cols.first + w + kernel.shape[3] - 1]
            y = F.conv2d(window, kernel, self.bias).permute(0, 2, 3, 1)
            for row in rows.phases:
                for col in cols.phases:
                    out[:, :, row, :, col] = y
        return out.view(n, h * f, w * f, self.out_channels).permute(0, 3, 1, 2)
