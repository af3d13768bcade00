"""SPADE decoder: the warped, occlusion-masked 256-channel feature map -> RGB image.

Every residual block is modulated by SPADE (instance norm, then a per-pixel scale and shift
predicted from the same feature map used as the "segmentation" input). The official weights of
the residual blocks' convs are spectral-normalised; they are folded into plain weights when a
checkpoint is loaded (see `spectral_norm.fold_spectral_norm`).

Computed as the public code's blocks, with exact rearrangements (bench/render_speed.py times
them against the public form): the label's 3x3 convolution at the label's own resolution
(`upsampled_conv`), one instance norm per block input, taken before the up blocks' nearest
upsampling (which is never built: each pixel's statistics broadcast over its block), 1 + gamma
as gamma's bias + 1, and the 1x1 shortcut conv folded into the shortcut's beta conv.
`SPADEDecoder.fold` derives these constants once, after loading. For precision `winograd`,
the 3x3 convolutions wide enough to gain (`winograd.gains`) run by Winograd's minimal
filtering (`winograd.Conv3x3`), and a SPADE's gamma and beta as one kernel whose output transform
applies the modulation and the leaky ReLU after it (`winograd.WinogradKernel.modulate`):
neither gamma, beta nor the modulated map's intermediate passes reach memory.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from sadtalker.render.upsampled_conv import UpsampledConv3x3
from sadtalker.render.winograd import Conv3x3, WinogradKernel, gains

FEATURES = 256  # channels of the fused feature map (input and SPADE label map)
SPADE_HIDDEN = 128
OUT_FEATURES = 64
NUM_MIDDLE_BLOCKS = 6
LEAKY_SLOPE = 0.2
INSTANCE_NORM_EPS = 1e-5  # torch's InstanceNorm2d default, as the public SPADE uses


def instance_norm(x: torch.Tensor, eps: float = INSTANCE_NORM_EPS) -> torch.Tensor:
    """Parameter-free instance norm that keeps a channels-last layout (F.instance_norm
    reshapes to NCHW: a copy, and the next convolution would reorder back).

    bf16: group norm with one group per channel, the same statistics accumulated in fp32.
    fp32: batch norm of one sample at a time, which matches F.instance_norm to rounding (group
    norm's one-pass variance would be ~1e-4 off).
    """
    if x.dtype == torch.bfloat16:
        return F.group_norm(x, x.shape[1], eps=eps)
    return torch.cat([F.batch_norm(sample, None, None, training=True, eps=eps)
                      for sample in x.split(1)])


def modulated(normalized: torch.Tensor, scale: torch.Tensor,
              shift: torch.Tensor | None = None) -> torch.Tensor:
    """shift + normalized * scale, for `normalized` (N, C, h, w) at 1/f of scale's size per
    side: nearest-upsampled by broadcasting each pixel over its f x f block, never built."""
    n, c, h, w = normalized.shape
    f = scale.shape[2] // h
    if f == 1:
        return normalized * scale if shift is None else torch.addcmul(shift, normalized, scale)
    low = normalized[:, :, :, None, :, None]
    blocks = scale.view(n, c, h, f, w, f)
    out = low * blocks if shift is None else torch.addcmul(shift.view(n, c, h, f, w, f), low,
                                                           blocks)
    return out.view(n, c, h * f, w * f)


class SPADE(nn.Module):
    """Scale (1 + gamma) and shift beta of an instance-normalised map, predicted per pixel
    from the label map.

    The label map is nearest-upsampled x `label_factor` to the modulated map's size; `fold`
    must run once the weights are loaded (`SPADEDecoder.fold` does). Without `shifts`, beta is
    left to the caller (the shortcut folds it into its conv).
    """

    def __init__(self, features: int, label_factor: int = 1,
                 label_features: int = FEATURES, shifts: bool = True) -> None:
        super().__init__()
        self.mlp_shared = nn.Sequential(
            Conv3x3(label_features, SPADE_HIDDEN), nn.ReLU())
        self.mlp_gamma = Conv3x3(SPADE_HIDDEN, features)
        self.mlp_beta = Conv3x3(SPADE_HIDDEN, features)
        self.label_factor = label_factor
        self.shifts = shifts
        self.upsampled_shared: UpsampledConv3x3 | None = None
        # gamma's and beta's kernels as one, the modulation done in its output transform
        self.modulation: WinogradKernel | None = None
        self.modulation_bias: torch.Tensor | None = None

    def fold(self) -> None:
        """Derive the inference constants from the loaded weights: `mlp_shared`'s per-phase
        kernels at the label's factor, and gamma's bias + 1 (the conv then yields 1 + gamma)."""
        self.register_buffer("scale_bias", self.mlp_gamma.bias.detach() + 1, persistent=False)
        if self.label_factor > 1:
            self.upsampled_shared = UpsampledConv3x3(self.mlp_shared[0], self.label_factor)

    def use_winograd(self, enabled: bool) -> None:
        """Modulate by one Winograd kernel of gamma and beta (float32 weights, folded) where
        these convolutions are wide enough to gain; by the two convolutions otherwise."""
        convs = [self.mlp_gamma, self.mlp_beta] if self.shifts else [self.mlp_gamma]
        if not (enabled and gains(SPADE_HIDDEN, self.mlp_gamma.out_channels)):
            self.modulation = self.modulation_bias = None
            return
        self.modulation = WinogradKernel(torch.cat([conv.weight for conv in convs]))
        biases = [self.scale_bias, self.mlp_beta.bias] if self.shifts else [self.scale_bias]
        self.modulation_bias = torch.cat(biases).detach().float()

    def unused(self) -> set[nn.Module]:
        """Convolutions that never run once folded: `mlp_shared` where the label is upsampled
        (its per-phase kernels run instead), gamma's and beta's where one Winograd kernel
        modulates."""
        unused: set[nn.Module] = {self.mlp_shared[0]} if self.label_factor > 1 else set()
        fused = {self.mlp_gamma, self.mlp_beta} if self.modulation is not None else set()
        return unused | fused

    def hidden(self, label: torch.Tensor) -> torch.Tensor:
        """ReLU(mlp_shared(label upsampled x label_factor))."""
        if not hasattr(self, "scale_bias"):
            raise RuntimeError("SPADE constants are not folded: call SPADEDecoder.fold "
                               "after loading the weights")
        shared = self.upsampled_shared if self.label_factor > 1 else self.mlp_shared[0]
        return F.relu(shared(label), inplace=True)

    def modulate(self, normalized: torch.Tensor, hidden: torch.Tensor,
                 slope: float = 1.0) -> torch.Tensor:
        """leaky_relu(beta + normalized * (1 + gamma), slope) from the hidden map, `normalized`
        nearest-upsampled to hidden's size where it is smaller (beta left out without
        `shifts`)."""
        if self.modulation is not None and hidden.dtype == torch.float32:
            return self.modulation.modulate(hidden, self.modulation_bias, normalized, slope)
        scale = self.mlp_gamma.convolve(hidden, self.scale_bias)
        out = modulated(normalized, scale, self.mlp_beta(hidden) if self.shifts else None)
        return out if slope == 1 else F.leaky_relu(out, slope, inplace=True)

    def forward(self, normalized: torch.Tensor, label: torch.Tensor,
                slope: float = 1.0) -> torch.Tensor:
        """`modulate` with the hidden map of `label`, for `normalized` = instance_norm(x)."""
        return self.modulate(normalized, self.hidden(label), slope)


class SPADEResBlock(nn.Module):
    """Two SPADE-modulated 3x3 convs; a 1x1 learned shortcut when the width changes.

    The input is first nearest-upsampled x `upsample` (the decoder's up blocks); the label map
    is at 1 / `label_factor` of the block's resolution.
    """

    def __init__(self, in_features: int, out_features: int, upsample: int = 1,
                 label_factor: int = 1) -> None:
        super().__init__()
        middle = min(in_features, out_features)
        self.conv_0 = Conv3x3(in_features, middle)
        self.conv_1 = Conv3x3(middle, out_features)
        self.norm_0 = SPADE(in_features, label_factor)
        self.norm_1 = SPADE(middle, label_factor)
        self.learned_shortcut = in_features != out_features
        if self.learned_shortcut:
            self.conv_s = nn.Conv2d(in_features, out_features, 1, bias=False)
            self.norm_s = SPADE(in_features, label_factor, shifts=False)
        elif upsample > 1:
            raise ValueError("an upsampling block needs the learned shortcut: the input "
                             "only enters through its instance norm")
        self.upsample = upsample

    def fold(self) -> None:
        """Fold every SPADE, and conv_s into the shortcut's beta: conv_s is linear and
        bias-free, so conv_s(beta) is one 3x3 conv of the shortcut's hidden map, with
        conv_s's output width (4x fewer multiply-adds than beta's conv in the up blocks)."""
        for module in self.children():
            if isinstance(module, SPADE):
                module.fold()
        if self.learned_shortcut:
            mix = self.conv_s.weight.detach().float()[:, :, 0, 0]
            beta = self.norm_s.mlp_beta
            dtype = beta.weight.dtype
            self.register_buffer("shortcut_beta_weight", torch.einsum(
                "oc,ciyx->oiyx", mix, beta.weight.detach().float()).to(dtype), persistent=False)
            self.register_buffer("shortcut_beta_bias", (mix @ beta.bias.detach().float()).to(dtype),
                                 persistent=False)

    def unused(self) -> set[nn.Module]:
        """Convolutions that never run once folded (see `SPADE.unused`), and the shortcut's
        beta conv, folded into `shortcut_beta_weight`."""
        norms = [module for module in self.children() if isinstance(module, SPADE)]
        unused = set().union(*(norm.unused() for norm in norms))
        return unused | {self.norm_s.mlp_beta} if self.learned_shortcut else unused

    def forward(self, x: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        # a nearest-upsampled map has its source's instance statistics: normalise small, and
        # let each SPADE upsample as it modulates
        normalized = instance_norm(x)
        dx = self.conv_0(self.norm_0(normalized, label, LEAKY_SLOPE))
        dx = self.conv_1(self.norm_1(instance_norm(dx), label, LEAKY_SLOPE))
        if not self.learned_shortcut:
            return dx.add_(x)
        # conv_s(beta + normalized * (1 + gamma)), the beta term folded (see `fold`)
        hidden = self.norm_s.hidden(label)
        shortcut = self.conv_s(self.norm_s.modulate(normalized, hidden))
        shortcut.add_(F.conv2d(hidden, self.shortcut_beta_weight, self.shortcut_beta_bias,
                               padding=1))
        return dx.add_(shortcut)


class SPADEDecoder(nn.Module):
    """256 ch at S/4 -> six 512-ch blocks -> x2 -> 256 ch -> x2 -> 64 ch -> RGB in [0, 1]."""

    def __init__(self) -> None:
        super().__init__()
        wide = 2 * FEATURES
        self.fc = Conv3x3(FEATURES, wide)
        for i in range(NUM_MIDDLE_BLOCKS):
            setattr(self, f"G_middle_{i}", SPADEResBlock(wide, wide))
        self.up_0 = SPADEResBlock(wide, FEATURES, upsample=2, label_factor=2)
        self.up_1 = SPADEResBlock(FEATURES, OUT_FEATURES, upsample=2, label_factor=4)
        self.conv_img = Conv3x3(OUT_FEATURES, 3)
        self.folded = False

    def fold(self) -> None:
        """Derive the inference constants from the weights as loaded, once: later calls keep
        them, so a cast to bf16 and back never re-derives them from rounded weights."""
        if self.folded:
            return
        for module in self.children():
            if isinstance(module, SPADEResBlock):
                module.fold()
        self.folded = True

    def set_frame_dtype(self, dtype: torch.dtype,
                        layout: torch.memory_format = torch.channels_last,
                        winograd: bool = False) -> None:
        """Cast weights and folded constants to `dtype` and `layout` (folding first, if that
        has not been done), with the 3x3 convolutions by Winograd where `winograd`
        (float32 only); repeated calls only cast."""
        if winograd and dtype != torch.float32:
            raise ValueError(f"Winograd convolutions run in float32, not {dtype}")
        self.fold()
        self.to(dtype, memory_format=layout)
        for module in self.modules():
            if isinstance(module, SPADE):
                module.use_winograd(winograd)
        unused = set().union(*(block.unused() for block in self.children()
                               if isinstance(block, SPADEResBlock)))
        for module in self.modules():
            if isinstance(module, Conv3x3):
                module.use_winograd(winograd and module not in unused)

    def forward(self, feature: torch.Tensor) -> torch.Tensor:
        x = self.fc(feature)
        for i in range(NUM_MIDDLE_BLOCKS):
            x = getattr(self, f"G_middle_{i}")(x, feature)
        x = self.up_1(self.up_0(x, feature), feature)
        return torch.sigmoid(self.conv_img(F.leaky_relu(x, LEAKY_SLOPE, inplace=True)))
