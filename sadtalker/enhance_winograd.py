"""GFPGAN v1.4's 3x3 convolutions by Winograd, for precision `winograd`.

Most of the enhancer's time is GFPGAN's network, and most of that is 3x3 convolutions on
64- to 512-wide maps: its U-Net's and its SFT conditions' plain convolutions, and its StyleGAN2
decoder's modulated ones. These run by `sadtalker.render.winograd`'s F(6x6, 3x3) where a layer
is wide enough to gain (`winograd.gains`) and its map is at least `MIN_MAP` pixels across.
Smaller maps are mostly padding in 6x6 tiles and cost little, while their 512-wide kernels
would take most of the transformed kernels' memory; they stay on torch's direct convolution.
A kernel is transformed on its first call on a wide enough map, so only the layers that run
there hold one. Winograd's outputs are channels-last; the layers left to torch keep them so
where that is faster than a transpose, and make the small maps contiguous, as GFPGAN's code
views the encoder's last features by NCHW strides.

A modulated convolution scales its kernel by the style per input channel and, demodulated,
by a factor per output channel (computed from the kernel's per-channel energies, as the public
code's is from the scaled kernel). The fixed kernel is transformed once; each call scales its
transformed copy, or, where that is larger than the input map (512-wide kernels on 64x64
maps), the input and output maps.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from sadtalker import torchvision_compat
from sadtalker.render.winograd import KERNEL, WinogradKernel, compile_transforms, gains

torchvision_compat.install()  # must precede the first import of gfpgan/basicsr

from gfpgan.archs.stylegan2_clean_arch import ModulatedConv2d

MIN_MAP = 64  # the narrowest map side, in pixels, convolved by Winograd


class WinogradConv2d(nn.Conv2d):
    """nn.Conv2d(in, out, 3, padding=1) run by Winograd on float32 maps >= MIN_MAP across."""

    kernel: WinogradKernel | None = None

    @classmethod
    def replacing(cls, conv: nn.Conv2d) -> WinogradConv2d:
        """The same layer, same parameters and state-dict keys."""
        layer = cls(conv.in_channels, conv.out_channels, KERNEL, padding=1,
                    bias=conv.bias is not None)
        layer.load_state_dict(conv.state_dict())
        return layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not _winograd_map(x):
            return super().forward(x.contiguous())  # small: GFPGAN views it
        if self.kernel is None:
            self.kernel = WinogradKernel(self.weight)
        return self.kernel(x, self.bias)


class WinogradModulatedConv2d(ModulatedConv2d):
    """GFPGAN's ModulatedConv2d, run by Winograd where it is 3x3, wide enough to gain, and
    convolves a float32 map >= MIN_MAP across; by its modulated kernel elsewhere."""

    by_winograd = False  # whether the layer's width gains (`replacing`)
    kernel: WinogradKernel | None = None
    energy: torch.Tensor | None = None  # (out, in): the kernel's squares summed over taps

    @classmethod
    def replacing(cls, conv: ModulatedConv2d) -> WinogradModulatedConv2d:
        """The same layer, same parameters and state-dict keys."""
        layer = cls(conv.in_channels, conv.out_channels, conv.kernel_size,
                    conv.modulation.in_features, demodulate=conv.demodulate,
                    sample_mode=conv.sample_mode, eps=conv.eps)
        layer.load_state_dict(conv.state_dict())
        layer.by_winograd = (conv.kernel_size == KERNEL and conv.sample_mode != "downsample"
                             and gains(conv.in_channels, conv.out_channels))
        return layer

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        if self.by_winograd and _winograd_map(x, 2 if self.sample_mode == "upsample" else 1):
            return self._by_winograd(x, style)
        if len(x) > 1:
            return super().forward(x.contiguous(), style)
        return self._one_map(x, style)

    def _by_winograd(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        if self.kernel is None:
            self.kernel = WinogradKernel(self.weight[0])
            self.energy = self.weight[0].detach().pow(2).sum((2, 3))
        scale = self.modulation(style)  # (batch, in)
        if self.demodulate:
            factor = torch.rsqrt(scale.pow(2) @ self.energy.T + self.eps)  # (batch, out)
        else:
            factor = torch.ones(len(scale), self.out_channels)
        x = self._resampled(x)
        if self.kernel.transformed.numel() > x[0].numel():  # scale the maps, not the kernel
            return self.kernel(x * scale[:, :, None, None]) * factor[:, :, None, None]
        samples = [self.kernel.scaled(scale[i], factor[i])(x[i:i + 1]) for i in range(len(x))]
        return samples[0] if len(samples) == 1 else torch.cat(samples)

    def _one_map(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """One sample by its modulated kernel, as the public code computes it, but without
        viewing the batch as groups: that view hands oneDNN a channels-last map with strides
        it copies to NCHW first (several times the cost of the 1x1 RGB layers at 512x512)."""
        weight = self.weight[0] * self.modulation(style).view(1, -1, 1, 1)  # (out, in, k, k)
        if self.demodulate:
            weight = weight * torch.rsqrt(weight.pow(2).sum((1, 2, 3), keepdim=True) + self.eps)
        return F.conv2d(self._resampled(x), weight, padding=self.padding)

    def _resampled(self, x: torch.Tensor) -> torch.Tensor:
        """`x` resampled as the public layer's sample mode does: bilinear x2 or x0.5."""
        if self.sample_mode is None:
            return x
        return F.interpolate(x, scale_factor=2 if self.sample_mode == "upsample" else 0.5,
                             mode="bilinear", align_corners=False)


def use_winograd(network: nn.Module) -> int:
    """Swap `network`'s plain 3x3 convolutions (stride 1, padding 1) wide enough to gain, and
    all its modulated ones, for the classes above, in place; returns how many run by
    Winograd on large enough maps."""
    winograd = 0
    for parent in list(network.modules()):
        for name, child in parent.named_children():
            if type(child) is ModulatedConv2d:
                layer = WinogradModulatedConv2d.replacing(child)
                winograd += layer.by_winograd
            elif type(child) is nn.Conv2d and _plain_3x3(child) and gains(child.in_channels,
                                                                        child.out_channels):
                layer = WinogradConv2d.replacing(child)
                winograd += 1
            else:
                continue
            setattr(parent, name, layer)
    if winograd:
        compile_transforms()
    return winograd


def _winograd_map(x: torch.Tensor, upsampling: int = 1) -> bool:
    """Whether `x`, upsampled x `upsampling`, is a float32 map wide enough for Winograd."""
    return x.dtype == torch.float32 and min(x.shape[-2:]) * upsampling >= MIN_MAP


def _plain_3x3(conv: nn.Conv2d) -> bool:
    return (conv.kernel_size == (KERNEL, KERNEL) and conv.stride == (1, 1)
            and conv.padding == (1, 1) and conv.dilation == (1, 1) and conv.groups == 1
            and conv.padding_mode == "zeros")
