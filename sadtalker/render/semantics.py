"""The renderer's per-frame inputs: 27-frame coefficient windows and free-view angle sequences.

Everything here is computed from the whole clip, so that any chunk of frames sees exactly the
numbers a render of the whole clip would.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from sadtalker.coeff_layout import (
    ALIGNMENT,
    ALIGNMENT_SIZE,
    EXPRESSION,
    FRAME_COEFFS,
    POSE,
    SOURCE_COEFFS,
)
from sadtalker.errors import InputError

SEMANTIC_RADIUS = 13  # frames on each side of the centre frame
WINDOW = 2 * SEMANTIC_RADIUS + 1


def target_coefficients(coeffs: np.ndarray, source: np.ndarray, coeff_channels: int,
                        still: bool = False, expression_scale: float = 1.0) -> np.ndarray:
    """The (T, coeff_channels) rows MappingNet reads for a clip.

    Expression is scaled; full modes (SOURCE_COEFFS channels) append the source's alignment
    parameters to every frame; `still` replaces the pose (and alignment) by the source's.
    """
    coeffs = np.asarray(coeffs, dtype=np.float32)
    source = np.asarray(source, dtype=np.float32).reshape(-1)
    if coeffs.ndim != 2 or coeffs.shape[1] < FRAME_COEFFS or len(coeffs) == 0:
        raise InputError(f"coefficients must be (frames, {FRAME_COEFFS}), got {coeffs.shape}")
    if coeff_channels not in (FRAME_COEFFS, SOURCE_COEFFS):
        raise InputError(f"coeff_channels must be {FRAME_COEFFS} or {SOURCE_COEFFS}, "
                         f"got {coeff_channels}")
    if len(source) < coeff_channels:
        raise InputError(f"source coefficients need {coeff_channels} values, got {len(source)}")
    target = coeffs[:, :FRAME_COEFFS].copy()
    target[:, EXPRESSION] *= np.float32(expression_scale)
    if coeff_channels > FRAME_COEFFS:
        alignment = np.broadcast_to(source[ALIGNMENT], (len(target), ALIGNMENT_SIZE))
        target = np.concatenate([target, alignment], axis=1)
    if still:
        target[:, POSE.start:] = source[POSE.start:coeff_channels]
    return target


def source_window(source: np.ndarray, coeff_channels: int) -> np.ndarray:
    """(coeff_channels, 27): the source's coefficients repeated over the whole window."""
    source = np.asarray(source, dtype=np.float32).reshape(-1)[:coeff_channels]
    return np.repeat(source[:, None], WINDOW, axis=1)


def frame_windows(target: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """(len(frames), C, 27) windows centred on `frames`, indices clamped to the clip."""
    offsets = np.arange(-SEMANTIC_RADIUS, SEMANTIC_RADIUS + 1)
    index = np.clip(np.asarray(frames)[:, None] + offsets, 0, len(target) - 1)
    return np.ascontiguousarray(target[index].transpose(0, 2, 1))


def camera_sequence(degrees: Sequence[float], num_frames: int) -> np.ndarray:
    """Per-frame angles (num_frames,) from a free-view list, as SadTalker builds them.

    One value is held constant. Several values are joined by linear ramps walked at one common
    speed (total absolute change / (frames - 1) degrees per frame), each ramp excluding its end
    value; the result is cut, or padded with its last value, to the clip's length. Equal
    neighbours contribute no frames (the official code divides by zero there).
    """
    values = [float(d) for d in degrees]
    if not values:
        raise InputError("a free-view angle list needs at least one value")
    total = sum(abs(b - a) for a, b in itertools.pairwise(values))
    if len(values) == 1 or num_frames < 2 or total == 0:
        return np.full(num_frames, values[0], dtype=np.float32)
    per_frame = total / (num_frames - 1)
    ramp: list[float] = []
    for a, b in itertools.pairwise(values):
        if b != a:
            step = per_frame * abs(b - a) / (b - a)
            ramp.extend(np.arange(a, b, step).tolist())
    ramp = ramp[:num_frames]
    ramp += [ramp[-1]] * (num_frames - len(ramp))
    return np.asarray(ramp, dtype=np.float32)
