"""Shared conv blocks: the bf16 pooling works in any memory layout, on any CPU."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from sadtalker.render.blocks import DownBlock3d


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last_3d])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_down_block_3d_pools_height_and_width_in_every_dtype_and_layout(dtype, layout) -> None:
    torch.manual_seed(0)
    block = DownBlock3d(4, 6).eval().to(dtype)
    x = torch.randn(2, 4, 3, 8, 8).to(dtype).contiguous(memory_format=layout)
    with torch.inference_mode():
        out = block(x)
        expected = F.avg_pool3d(F.relu(block.norm(block.conv(x))).float(), (1, 2, 2))
    assert out.shape == (2, 6, 3, 4, 4) and out.dtype == dtype
    torch.testing.assert_close(out.float(), expected, rtol=0, atol=1e-6 if dtype is
                               torch.float32 else 2e-2)
