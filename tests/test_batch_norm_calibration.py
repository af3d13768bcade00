"""The one BatchNorm calibrator of the synthetic weights: statistics, averaging, inference mode."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from sadtalker.testing.batch_norm_calibration import calibrate_batch_norms


def network() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Conv2d(4, 2, 1),
                         nn.BatchNorm2d(2))


def test_population_statistics_reproduce_the_calibration_pass() -> None:
    net, x = network(), torch.randn(2, 3, 8, 8)
    with calibrate_batch_norms(net, unbiased=False):
        during = net(x)
    features = net[0](x)
    torch.testing.assert_close(net[1].running_mean, features.mean((0, 2, 3)), rtol=0, atol=0)
    torch.testing.assert_close(net[1].running_var, features.var((0, 2, 3), unbiased=False),
                               rtol=0, atol=0)
    assert not net.training and not net[1]._forward_pre_hooks
    with torch.no_grad():
        torch.testing.assert_close(net(x), during, rtol=0, atol=0)
    # the pass normalised as a training step does
    trained = network().train()
    torch.testing.assert_close(during, trained(x).detach(), rtol=1e-5, atol=1e-5)


def test_sample_statistics_average_over_calls_as_training_stores_them() -> None:
    net, batches = network(), [torch.randn(2, 3, 8, 8), 3 + torch.randn(2, 3, 8, 8)]
    with calibrate_batch_norms(net):
        for x in batches:
            net(x)
    trained = network().train()
    for norm in (trained[1], trained[4]):
        norm.momentum = None  # a cumulative average, as the calibrator keeps
    with torch.no_grad():
        for x in batches:
            trained(x)
    for ours, theirs in ((net[1], trained[1]), (net[4], trained[4])):
        torch.testing.assert_close(ours.running_mean, theirs.running_mean, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(ours.running_var, theirs.running_var, rtol=1e-5, atol=1e-6)


def test_a_failed_pass_leaves_no_hooks() -> None:
    net = network()
    with pytest.raises(RuntimeError), calibrate_batch_norms(net):
        net(torch.randn(2, 5, 8, 8))  # wrong channel count
    assert not net[1]._forward_pre_hooks and not net[4]._forward_pre_hooks
