"""What the renderer reads of a clip, computed once: MappingNet's rows, free-view angles, batch.

The renderer takes these instead of the user's options, so the model layer depends on no option
type, and the per-clip work (scaling expressions, the still pose, the angle ramps) runs once per
chunk rather than once per batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from sadtalker.render.semantics import camera_sequence, target_coefficients


@dataclass(frozen=True)
class RenderSettings:
    """A clip's per-frame renderer inputs and the batch size its frames are rendered in."""

    target: np.ndarray  # (T, coeff_channels) float32: the rows MappingNet's windows read
    yaw: torch.Tensor | None  # (T,) degrees; None keeps the coefficients' own angle
    pitch: torch.Tensor | None
    roll: torch.Tensor | None
    batch_size: int

    @classmethod
    def for_clip(cls, coeffs: np.ndarray, source_coeffs: np.ndarray, coeff_channels: int,
                 batch_size: int, still: bool = False, expression_scale: float = 1.0,
                 yaw: Sequence[float] | None = None, pitch: Sequence[float] | None = None,
                 roll: Sequence[float] | None = None) -> RenderSettings:
        """From the clip's (T, FRAME_COEFFS) coefficients and the source's: expressions scaled,
        the source's pose where `still`, free-view angle lists ramped over the clip's frames."""
        target = target_coefficients(coeffs, source_coeffs, coeff_channels, still,
                                     expression_scale)

        def per_frame(degrees: Sequence[float] | None) -> torch.Tensor | None:
            return None if degrees is None else torch.from_numpy(
                camera_sequence(degrees, len(target)))

        return cls(target, per_frame(yaw), per_frame(pitch), per_frame(roll), batch_size)

    @property
    def num_frames(self) -> int:
        return len(self.target)

    def angles(self, frames: np.ndarray) -> tuple[torch.Tensor | None, ...]:
        """(yaw, pitch, roll) of `frames`, each None where the coefficients' own angle holds."""
        index = torch.from_numpy(frames)
        return tuple(None if seq is None else seq[index] for seq in (self.yaw, self.pitch,
                                                                     self.roll))
