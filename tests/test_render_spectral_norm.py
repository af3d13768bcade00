"""Spectral-norm folding of official-layout generator weights."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from sadtalker import weights
from sadtalker.errors import CheckpointError
from sadtalker.render.spectral_norm import fold_spectral_norm


def test_folded_weight_reproduces_torch_spectral_norm_in_eval() -> None:
    torch.manual_seed(0)  # test-local: spectral_norm draws u, v from the global RNG
    conv = nn.utils.spectral_norm(nn.Conv2d(8, 6, 3, padding=1))
    for _ in range(30):  # training-mode calls run power iterations, as training did
        conv(torch.randn(1, 8, 5, 5))
    conv.eval()
    state = conv.state_dict()
    assert {"weight_orig", "weight_u", "weight_v", "bias"} <= set(state)

    plain = weights.load_strict(nn.Conv2d(8, 6, 3, padding=1),
                                fold_spectral_norm(state, "test conv"), "test conv")
    x = torch.randn(2, 8, 7, 7)
    with torch.no_grad():
        torch.testing.assert_close(plain(x), conv(x), rtol=0, atol=1e-6)
        # a folded weight has spectral norm ~1 once u, v have converged
        sigma = torch.linalg.matrix_norm(plain.weight.reshape(6, -1), ord=2)
    assert sigma.item() == pytest.approx(1.0, abs=0.05)


def test_fold_refuses_a_half_stored_layer_naming_file_and_key() -> None:
    state = {"conv.weight_orig": torch.ones(2, 2), "conv.weight_u": torch.ones(2)}
    with pytest.raises(CheckpointError, match=r"^g\.safetensors \[generator\]: missing key "
                                              r"conv\.weight_v "):
        fold_spectral_norm(state, "g.safetensors", "generator")
