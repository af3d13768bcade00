"""A 3-D convolution with a large spatial kernel, computed by 2-D FFTs over height and width.

Dense motion's mask convolution (7x7x7, 112 -> K+1 channels on a 16 x S/4 x S/4 volume) costs
343 multiply-adds per output voxel per input channel, ~1/8 of a fp32 frame. In the frequency
domain of each depth slice the 7x7 spatial window becomes one complex product per frequency;
the 7 depth taps stay direct. The map is cut into overlapping blocks of BLOCK + 6 pixels a side
(overlap-save: each block yields BLOCK outputs), so the kernel's spectra have one size, set
once, whatever the render size. Same result as F.conv3d to ~1e-6 relative.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
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
        half, size = self.kernel // 2, self.size
        rows, cols = -(-height // BLOCK), -(-width // BLOCK)
        # zero padding: the convolution's, and up to whole blocks
        padded = F.pad(x.float(), (half, half + BLOCK * cols - width,
                                   half, half + BLOCK * rows - height, half, half))
        blocks = padded.unfold(3, size, BLOCK).unfold(4, size, BLOCK)  # N C D' R Q y x
        out = x.new_empty(n, self.spectra.shape[-1], depth, rows * BLOCK, cols * BLOCK,
                          dtype=torch.float32)
        for row in range(rows):  # one row of blocks at a time bounds the spectra's memory
            out[..., row * BLOCK:(row + 1) * BLOCK, :] = self.block_row(blocks[:, :, :, row])
        out = out[..., :height, :width]
        if self.bias is not None:
            out = out + self.bias.view(1, -1, 1, 1, 1)
        return out

    def block_row(self, blocks: torch.Tensor) -> torch.Tensor:
        """blocks (N, C, D + kernel - 1, Q, size, size) -> (N, out, D, BLOCK, Q * BLOCK)."""
        n, channels, padded_depth, cols = blocks.shape[:4]
        depth, size = padded_depth - self.kernel + 1, self.size
        spectra = torch.fft.rfft2(blocks)  # (N, C, D', Q, size, size // 2 + 1)
        frequencies = spectra.shape[-2] * spectra.shape[-1]
        # (frequency, depth, N * Q, C): each depth tap is then one contiguous slice
        stacked = spectra.permute(4, 5, 2, 0, 3, 1).reshape(
            frequencies, padded_depth, n * cols, channels).contiguous()
        out = None
        for tap in range(self.kernel):
            window = stacked[:, tap:tap + depth].flatten(1, 2)  # (F, D * N * Q, C)
            product = torch.bmm(window, self.spectra[tap])
            out = product if out is None else out.add_(product)
        features = out.shape[-1]
        out = out.view(size, size // 2 + 1, depth, n, cols, features).permute(3, 5, 2, 4, 0, 1)
        result = torch.fft.irfft2(out, s=(size, size))[..., :BLOCK, :BLOCK]  # N out D Q y x
        return result.transpose(3, 4).reshape(n, features, depth, BLOCK, cols * BLOCK)
