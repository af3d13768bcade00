"""3x3 and 3x3x3 convolutions by Winograd's minimal filtering F(6x6, 3x3): fp32 with fewer
multiplies (a 3x3x3 kernel as three 3x3 depth taps over the same transformed tiles).

A direct 3x3 convolution spends 9 multiply-adds per output pixel per input channel; F(6x6, 3x3)
transforms 8x8 input tiles and the kernel into a space where each 6x6 output tile costs 64
(5.1x fewer), at the price of three linear transforms, ~2e-5 relative rounding error and
transformed kernels 7.1x the size of the plain ones. (F(4x4, 3x3), 4x fewer with 6x6 tiles,
is a little more exact and wastes less of a tile on 8x8 and 16x16 maps, but is slower on the
decoder's 64x64 to 512x512 maps, where a frame's time goes.) On CPUs without native bf16,
oneDNN's fp32 convolutions are the renderer's cost; on the SPADE decoder's layers 64 or more
channels wide, and on dense motion's 3-D layers, the multiplies saved outweigh the transforms
(`bench/render_speed.py`, precision `winograd`), on narrower ones they do not (`gains`).

The transform matrices follow from the interpolation points by the Toom-Cook construction
(Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016): the output
transform A and kernel transform G are written down from the points, and the input transform
B is the unique solution of the identity that makes A^T[(G g) * (B^T d)] the correlation of
d and g.

The kernel is transformed once, by one matrix product. The input and output transforms run on
every call, so they are fused loops compiled by numba for the CPU at hand (AVX2 or AVX-512
vector code): one pass reads each tile once and applies the separable transform with the
matrices' values (and zeros) known at compile time; the convolution's zero padding is applied
while reading, and the output pass adds the bias and writes the channels-last output in place
(or, for SPADE, applies the modulation there: `WinogradKernel.modulate`). Between them, one
batched matrix product per tile element does the multiplies. Written as
tensor operations instead (gather, Kronecker-matrix products, permutes), the transforms' extra
passes over memory cost as much as the product itself. The compiled code is cached beside this
file where the directory is writable; otherwise each process compiles it (`compile_transforms`,
several seconds, spent when the first layer switches to Winograd, while the renderer loads).
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable

import numba
import numpy as np
import torch
from torch import nn

KERNEL = 3
TILE = 6  # output pixels per tile side
POINTS = (0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5)  # plus the point at infinity
CHUNK_ELEMENTS = 2**23  # floats per transformed chunk (tiles are processed in row bands): more
# rows per batched product, at 2-3 buffers of 32 MiB (a 512 render pod's peak +0.1 GiB)
MIN_FEATURES = 64  # the narrowest 2-D layers the renderer runs per frame, which gain; on
# narrower ones the transforms weigh more against the multiplies saved: left to oneDNN
# Larger transformed kernels stay direct: the hourglass's deepest layers, 512 and 1024 channels
# on 4x4 and 8x8 maps, where most of a tile is padding, so they would take the most memory for
# the least gain.
MAX_KERNEL_BYTES = 64 * 2**20


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


_A_T, _G, _B_T = (matrix.astype(np.float32) for matrix in transform_matrices())
_N = TILE + KERNEL - 1
_KERNEL_TRANSFORM = torch.from_numpy(np.kron(_G, _G))  # (n*n, kernel*kernel), row-major tiles

CHANNEL_BLOCK = 128  # channels transformed together: one tile's partial sums stay in L1
# What the compiler may assume of the transforms' arithmetic: no NaNs, infinities or signed
# zeros, so that the matrices' zero terms drop out, and fused multiply-adds. Not
# reassociation: LLVM may then order a sum's terms differently in different compilations (a
# fresh process, a load from numba's cache), and the same inputs would render different pixels
# from one run to the next. Without it each sum keeps the source's order, whatever compiled it.
FASTMATH = {"nnan", "ninf", "nsz", "contract"}


def _compiled(function: Callable[..., None]) -> Callable[..., None]:
    """numba-compile `function` for this CPU, its loops over tile rows in parallel; cached on
    disk where numba finds a writable cache directory, else compiled anew in each process."""
    try:
        return numba.njit(parallel=True, fastmath=FASTMATH, cache=True)(function)
    except RuntimeError:  # no writable location for the cache
        return numba.njit(parallel=True, fastmath=FASTMATH)(function)


# The loops below are written for n = 8 (eight named terms per sum): each innermost loop runs
# over a block of channels, contiguous in memory, with a straight-line body whose weights are
# the transform matrices' entries, constants at compile time, so that the compiler
# vectorises it across channels and drops the zero terms.
if _N != 8:
    raise ImportError(f"the compiled transforms are written for 8x8 tiles, not {_N}x{_N}")


@numba.njit(fastmath=FASTMATH)
def _row_dot(matrix: np.ndarray, row: int, v0: float, v1: float, v2: float, v3: float,
             v4: float, v5: float, v6: float, v7: float) -> float:
    """sum_k matrix[row, k] v_k over a transform matrix's 8 columns: each pass's one sum."""
    return (matrix[row, 0] * v0 + matrix[row, 1] * v1 + matrix[row, 2] * v2
            + matrix[row, 3] * v3 + matrix[row, 4] * v4 + matrix[row, 5] * v5
            + matrix[row, 6] * v6 + matrix[row, 7] * v7)


@numba.njit(fastmath=FASTMATH)
def _source_pixel(x: np.ndarray, sample: int, y: int, x_pos: int, c0: int,
                  pad: np.ndarray) -> np.ndarray:
    """Pixel (y, x_pos) of x's map `sample`, channels [c0, c0 + len(pad)), or `pad` (zeros:
    the convolution's padding) outside the map."""
    if 0 <= y < x.shape[1] and 0 <= x_pos < x.shape[2]:
        return x[sample, y, x_pos, c0:c0 + pad.size]
    return pad


