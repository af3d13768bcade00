"""Synthetic renderer weights have exactly the official keys, shapes and dtypes."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from sadtalker.coeff_layout import FRAME_COEFFS, SOURCE_COEFFS
from sadtalker.testing.render_weights import mapping_weights, render_weights

KEYS = Path(__file__).parent / "data" / "render_keys.tsv"


def official(prefixes: tuple[str, ...]) -> dict[str, tuple[str, str]]:
    rows = (line.rstrip("\n").split("\t") for line in KEYS.read_text().splitlines(True)
            if not line.startswith("#"))
    return {key: (shape, dtype) for key, shape, dtype in rows if key.startswith(prefixes)}


def layout(tensors: dict[str, torch.Tensor], label: str = "") -> dict[str, tuple[str, str]]:
    return {label + k: (str(tuple(v.shape)), str(v.dtype)) for k, v in tensors.items()}


def test_renderer_weights_have_the_official_layout() -> None:
    tensors = render_weights(seed=1, size=256, calibration_size=128)
    assert layout(tensors) == official(("kp_extractor.", "generator."))
    assert len(tensors) == 461
    # spectral-norm vectors are unit length, as power iteration leaves them
    u = tensors["generator.decoder.up_1.conv_s.weight_u"]
    assert torch.linalg.vector_norm(u).item() == pytest.approx(1.0, abs=1e-5)
    # calibrated BatchNorm statistics, not the identity defaults
    assert not torch.all(tensors["generator.first.norm.running_var"] == 1)


@pytest.mark.parametrize("channels", [FRAME_COEFFS, SOURCE_COEFFS])
def test_mapping_has_the_official_layout(channels: int) -> None:
    state = mapping_weights(seed=0, coeff_channels=channels)
    assert layout(state, f"mapping{channels}.") == official((f"mapping{channels}.",))
    # the same seed gives the same weights
    torch.testing.assert_close(mapping_weights(0, channels)["fc_exp.weight"],
                               state["fc_exp.weight"], rtol=0, atol=0)
