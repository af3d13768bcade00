"""3x3 convolutions by Winograd's minimal filtering F(4x4, 3x3): fp32 with fewer multiplies.

A direct 3x3 convolution spends 9 multiply-adds per output pixel per input channel; F(4x4, 3x3)
transforms 6x6 input tiles and the kernel into a space where each 4x4 output tile costs 36
(4x fewer), at the price of three cheap linear transforms, ~1e-5 relative rounding error and
transformed kernels 4x the size of the plain ones (F(6x6, 3x3) saves a little more arithmetic
but needs 7.1x, which a 512 render pod's memory cannot spare). On CPUs without native bf16,
oneDNN's fp32 convolutions are the renderer's cost; on the SPADE decoder's wide layers the
multiplies saved outweigh the transforms (`bench/render_speed.py`, precision `winograd`), on
narrow ones they do not (`gains`).

The transform matrices follow from the interpolation points by the Toom-Cook construction
(Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016): the output
transform A and kernel transform G are written down from the points, and the input transform
B is the unique solution of the identity that makes A^T[(G g) * (B^T d)] the correlation of
d and g.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

KERNEL = 3
TILE = 4  # output pixels per tile side
POINTS = (0.0, 1.0, -1.0, 2.0, -2.0)  # plus the point at infinity
CHUNK_ELEMENTS = 2**21  # floats per transformed chunk: tiles are processed in row bands
MIN_OUT_FEATURES = 256  # narrower layers lose: the transforms outweigh the saved multiplies
MIN_WEIGHT_ELEMENTS = 128 * 512  # in x out channels below which the same holds


def transform_matrices(tile: int = TILE, kernel: int = KERNEL,
                       points: tuple[float, ...] = POINTS,
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(A^T, G, B^T) of F(tile, kernel) in float64: (tile, n), (n, kernel), (n, n) with
    n = tile + kernel - 1, from n - 1 finite points and the point at infinity."""
    n = tile + kernel - 1
    if len(points) != n - 1 or len(set(points)) != n - 1:
        raise ValueError(f"F({tile}, {kernel}) needs {n - 1} distinct finite points")
    p = np.asarray(points, dtype=np.float64)
    a_t = np.zeros((tile, n))
    a_t[:, :-1] = p[None, :] ** np.arange(tile)[:, None]
    a_t[-1, -1] = 1.0
    g = np.zeros((n, kernel))
    for j in range(n - 1):
        g[j] = p[j] ** np.arange(kernel) / np.prod([p[j] - q for q in np.delete(p, j)])
    g[-1, -1] = 1.0
    # y_i = sum_k d_{i+k} g_k for all d, g  <=>  sum_j A^T[i,j] G[j,k] B^T[j,l] = [l == i + k]
    system = np.einsum("ij,jk->ikj", a_t, g).reshape(tile * kernel, n)
    target = np.zeros((tile * kernel, n))
    for i in range(tile):
        for k in range(kernel):
            target[i * kernel + k, i + k] = 1.0
    b_t = np.linalg.lstsq(system, target, rcond=None)[0]
    if not np.allclose(system @ b_t, target, atol=1e-9):
        raise ValueError(f"no input transform makes F({tile}, {kernel}) exact at {points}")
    return a_t, g, b_t


_A_T, _G, _B_T = transform_matrices()
_N = TILE + KERNEL - 1
_INPUT_TRANSFORM = torch.from_numpy(np.kron(_B_T, _B_T)).float()  # (n*n, n*n), row-major tiles
_OUTPUT_TRANSFORM = torch.from_numpy(np.kron(_A_T, _A_T)).float()  # (tile*tile, n*n)
_KERNEL_TRANSFORM = torch.from_numpy(np.kron(_G, _G)).float()  # (n*n, kernel*kernel)


def gains(in_features: int, out_features: int) -> bool:
    """Whether Winograd beats oneDNN's direct fp32 convolution on a layer this wide."""
    return (out_features >= MIN_OUT_FEATURES
            and in_features * out_features >= MIN_WEIGHT_ELEMENTS)