@_compiled
def _input_rows(x: np.ndarray, out: np.ndarray, first_row: int, rows: int,
                cols: int) -> None:
    batch_items, channels = x.shape[0], x.shape[3]
    n, tile, b_t = _N, TILE, _B_T
    zeros = np.zeros(CHANNEL_BLOCK, np.float32)  # the padding's pixels
    for band_row in numba.prange(batch_items * rows):
        sample, row = band_row // rows, first_row + band_row % rows
        partial = np.empty((n, n, CHANNEL_BLOCK), np.float32)  # per thread
        top = tile * row - 1
        for col in range(cols):
            index = band_row * cols + col
            for c0 in range(0, channels, CHANNEL_BLOCK):
                width_c = min(CHANNEL_BLOCK, channels - c0)
                # partial[a, j] = sum_i B^T[a, i] d[i, j]; d is zero outside the map (padding 1)
                for j in range(n):
                    x_pos = tile * col + j - 1
                    pad = zeros[:width_c]
                    d0 = _source_pixel(x, sample, top, x_pos, c0, pad)
                    d1 = _source_pixel(x, sample, top + 1, x_pos, c0, pad)
                    d2 = _source_pixel(x, sample, top + 2, x_pos, c0, pad)
                    d3 = _source_pixel(x, sample, top + 3, x_pos, c0, pad)
                    d4 = _source_pixel(x, sample, top + 4, x_pos, c0, pad)
                    d5 = _source_pixel(x, sample, top + 5, x_pos, c0, pad)
                    d6 = _source_pixel(x, sample, top + 6, x_pos, c0, pad)
                    d7 = _source_pixel(x, sample, top + 7, x_pos, c0, pad)
                    for c in range(width_c):
                        s0, s1, s2, s3 = d0[c], d1[c], d2[c], d3[c]
                        s4, s5, s6, s7 = d4[c], d5[c], d6[c], d7[c]
                        for a in range(n):
                            partial[a, j, c] = _row_dot(b_t, a, s0, s1, s2, s3, s4, s5, s6, s7)
                # out[(a, b), tile] = sum_j partial[a, j] B^T[b, j]
                for a in range(n):
                    p0, p1, p2, p3 = partial[a, 0], partial[a, 1], partial[a, 2], partial[a, 3]
                    p4, p5, p6, p7 = partial[a, 4], partial[a, 5], partial[a, 6], partial[a, 7]
                    for b in range(n):
                        target = out[a * n + b, index, c0:c0 + width_c]
                        for c in range(width_c):
                            target[c] = _row_dot(b_t, b, p0[c], p1[c], p2[c], p3[c], p4[c],
                                                 p5[c], p6[c], p7[c])


@numba.njit(fastmath=FASTMATH)
def _tile_columns(products: np.ndarray, index: int, c0: int, width_c: int,
                  partial: np.ndarray) -> None:
    """The output transform's first pass over one tile, channels [c0, c0 + width_c) of its
    products: partial[u, b] = sum_a A^T[u, a] m[a, b]."""
    n, tile, a_t = _N, TILE, _A_T
    for b in range(n):
        m0 = products[b, index, c0:c0 + width_c]
        m1 = products[n + b, index, c0:c0 + width_c]
        m2 = products[2 * n + b, index, c0:c0 + width_c]
        m3 = products[3 * n + b, index, c0:c0 + width_c]
        m4 = products[4 * n + b, index, c0:c0 + width_c]
        m5 = products[5 * n + b, index, c0:c0 + width_c]
        m6 = products[6 * n + b, index, c0:c0 + width_c]
        m7 = products[7 * n + b, index, c0:c0 + width_c]
        for c in range(width_c):
            s0, s1, s2, s3 = m0[c], m1[c], m2[c], m3[c]
            s4, s5, s6, s7 = m4[c], m5[c], m6[c], m7[c]
            for u in range(tile):
                partial[u, b, c] = _row_dot(a_t, u, s0, s1, s2, s3, s4, s5, s6, s7)


