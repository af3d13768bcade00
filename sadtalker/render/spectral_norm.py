"""Folding the official generator's spectral-normalised convolutions into plain weights.

The official generator stores each spectral-normalised conv as `weight_orig` plus the power
iteration vectors `weight_u`, `weight_v`. In eval mode the effective weight is
W = W_orig / (u . W_orig v) with the stored u, v (no further iteration), so it is folded once
at load time and the modules hold plain `weight`s.
"""

from __future__ import annotations

import os

import torch

from sadtalker import weights

ORIG, U, V = "weight_orig", "weight_u", "weight_v"


def spectral_sigma(weight_orig: torch.Tensor, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """The spectral-norm estimate u . (W v), W flattened to (out, rest)."""
    return torch.dot(u, torch.mv(weight_orig.reshape(len(weight_orig), -1), v))


def fold_spectral_norm(state: dict[str, torch.Tensor], file: str | os.PathLike[str],
                       part: str = "") -> dict[str, torch.Tensor]:
    """Replace every (weight_orig, weight_u, weight_v) triple by the effective `weight`; a
    half-stored triple is a CheckpointError naming `file`, `part` and the missing key."""
    folded = {}
    for key, value in state.items():
        if key.endswith(ORIG):
            base = key[: -len(ORIG)]
            for needed in (base + U, base + V):
                if needed not in state:
                    raise weights.checkpoint_error(file, part, f"missing key {needed} of a "
                                                               "spectral-norm layer")
            folded[base + "weight"] = value / spectral_sigma(value, state[base + U],
                                                             state[base + V])
        elif not key.endswith((U, V)):
            folded[key] = value
    return folded