class WinogradKernel:
    """One 3x3 kernel, transformed once, applied to float32 maps of any size by F(4x4, 3x3).

    Same result as F.conv2d(x, weight, bias, padding=1) to ~1e-5 relative; the output is
    channels-last, the layout the renderer's fp32 path runs in.
    """

    def __init__(self, weight: torch.Tensor) -> None:
        if weight.shape[2:] != (KERNEL, KERNEL):
            raise ValueError(f"expected a (out, in, 3, 3) kernel, got {tuple(weight.shape)}")
        out_features, in_features = weight.shape[:2]
        # U[(a, b), c, k] = (G w[k, c] G^T)[a, b], as one matrix product over all (k, c)
        flat = weight.detach().float().reshape(out_features * in_features, KERNEL * KERNEL)
        self.transformed = (_KERNEL_TRANSFORM @ flat.T).view(
            _N * _N, out_features, in_features).transpose(1, 2).contiguous()

    def __call__(self, x: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
        batch, channels, height, width = x.shape
        features = self.transformed.shape[2]
        rows, cols = -(-height // TILE), -(-width // TILE)
        # zero padding 1, and up to whole tiles, on the channels-last view (contiguous: the
        # tile view below assumes its strides)
        padded = F.pad(x.permute(0, 2, 3, 1),
                       (0, 0, 1, 1 + TILE * cols - width, 1, 1 + TILE * rows - height)
                       ).contiguous()
        padded_height, padded_width = padded.shape[1:3]
        out = torch.empty(batch, TILE * rows, TILE * cols, features, dtype=x.dtype)
        band = max(1, CHUNK_ELEMENTS // (_N * _N * batch * cols * max(channels, features)))
        for first in range(0, rows, band):
            count = min(band, rows - first)
            # the (n, n) elements of every tile in the band: d[(i, j), (b, row, col, c)]
            tiles = padded.as_strided(
                (_N, _N, batch, count, cols, channels),
                (padded_width * channels, channels, padded_height * padded_width * channels,
                 TILE * padded_width * channels, TILE * channels, 1),
                padded.storage_offset() + TILE * first * padded_width * channels,
            ).reshape(_N * _N, -1)
            products = torch.bmm((_INPUT_TRANSFORM @ tiles).view(_N * _N, -1, channels),
                                 self.transformed)
            outputs = (_OUTPUT_TRANSFORM @ products.view(_N * _N, -1)).view(
                TILE, TILE, batch, count, cols, features)
            out[:, TILE * first:TILE * (first + count)].view(
                batch, count, TILE, cols, TILE, features).copy_(outputs.permute(2, 3, 0, 4, 1, 5))
        if bias is not None:
            out += bias
        out = out[:, :height, :width].permute(0, 3, 1, 2)
        return out.contiguous(memory_format=torch.channels_last)


class Conv3x3(nn.Conv2d):
    """nn.Conv2d(in, out, 3, padding=1), with its parameters and state-dict keys, that runs as
    Winograd F(4x4, 3x3) on float32 maps once `use_winograd(True)` is called on a layer wide
    enough to gain. Call it again after any change of the weights or their dtype."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
        super().__init__(in_features, out_features, KERNEL, padding=1, bias=bias)
        self.winograd: WinogradKernel | None = None

    def use_winograd(self, enabled: bool) -> None:
        """Transform the kernel for Winograd where it gains; direct convolution otherwise."""
        wide = gains(self.in_channels, self.out_channels)
        self.winograd = WinogradKernel(self.weight) if enabled and wide else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.convolve(x, self.bias)

    def convolve(self, x: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        """This layer's kernel with another bias (SPADE's 1 + gamma)."""
        if self.winograd is not None and x.dtype == torch.float32:
            return self.winograd(x, bias)
        return F.conv2d(x, self.weight, bias, padding=1)