@numba.njit(fastmath=FASTMATH)
def _pixel(partial: np.ndarray, u: int, v: int, c: int) -> float:
    """The second pass, one output pixel (u, v) of the tile and one channel:
    sum_b partial[u, b] A^T[v, b]."""
    return _row_dot(_A_T, v, partial[u, 0, c], partial[u, 1, c], partial[u, 2, c],
                    partial[u, 3, c], partial[u, 4, c], partial[u, 5, c], partial[u, 6, c],
                    partial[u, 7, c])


@_compiled
def _output_rows(products: np.ndarray, bias: np.ndarray, y: np.ndarray, first_row: int,
                 rows: int, cols: int, normalized: np.ndarray, slope: float) -> None:
    batch_items, height, width, features = y.shape
    n, tile = _N, TILE
    modulated = normalized.size > 0
    shifted = modulated and products.shape[2] == 2 * features
    factor = height // normalized.shape[1] if modulated else 1
    for band_row in numba.prange(batch_items * rows):
        sample, row = band_row // rows, first_row + band_row % rows
        # per thread: the first pass's partial sums of the output channels (a plain
        # convolution's, or SPADE's scale) and of SPADE's shift where the kernel has one
        partial = np.empty((tile, n, CHANNEL_BLOCK), np.float32)
        partial_shift = np.empty((tile, n, CHANNEL_BLOCK if shifted else 0), np.float32)
        for col in range(cols):
            index = band_row * cols + col
            for f0 in range(0, features, CHANNEL_BLOCK):
                width_f = min(CHANNEL_BLOCK, features - f0)
                _tile_columns(products, index, f0, width_f, partial)
                if shifted:
                    _tile_columns(products, index, features + f0, width_f, partial_shift)
                # y[u, v] = bias + sum_b partial[u, b] A^T[v, b], inside the map only
                for u in range(tile):
                    y_pos = tile * row + u
                    if y_pos >= height:
                        continue
                    for v in range(tile):
                        x_pos = tile * col + v
                        if x_pos >= width:
                            continue
                        target = y[sample, y_pos, x_pos, f0:f0 + width_f]
                        if not modulated:
                            for c in range(width_f):
                                target[c] = bias[f0 + c] + _pixel(partial, u, v, c)
                            continue
                        # SPADE: leaky_relu(shift + normalized * scale), the normalized map
                        # nearest-upsampled by reading its pixel (y, x) // factor; for
                        # 0 <= slope <= 1, leaky_relu(value) = max(value, slope * value)
                        source = normalized[sample, y_pos // factor, x_pos // factor,
                                            f0:f0 + width_f]
                        if shifted:
                            for c in range(width_f):
                                value = (source[c] * (bias[f0 + c] + _pixel(partial, u, v, c))
                                         + bias[features + f0 + c]
                                         + _pixel(partial_shift, u, v, c))
                                target[c] = max(value, slope * value)
                        else:
                            for c in range(width_f):
                                value = source[c] * (bias[f0 + c] + _pixel(partial, u, v, c))
                                target[c] = max(value, slope * value)


def _threads() -> None:
    """Run the loops on as many threads as torch's operators (numba's own default is every
    core of the machine, not the pod's share)."""
    numba.set_num_threads(max(1, min(torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS)))


@functools.cache
def compile_transforms() -> None:
    """Compile both transforms for this CPU (or load them from numba's cache) now, not in the
    first frame: a render pod counts the time in its loading. Once per process."""
    x = np.zeros((1, TILE, TILE, 1), np.float32)
    tiles = np.zeros((_N * _N, 1, 1), np.float32)
    transform_input(x, tiles, 0, 1, 1)
    transform_output(tiles, np.zeros(1, np.float32), x, 0, 1, 1)


def transform_input(x: np.ndarray, out: np.ndarray, first_row: int, rows: int,
                    cols: int) -> None:
    """Tile rows [first_row, first_row + rows) of x (N, H, W, C), zero-padded by 1, ->
    out (n*n, N*rows*cols, C), tile (sample, row, col) at (sample * rows + row - first_row) *
    cols + col."""
    _threads()
    _input_rows(x, out, first_row, rows, cols)


