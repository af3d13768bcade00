"""27-frame windows, still / expression scale / full-mode coefficients, free-view sequences."""

from __future__ import annotations

import numpy as np
import pytest

from sadtalker.coeff_layout import (
    ALIGNMENT,
    EXPRESSION,
    FRAME_COEFFS,
    POSE,
    SOURCE_COEFFS,
)
from sadtalker.errors import InputError
from sadtalker.render.semantics import (
    camera_sequence,
    frame_windows,
    source_window,
    target_coefficients,
)


def clip(frames: int) -> np.ndarray:
    """Coefficients whose value is frame * 100 + channel, so windows can be read back."""
    return (np.arange(frames)[:, None] * 100 + np.arange(FRAME_COEFFS)[None, :]).astype(np.float32)


def test_windows_are_clamped_at_both_clip_edges() -> None:
    target = clip(5)
    windows = frame_windows(target, np.array([0, 4]))
    assert windows.shape == (2, FRAME_COEFFS, 27)
    first = windows[0, 0] / 100  # channel 0 holds frame * 100
    assert first.tolist() == [0] * 14 + [1, 2, 3, 4] + [4] * 9
    last = windows[1, 0] / 100
    assert last.tolist() == [0] * 9 + [0, 1, 2, 3, 4] + [4] * 13
    assert windows[1, 69, 13] == 469  # centre of frame 4's window, channel 69


def test_inner_window_is_the_27_neighbours() -> None:
    windows = frame_windows(clip(40), np.array([20]))
    assert (windows[0, 0] / 100).tolist() == list(range(7, 34))


def test_target_scales_expression_only() -> None:
    source = np.arange(SOURCE_COEFFS, dtype=np.float32) * -1
    target = target_coefficients(clip(3), source, FRAME_COEFFS, expression_scale=2.0)
    assert target.shape == (3, FRAME_COEFFS) and target.dtype == np.float32
    np.testing.assert_array_equal(target[:, EXPRESSION], clip(3)[:, EXPRESSION] * 2)
    np.testing.assert_array_equal(target[:, POSE], clip(3)[:, POSE])


def test_full_mode_appends_source_alignment_and_still_copies_source_pose() -> None:
    source = np.arange(SOURCE_COEFFS, dtype=np.float32) * -1
    target = target_coefficients(clip(3), source, SOURCE_COEFFS, still=True)
    assert target.shape == (3, SOURCE_COEFFS)
    np.testing.assert_array_equal(target[:, EXPRESSION], clip(3)[:, EXPRESSION])
    np.testing.assert_array_equal(target[:, POSE.start:], np.tile(source[POSE.start:], (3, 1)))
    moving = target_coefficients(clip(3), source, SOURCE_COEFFS)
    np.testing.assert_array_equal(moving[:, POSE], clip(3)[:, POSE])
    np.testing.assert_array_equal(moving[:, ALIGNMENT], np.tile(source[ALIGNMENT], (3, 1)))


def test_source_window_repeats_the_source() -> None:
    window = source_window(np.arange(SOURCE_COEFFS, dtype=np.float32), FRAME_COEFFS)
    assert window.shape == (FRAME_COEFFS, 27)
    assert (window == np.arange(FRAME_COEFFS)[:, None]).all()


def test_bad_coefficients_are_refused() -> None:
    with pytest.raises(InputError, match="70"):
        target_coefficients(np.zeros((4, 6)), np.zeros(SOURCE_COEFFS), FRAME_COEFFS)


def test_single_angle_is_constant() -> None:
    assert camera_sequence([15], 4).tolist() == [15.0] * 4


def test_angle_ramps_walk_at_one_speed_and_stop_short_of_the_last_value() -> None:
    # 10 degrees over 10 steps: 1 degree per frame; arange excludes 10, the tail repeats 9.
    assert camera_sequence([0, 10], 11).tolist() == [*range(10), 9]
    # 0 -> 10 -> 0: 20 degrees over 20 steps.
    assert camera_sequence([0, 10, 0], 21).tolist() == [*range(10), *range(10, 0, -1), 1]
    # A longer list than frames is cut: 30 degrees over 3 steps = 10 per frame.
    assert camera_sequence([0, -30], 4).tolist() == [0, -10, -20, -20]


def test_equal_neighbour_angles_add_no_frames() -> None:
    assert camera_sequence([5, 5, 10], 6).tolist() == [5, 6, 7, 8, 9, 9]
    assert camera_sequence([5, 5], 3).tolist() == [5, 5, 5]
