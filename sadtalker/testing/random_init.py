"""Seeded random initialisation of convolutions and linear layers, drawn from a generator
passed in (never torch's global RNG), so the same seed gives the same weights."""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch
from torch import nn


def _weighted_layers(module: nn.Module) -> Iterator[nn.Module]:
    """Every convolution (transposed too) and linear layer, in module order."""
    return (layer for layer in module.modules()
            if isinstance(layer, (nn.modules.conv._ConvNd, nn.Linear)))


def he_normal_(module: nn.Module, rng: torch.Generator) -> None:
    """He-normal weights (std sqrt(2 / fan-in)) and zero biases."""
    with torch.no_grad():
        for layer in _weighted_layers(module):
            layer.weight.normal_(0, math.sqrt(2 / layer.weight[0].numel()), generator=rng)
            if layer.bias is not None:
                layer.bias.zero_()


def fan_in_uniform_(module: nn.Module, rng: torch.Generator) -> None:
    """PyTorch's default init (weights and biases uniform within 1/sqrt(fan-in)) and
    BatchNorm at identity: for modules built on the meta device, whose memory is unset."""
    with torch.no_grad():
        for layer in _weighted_layers(module):
            bound = 1 / math.sqrt(layer.weight[0].numel())
            layer.weight.uniform_(-bound, bound, generator=rng)
            if layer.bias is not None:
                layer.bias.uniform_(-bound, bound, generator=rng)
        for layer in module.modules():
            if isinstance(layer, nn.modules.batchnorm._BatchNorm):
                layer.reset_parameters()
