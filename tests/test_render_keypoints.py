"""Head-pose bins -> degrees, the 3.14 rotation and the keypoint transformation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from sadtalker.render.keypoints import bins_to_degrees, rotation_matrix, transform_keypoints
from sadtalker.render.mapping import HeadMotion


def one_hot_logits(bins: list[int]) -> torch.Tensor:
    logits = torch.full((len(bins), 66), -1e4)
    logits[torch.arange(len(bins)), torch.tensor(bins)] = 0.0
    return logits


def test_bins_to_degrees_maps_bin_centres_to_3_degree_steps() -> None:
    # bin i -> 3 i - 99: bin 0 = -99, bin 33 = 0, bin 65 = 96.
    degrees = bins_to_degrees(one_hot_logits([0, 33, 65, 40]))
    assert degrees.tolist() == pytest.approx([-99.0, 0.0, 96.0, 21.0], abs=1e-4)


def test_bins_to_degrees_of_uniform_logits_is_the_mean_bin() -> None:
    # mean bin 32.5 -> 3 * 32.5 - 99 = -1.5 degrees
    assert bins_to_degrees(torch.zeros(2, 66)).tolist() == pytest.approx([-1.5, -1.5], abs=1e-5)


def test_rotation_uses_3_14_for_pi() -> None:
    # 90 degrees of yaw is 1.57 rad, not pi/2: cos(1.57) = 7.963e-4.
    rot = rotation_matrix(torch.tensor([90.0]), torch.zeros(1), torch.zeros(1))[0]
    c, s = math.cos(1.57), math.sin(1.57)
    assert c == pytest.approx(7.963e-4, abs=1e-6)
    expected = [[c, 0, s], [0, 1, 0], [-s, 0, c]]
    np.testing.assert_allclose(rot.numpy(), expected, atol=1e-6)


def test_rotation_is_pitch_then_yaw_then_roll_product() -> None:
    yaw, pitch, roll = 30.0, 20.0, -10.0
    y, p, r = (a / 180 * 3.14 for a in (yaw, pitch, roll))
    about_x = np.array([[1, 0, 0], [0, math.cos(p), -math.sin(p)], [0, math.sin(p), math.cos(p)]])
    about_y = np.array([[math.cos(y), 0, math.sin(y)], [0, 1, 0], [-math.sin(y), 0, math.cos(y)]])
    about_z = np.array([[math.cos(r), -math.sin(r), 0], [math.sin(r), math.cos(r), 0], [0, 0, 1]])
    rot = rotation_matrix(torch.tensor([yaw]), torch.tensor([pitch]), torch.tensor([roll]))[0]
    np.testing.assert_allclose(rot.numpy(), about_x @ about_y @ about_z, atol=1e-6)
    # e.g. the (0, 2) entry is sin(yaw) cos(roll)... here written out by hand:
    assert rot[0, 2].item() == pytest.approx(math.sin(y), abs=1e-6)


def test_transform_keeps_only_vertical_translation_and_adds_expression() -> None:
    canonical = torch.tensor([[[0.1, 0.2, 0.3], [-0.4, 0.5, -0.6]]])
    zero_pose = one_hot_logits([33])  # 0 degrees on every axis -> identity rotation
    motion = HeadMotion(zero_pose, zero_pose, zero_pose,
                        translation=torch.tensor([[5.0, 0.25, 7.0]]),
                        expression=torch.tensor([[0.01, 0.02, 0.03, -0.01, -0.02, -0.03]]))
    out = transform_keypoints(canonical, motion)
    expected = [[[0.11, 0.47, 0.33], [-0.41, 0.73, -0.63]]]
    np.testing.assert_allclose(out.numpy(), expected, atol=1e-5)


def test_free_view_angles_replace_the_predicted_ones() -> None:
    canonical = torch.tensor([[[1.0, 0.0, 0.0]]])
    pose = one_hot_logits([33])
    motion = HeadMotion(pose, pose, pose, torch.zeros(1, 3), torch.zeros(1, 3))
    out = transform_keypoints(canonical, motion, yaw=torch.tensor([90.0]))
    # Ry(1.57) @ (1, 0, 0) = (cos 1.57, 0, -sin 1.57)
    np.testing.assert_allclose(out[0, 0].numpy(), [math.cos(1.57), 0, -math.sin(1.57)],
                               atol=1e-6)
