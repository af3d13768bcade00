"""Loading the official state dicts into the renderer's modules, strictly.

The official generator stores each spectral-normalised conv as `weight_orig` plus the power
iteration vectors `weight_u`, `weight_v`. In eval mode the effective weight is
W = W_orig / (u . W_orig v) with the stored u, v (no further iteration), so it is folded once
here and the modules hold plain `weight`s.
"""

from __future__ import annotations

import torch
from torch import nn

from sadtalker.errors import CheckpointError

ORIG, U, V = "weight_orig", "weight_u", "weight_v"


def spectral_sigma(weight_orig: torch.Tensor, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """The spectral-norm estimate u . (W v), W flattened to (out, rest)."""
    return torch.dot(u, torch.mv(weight_orig.reshape(len(weight_orig), -1), v))


def fold_spectral_norm(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Replace every (weight_orig, weight_u, weight_v) triple by the effective `weight`."""
    folded = {}
    for key, value in state.items():
        if key.endswith(ORIG):
            base = key[: -len(ORIG)]
            try:
                u, v = state[base + U], state[base + V]
            except KeyError as exc:
                raise CheckpointError(f"spectral-norm layer {base!r} lacks {exc}") from None
            folded[base + "weight"] = value / spectral_sigma(value, u, v)
        elif not key.endswith((U, V)):
            folded[key] = value
    return folded


def load_strict(module: nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """Load with every key and shape checked; the error names the keys and the file."""
    expected = module.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            f"{source} does not match {type(module).__name__}: missing {missing[:5]}, "
            f"unexpected {unexpected[:5]} ({len(missing)}/{len(unexpected)} in all); "
            "re-download the file")
    for key, tensor in expected.items():
        if state[key].shape != tensor.shape:
            raise CheckpointError(
                f"{source}: {key} has shape {tuple(state[key].shape)}, expected "
                f"{tuple(tensor.shape)}; re-download the file")
    module.load_state_dict(state, strict=True)