_NO_MAP = np.zeros((0, 0, 0, 0), np.float32)


def transform_output(products: np.ndarray, bias: np.ndarray, y: np.ndarray, first_row: int,
                     rows: int, cols: int, normalized: np.ndarray = _NO_MAP,
                     slope: float = 1.0) -> None:
    """Products (n*n, N*rows*cols, F) in `transform_input`'s tile order -> y (N, H, W, F)'s
    pixels of those tiles, plus bias (F,).

    With a `normalized` map (N, H / f, W / f, F), a SPADE modulation instead: the products
    are [scale | shift] (2F channels, bias (2F,)) or scale alone, and y = leaky_relu(shift +
    normalized * scale, slope), normalized nearest-upsampled x f.
    """
    _threads()
    _output_rows(products, bias, y, first_row, rows, cols, normalized, slope)


def gains(in_features: int, out_features: int, depth_taps: int = 1) -> bool:
    """Whether Winograd is worth it on a layer this wide: it beats oneDNN's direct fp32
    convolution (a 3-D kernel's depth taps share the tile transforms, so the bar is lower by
    that factor), and its transformed kernel fits in MAX_KERNEL_BYTES."""
    kernel_bytes = 4 * _N * _N * in_features * out_features * depth_taps
    return (min(in_features, out_features) * depth_taps >= MIN_FEATURES
            and kernel_bytes <= MAX_KERNEL_BYTES)


