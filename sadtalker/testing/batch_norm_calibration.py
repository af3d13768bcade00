"""BatchNorm running statistics measured on real inputs: what makes random weights usable.

A randomly initialised network with identity BatchNorm statistics (mean 0, variance 1)
saturates or collapses within a few layers. Setting each BatchNorm's statistics to those of the
activations it sees on real inputs keeps every layer's output normalised, as training would.

`calibrate_batch_norms` does this for every synthetic network (audio encoders, the PoseVAE
decoder, the 3DMM regressor, the renderer, GFPGAN's face detector and parser). It runs the
forward passes in inference mode with a hook in front of each BatchNorm: the hook sets the
layer's statistics to those of its current input, so the layer normalises the way a training
step does and the layers after it see calibrated inputs; when the block ends, each layer keeps
the average over the calls it saw. Inference mode leaves every other layer as it runs in use.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn


@contextlib.contextmanager
def calibrate_batch_norms(*modules: nn.Module, unbiased: bool = True) -> Iterator[None]:
    """Within the block, each BatchNorm in `modules` normalises its input by that input's own
    statistics; at the end it keeps their average over its calls as its running statistics.

    `unbiased` stores the sample variance, as PyTorch's training does; False stores the
    population variance, the one each call normalised with, so that a layer called once (or
    on one input) then reproduces its calibration output exactly. The modules are left in
    eval mode; `num_batches_tracked` is not touched (eval mode does not read it).
    """
    norms = [layer for module in modules for layer in module.modules()
             if isinstance(layer, nn.modules.batchnorm._BatchNorm)]
    seen: dict[nn.Module, list[torch.Tensor | int]] = {}  # layer -> [mean sum, var sum, calls]

    def measure(layer: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
        x = inputs[0]
        dims = [0, *range(2, x.dim())]  # every axis but the channels
        mean, variance = x.mean(dim=dims), x.var(dim=dims, unbiased=False)
        layer.running_mean.copy_(mean)  # what this call normalises with
        layer.running_var.copy_(variance)
        stored = x.var(dim=dims, unbiased=True) if unbiased else variance
        sums = seen.setdefault(layer, [torch.zeros_like(mean), torch.zeros_like(mean), 0])
        sums[0] += mean
        sums[1] += stored
        sums[2] += 1

    for module in modules:
        module.eval()
    hooks = [layer.register_forward_pre_hook(measure) for layer in norms]
    try:
        with torch.no_grad():
            yield
    finally:
        for hook in hooks:
            hook.remove()
    with torch.no_grad():
        for layer, (mean_sum, var_sum, calls) in seen.items():
            layer.running_mean.copy_(mean_sum / calls)
            layer.running_var.copy_(var_sum / calls)
