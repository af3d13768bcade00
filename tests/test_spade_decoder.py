"""The SPADE decoder's load-time folding (checkpoint layout kept, misuse named) and its
broadcast modulation."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from sadtalker.render.spade_decoder import SPADEDecoder, SPADEResBlock, modulated


def test_folding_adds_no_checkpoint_keys_and_casts_its_constants() -> None:
    torch.manual_seed(0)
    decoder = SPADEDecoder().eval()
    keys = list(decoder.state_dict())
    decoder.set_frame_dtype(torch.bfloat16)
    assert list(decoder.state_dict()) == keys  # folded constants are not saved nor loaded
    constants = [decoder.up_1.shortcut_beta_weight, decoder.up_1.norm_0.scale_bias,
                 *decoder.up_1.norm_0.upsampled_shared.buffers()]
    assert all(c.dtype is torch.bfloat16 for c in constants)
    assert decoder.up_1.shortcut_beta_weight.shape == (64, 128, 3, 3)  # conv_s's width, not 256
    assert decoder.G_middle_0.norm_0.upsampled_shared is None  # same-size label: plain conv


def folded_constants(decoder: SPADEDecoder) -> dict[str, torch.Tensor]:
    return {name: buffer.clone() for name, buffer in decoder.named_buffers()}


def test_a_second_cast_keeps_the_constants_derived_from_the_loaded_weights() -> None:
    torch.manual_seed(0)
    decoder = SPADEDecoder().eval()
    reference = SPADEDecoder().eval()
    reference.load_state_dict(decoder.state_dict())
    reference.fold()
    expected = folded_constants(reference)  # float32, from the float32 weights
    assert {"up_1.shortcut_beta_weight", "up_1.norm_0.scale_bias"} <= set(expected)
    decoder.set_frame_dtype(torch.bfloat16)
    decoder.set_frame_dtype(torch.bfloat16)
    decoder.set_frame_dtype(torch.float32)  # only casts: bf16-rounded, never re-derived
    for name, constant in folded_constants(decoder).items():
        assert constant.dtype is torch.float32, name
        torch.testing.assert_close(constant, expected[name].bfloat16().float(), rtol=0, atol=0)


def test_running_unfolded_names_the_missing_step() -> None:
    decoder = SPADEDecoder().eval()
    with torch.inference_mode(), pytest.raises(RuntimeError, match="SPADEDecoder.fold"):
        decoder(torch.zeros(1, 256, 8, 8))


def test_an_upsampling_block_needs_the_learned_shortcut() -> None:
    with pytest.raises(ValueError, match="learned shortcut"):
        SPADEResBlock(64, 64, upsample=2)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("layout", [torch.channels_last, torch.contiguous_format])
def test_modulation_upsamples_by_broadcasting_in_the_maps_layout(dtype, layout) -> None:
    torch.manual_seed(0)
    normalized = torch.randn(2, 8, 3, 5).to(dtype).contiguous(memory_format=layout)
    scale, shift = (torch.randn(2, 8, 6, 10).to(dtype).contiguous(memory_format=layout)
                    for _ in range(2))
    upsampled = F.interpolate(normalized, scale_factor=2, mode="nearest")
    out = modulated(normalized, scale, shift)
    assert out.is_contiguous(memory_format=layout)
    torch.testing.assert_close(out, torch.addcmul(shift, upsampled, scale), rtol=0, atol=0)
    torch.testing.assert_close(modulated(normalized, scale), upsampled * scale, rtol=0, atol=0)
