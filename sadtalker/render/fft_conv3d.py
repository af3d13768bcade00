"""A 3-D convolution with a large spatial kernel, computed by 2-D FFTs over height and width.

Dense motion's mask convolution (7x7x7, 112 -> K+1 channels on a 16 x S/4 x S/4 volume) costs
343 multiply-adds per output voxel per input channel, ~7 % of a fp32 frame. In the frequency
domain of each depth slice the 7x7 spatial window becomes one complex product per frequency;
the 7 depth taps stay direct. The map is cut into overlapping blocks of BLOCK + 6 pixels a side
(overlap-save: each block yields BLOCK outputs), so the kernel's spectra have one size, set
once, whatever the render size, and one block's spectra are in memory at a time. Same result
as F.conv3d to ~1e-6 relative.
"""

from __future__ import annotations

import torch
from torch import nn

BLOCK = 64  # output pixels per FFT block side


class FFTConv3d:
    """`conv` (a Conv3d with a cubic odd kernel, stride 1, padding kernel // 2) on float32
    volumes, by FFT over height and width; the spectra are computed once, here."""

    def __init__(self, conv: nn.Conv3d) -> None:
        kernel = conv.kernel_size[0]
        if (conv.kernel_size != (kernel,) * 3 or kernel % 2 == 0 or conv.stride != (1, 1, 1)
                or conv.padding != (kernel // 2,) * 3 or conv.groups != 1):
            raise ValueError("FFTConv3d needs a cubic odd kernel, stride 1, 'same' padding, "
                             "one group")
        self.kernel = kernel
        self.size = BLOCK + kernel - 1  # FFT length: a block and its halo
        weight = conv.weight.detach().float()  # (out, in, depth, y, x)
        # correlation = irfft(rfft(x) * conj(rfft(w))): (depth tap, frequency, in, out)
        spectra = torch.fft.rfft2(weight, s=(self.size, self.size)).conj()
        self.spectra = spectra.permute(2, 3, 4, 1, 0).flatten(1, 2).contiguous()
        self.bias = None if conv.bias is None else conv.bias.detach().float()

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """x (N, C, D, H, W) float32 -> (N, out, D, H, W), as the convolution."""
        n, _, depth, height, width = x.shape
        out = x.new_empty(n, self.spectra.shape[-1], depth, height, width, dtype=torch.float32)
        # one block at a time: the spectra of a block are ~3x its input, which at 512 would
        # be ~1 GiB for the whole map
        for top in range(0, height, BLOCK):
            for left in range(0, width, BLOCK):
                rows, cols = min(BLOCK, height - top), min(BLOCK, width - left)
                out[..., top:top + rows, left:left + cols] = self.block(x, top, left)[
                    ..., :rows, :cols]
        if self.bias is not None:
            out += self.bias.view(1, -1, 1, 1, 1)
        return out

    def block(self, x: torch.Tensor, top: int, left: int) -> torch.Tensor:
        """The (N, out, D, BLOCK, BLOCK) outputs whose top-left corner is (top, left)."""
        n, channels, depth, height, width = x.shape
        half, size = self.kernel // 2, self.size
        # the block's input with its halo, zero outside the map (the convolution's padding)
        window = x.new_zeros(n, channels, depth + 2 * half, size, size, dtype=torch.float32)
        y0, y1 = max(top - half, 0), min(top - half + size, height)
        x0, x1 = max(left - half, 0), min(left - half + size, width)
        window[:, :, half:half + depth, y0 - top + half:y1 - top + half,
               x0 - left + half:x1 - left + half] = x[..., y0:y1, x0:x1]
        spectra = torch.fft.rfft2(window)  # (N, C, D', size, size // 2 + 1)
        frequencies = spectra.shape[-2] * spectra.shape[-1]
        # (frequency, depth, N, C): each depth tap is then one contiguous slice
        stacked = spectra.permute(3, 4, 2, 0, 1).reshape(
            frequencies, depth + 2 * half, n, channels).contiguous()
        out = None
        for tap in range(self.kernel):
            product = torch.bmm(stacked[:, tap:tap + depth].flatten(1, 2), self.spectra[tap])
            out = product if out is None else out.add_(product)
        features = out.shape[-1]
        out = out.view(size, size // 2 + 1, depth, n, features).permute(3, 4, 2, 0, 1)
        return torch.fft.irfft2(out, s=(size, size))[..., :BLOCK, :BLOCK]
