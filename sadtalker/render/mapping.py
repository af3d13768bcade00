"""MappingNet: a 27-frame window of 3DMM coefficients -> head pose, translation and keypoint
expression offsets for the window's centre frame."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

DESCRIPTOR_CHANNELS = 1024
NUM_LAYERS = 3
POSE_BINS = 66  # yaw/pitch/roll are classified into 66 bins of 3 degrees
FIRST_KERNEL = 7
DILATION = 3  # each encoder layer trims 3 frames per side: 27 -> 21 -> 15 -> 9 -> 3
LEAKY_SLOPE = 0.1


@dataclass
class HeadMotion:
    """MappingNet's output for N windows."""

    yaw: torch.Tensor  # (N, 66) bin logits
    pitch: torch.Tensor  # (N, 66)
    roll: torch.Tensor  # (N, 66)
    translation: torch.Tensor  # (N, 3)
    expression: torch.Tensor  # (N, 45): a 3-D offset per keypoint


class MappingNet(nn.Module):
    """Dilated 1-D conv encoder over time, average pooled, with five linear heads."""

    def __init__(self, coeff_channels: int, num_keypoints: int = 15) -> None:
        super().__init__()
        self.first = nn.Sequential(nn.Conv1d(coeff_channels, DESCRIPTOR_CHANNELS, FIRST_KERNEL))
        for i in range(NUM_LAYERS):
            setattr(self, f"encoder{i}", nn.Sequential(
                nn.LeakyReLU(LEAKY_SLOPE),
                nn.Conv1d(DESCRIPTOR_CHANNELS, DESCRIPTOR_CHANNELS, 3, dilation=DILATION)))
        self.fc_roll = nn.Linear(DESCRIPTOR_CHANNELS, POSE_BINS)
        self.fc_pitch = nn.Linear(DESCRIPTOR_CHANNELS, POSE_BINS)
        self.fc_yaw = nn.Linear(DESCRIPTOR_CHANNELS, POSE_BINS)
        self.fc_t = nn.Linear(DESCRIPTOR_CHANNELS, 3)
        self.fc_exp = nn.Linear(DESCRIPTOR_CHANNELS, 3 * num_keypoints)
        self.coeff_channels = coeff_channels

    def forward(self, windows: torch.Tensor) -> HeadMotion:
        """windows: (N, coeff_channels, 27)."""
        out = self.first(windows)
        trim = DILATION
        for i in range(NUM_LAYERS):
            out = getattr(self, f"encoder{i}")(out) + out[:, :, trim:-trim]
        out = out.mean(dim=2)
        return HeadMotion(self.fc_yaw(out), self.fc_pitch(out), self.fc_roll(out),
                          self.fc_t(out), self.fc_exp(out))