class WinogradKernel:
    """One 3x3 or 3x3x3 kernel, transformed once, applied to float32 maps (N, C, H, W) or
    volumes (N, C, D, H, W) of any size by F(6x6, 3x3) over height and width; a 3-D kernel's
    depth taps are summed directly, each a product with the same transformed tiles.

    Same result as F.conv2d / F.conv3d(x, weight, bias, padding=1) to ~2e-5 relative; the
    output is channels-last, the layout the renderer's fp32 path runs in.
    """

    def __init__(self, weight: torch.Tensor) -> None:
        planar = weight.dim() == 4
        taps = weight[:, :, None] if planar else weight  # (out, in, depth taps, 3, 3)
        if taps.dim() != 5 or taps.shape[3:] != (KERNEL, KERNEL) or taps.shape[2] % 2 == 0:
            raise ValueError(f"expected a (out, in, 3, 3) or (out, in, 3, 3, 3) kernel, got "
                             f"{tuple(weight.shape)}")
        out_features, in_features, depth_taps = taps.shape[:3]
        # U[t, (a, b), c, k] = (G w[k, c, t] G^T)[a, b], as one matrix product over all
        flat = taps.detach().float().permute(2, 0, 1, 3, 4).reshape(-1, KERNEL * KERNEL)
        self.transformed = (_KERNEL_TRANSFORM @ flat.T).view(
            _N * _N, depth_taps, out_features, in_features).permute(1, 0, 3, 2).contiguous()
        self.planar = planar

    def scaled(self, inputs: torch.Tensor, outputs: torch.Tensor) -> WinogradKernel:
        """This kernel with input channel c weighted by inputs[c] and output channel k by
        outputs[k]: the same as scaling the input map's channels and the output's, at the
        cost of one pass over the transformed kernel instead of two over the maps."""
        kernel = copy.copy(self)
        kernel.transformed = self.transformed * inputs.float()[:, None] * outputs.float()
        return kernel

    def __call__(self, x: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
        features = self.transformed.shape[3]
        bias = torch.zeros(features) if bias is None else bias
        return self._apply(x, bias, features, _NO_MAP, 1.0)

    def modulate(self, hidden: torch.Tensor, bias: torch.Tensor, normalized: torch.Tensor,
                 slope: float = 1.0) -> torch.Tensor:
        """SPADE's modulation from its hidden map (N, C, H, W): leaky_relu(shift + normalized
        * scale, slope) with [scale | shift] = this kernel's convolution of `hidden` plus
        `bias` (or scale alone, for a kernel as wide as `normalized`), normalized (N, F, H / f,
        W / f) nearest-upsampled x f. Neither scale, shift nor the upsampled map is built: the
        output transform combines them pixel by pixel."""
        features = normalized.shape[1]
        if not 0 <= slope <= 1:
            raise ValueError(f"a leaky ReLU slope in [0, 1] is needed, not {slope}")
        if not self.planar or self.transformed.shape[3] not in (features, 2 * features):
            raise ValueError(f"a kernel of {self.transformed.shape[3]} outputs cannot modulate "
                             f"{features} channels: it needs [scale | shift] or scale alone")
        factor = hidden.shape[2] // max(normalized.shape[2], 1)
        upsampled = (normalized.shape[2] * factor, normalized.shape[3] * factor)
        if normalized.shape[0] != hidden.shape[0] or hidden.shape[2:] != upsampled:
            raise ValueError(f"{tuple(normalized.shape)} does not upsample to "
                             f"{tuple(hidden.shape)}'s batch and size")
        pixels = normalized.float().permute(0, 2, 3, 1).contiguous()  # a view if channels-last
        return self._apply(hidden, bias, features, pixels.numpy(), slope)

    def _apply(self, x: torch.Tensor, bias: torch.Tensor, features: int,
               normalized: np.ndarray, slope: float) -> torch.Tensor:
        """The convolution in row bands: transform the band's tiles, multiply, transform back
        into `features` output channels (see `transform_output`)."""
        volume = x if x.dim() == 5 else x[:, :, None]
        batch, channels, depth, height, width = volume.shape
        taps, products_width = self.transformed.shape[0], self.transformed.shape[3]
        if self.planar != (x.dim() == 4):
            raise ValueError(f"a {'2' if self.planar else '3'}-D kernel cannot convolve "
                             f"{tuple(x.shape)}")
        rows, cols = -(-height // TILE), -(-width // TILE)
        slices = batch * depth  # every (sample, depth) slice is one 2-D map
        # a view for channels-last inputs
        pixels = volume.permute(0, 2, 3, 4, 1).contiguous().view(slices, height, width, channels)
        out = torch.empty(batch, depth, height, width, features, dtype=x.dtype)
        bias = bias.detach().float().contiguous()
        band = max(1, CHUNK_ELEMENTS // (_N * _N * slices * cols
                                         * max(channels, products_width)))
        for first in range(0, rows, band):
            count = min(band, rows - first)
            per_slice = count * cols
            tiles = torch.empty(_N * _N, slices * per_slice, channels)
            transform_input(pixels.numpy(), tiles.numpy(), first, count, cols)
            products = torch.bmm(tiles, self.transformed[taps // 2])
            for tap in range(taps):  # the off-centre depth taps, where they fall inside
                shift = tap - taps // 2
                if tap == taps // 2 or abs(shift) >= depth:
                    continue
                reads = slice(max(shift, 0) * per_slice, (depth + min(shift, 0)) * per_slice)
                writes = slice(max(-shift, 0) * per_slice, (depth - max(shift, 0)) * per_slice)
                for sample in range(batch):  # (a product into a strided slice would be
                    start = sample * depth * per_slice  # one small matmul per matrix)
                    products[:, start + writes.start:start + writes.stop].add_(torch.bmm(
                        tiles[:, start + reads.start:start + reads.stop], self.transformed[tap]))
            transform_output(products.numpy(), bias.numpy(),
                             out.view(slices, height, width, features).numpy(), first, count,
                             cols, normalized, slope)
        return out.permute(0, 4, 1, 2, 3) if x.dim() == 5 else out[:, 0].permute(0, 3, 1, 2)


class WinogradConv:
    """What `Conv3x3` and `Conv3x3x3` add to torch's convolution: run as Winograd on float32
    inputs once `use_winograd(True)` is called on a layer wide enough to gain. Call it again
    after any change of the weights or their dtype; parameters and state-dict keys are
    torch's."""

    winograd: WinogradKernel | None = None

    def use_winograd(self, enabled: bool) -> None:
        """Transform the kernel for Winograd where it gains; direct convolution otherwise."""
        depth_taps = self.kernel_size[0] if len(self.kernel_size) == 3 else 1
        wide = gains(self.in_channels, self.out_channels, depth_taps)
        self.winograd = WinogradKernel(self.weight) if enabled and wide else None
        if self.winograd is not None:
            compile_transforms()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.convolve(x, self.bias)

    def convolve(self, x: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        """This layer's kernel with another bias (SPADE's 1 + gamma)."""
        if self.winograd is not None and x.dtype == torch.float32:
            return self.winograd(x, bias)
        return self._conv_forward(x, self.weight, bias)


class Conv3x3(WinogradConv, nn.Conv2d):
    """nn.Conv2d(in, out, 3, padding=1) that can run as Winograd (`WinogradConv`)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
        super().__init__(in_features, out_features, KERNEL, padding=1, bias=bias)


class Conv3x3x3(WinogradConv, nn.Conv3d):
    """nn.Conv3d(in, out, 3, padding=1) that can run as Winograd (`WinogradConv`)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
        super().__init__(in_features, out_features, KERNEL, padding=1, bias=bias)
