"""Head pose and keypoint transformation: canonical keypoints -> posed, expressive keypoints."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from sadtalker.render.mapping import HeadMotion

BIN_DEGREES = 3.0  # width of one pose bin
BIN_OFFSET_DEGREES = 99.0  # bin 0 starts at -99 degrees: 66 bins cover [-99, 99)
PI_OFFICIAL = 3.14  # the official code converts degrees to radians with 3.14, not pi
# t_x and t_z are dropped: only the vertical translation moves the keypoints.
TRANSLATION_MASK = (0.0, 1.0, 0.0)


def bins_to_degrees(logits: torch.Tensor) -> torch.Tensor:
    """Expected angle under the softmax over 66 pose bins: (N, 66) -> (N,) degrees."""
    index = torch.arange(logits.shape[1], dtype=logits.dtype, device=logits.device)
    return (F.softmax(logits, dim=1) * index).sum(dim=1) * BIN_DEGREES - BIN_OFFSET_DEGREES


def rotation_matrix(yaw: torch.Tensor, pitch: torch.Tensor, roll: torch.Tensor) -> torch.Tensor:
    """(N,) degrees each -> (N, 3, 3) = Rx(pitch) @ Ry(yaw) @ Rz(roll)."""
    yaw, pitch, roll = (a / 180 * PI_OFFICIAL for a in (yaw, pitch, roll))
    one, zero = torch.ones_like(yaw), torch.zeros_like(yaw)

    def matrix(*rows: torch.Tensor) -> torch.Tensor:
        return torch.stack(rows, dim=1).view(-1, 3, 3)

    cp, sp, cy, sy, cr, sr = (f(a) for a in (pitch, yaw, roll) for f in (torch.cos, torch.sin))
    about_x = matrix(one, zero, zero, zero, cp, -sp, zero, sp, cp)
    about_y = matrix(cy, zero, sy, zero, one, zero, -sy, zero, cy)
    about_z = matrix(cr, -sr, zero, sr, cr, zero, zero, zero, one)
    return about_x @ about_y @ about_z


def transform_keypoints(canonical: torch.Tensor, motion: HeadMotion,
                        yaw: torch.Tensor | None = None, pitch: torch.Tensor | None = None,
                        roll: torch.Tensor | None = None) -> torch.Tensor:
    """Rotate (N|1, K, 3) canonical keypoints, add y-translation and expression offsets.

    yaw/pitch/roll (N,) degrees, when given, replace the angles MappingNet predicted (free view).
    """
    angles = [bins_to_degrees(logits) if given is None else given
              for logits, given in ((motion.yaw, yaw), (motion.pitch, pitch), (motion.roll, roll))]
    rotation = rotation_matrix(*angles)
    rotated = torch.einsum("bmp,bkp->bkm", rotation, canonical.expand(len(rotation), -1, -1))
    mask = torch.tensor(TRANSLATION_MASK, dtype=rotated.dtype, device=rotated.device)
    translation = (motion.translation * mask)[:, None, :]
    return rotated + translation + motion.expression.view(len(rotation), -1, 3)
