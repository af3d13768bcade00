"""Seeded random initialisation, so the same seed gives the same weights: of convolutions and
linear layers from a generator passed in, and of modules whose constructors draw from torch's
global RNG within `global_seed`."""

from __future__ import annotations

import contextlib
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


@contextlib.contextmanager
def global_seed(seed: int) -> Iterator[None]:
    """Torch's global CPU RNG seeded with `seed` within the block, and as it was after it."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield
