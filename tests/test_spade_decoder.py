"""The SPADE decoder's load-time folding: checkpoint layout kept, misuse named."""

from __future__ import annotations

import pytest
import torch

from sadtalker.render.spade_decoder import SPADEDecoder, SPADEResBlock


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


def test_running_unfolded_names_the_missing_step() -> None:
    decoder = SPADEDecoder().eval()
    with torch.inference_mode(), pytest.raises(RuntimeError, match="set_frame_dtype"):
        decoder(torch.zeros(1, 256, 8, 8))


def test_an_upsampling_block_needs_the_learned_shortcut() -> None:
    with pytest.raises(ValueError, match="learned shortcut"):
        SPADEResBlock(64, 64, upsample=2)
