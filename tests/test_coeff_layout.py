"""The coefficient layout: SadTalker's numbers, and slices that tile their vectors."""

from __future__ import annotations

import itertools

from sadtalker import coeff_layout as layout


def width(part: slice) -> int:
    return part.stop - part.start


def test_the_regressor_slices_are_deep3dfacerecons() -> None:
    assert layout.RECON_COEFFS == sum(layout.RECON_HEAD_SIZES) == 257
    starts = [0, *itertools.accumulate(layout.RECON_HEAD_SIZES)]
    assert layout.RECON_EXPRESSION == slice(starts[1], starts[2]) == slice(80, 144)
    assert layout.RECON_ANGLES == slice(starts[3], starts[4]) == slice(224, 227)
    assert layout.RECON_TRANSLATION == slice(starts[5], starts[7]) == slice(254, 257)


def test_frame_and_source_coefficients_tile_without_gaps() -> None:
    assert (width(layout.EXPRESSION), width(layout.POSE), width(layout.ALIGNMENT)) == (
        layout.EXPRESSION_SIZE, layout.POSE_SIZE, layout.ALIGNMENT_SIZE) == (64, 6, 3)
    assert layout.EXPRESSION.start == 0 and layout.EXPRESSION.stop == layout.POSE.start
    assert (layout.ANGLES.start, layout.ANGLES.stop, layout.TRANSLATION.stop) == (
        layout.POSE.start, layout.TRANSLATION.start, layout.POSE.stop)
    assert layout.FRAME_COEFFS == layout.POSE.stop == layout.ALIGNMENT.start == 70
    assert layout.SOURCE_COEFFS == layout.ALIGNMENT.stop == 73
    # what the regressor's groups fill in the portrait's coefficients
    assert width(layout.RECON_EXPRESSION) == layout.EXPRESSION_SIZE
    assert width(layout.RECON_ANGLES) == width(layout.ANGLES)
    assert width(layout.RECON_TRANSLATION) == width(layout.TRANSLATION)
