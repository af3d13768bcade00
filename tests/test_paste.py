"""Paste-back of rendered crops into the astronaut photo."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage.data import astronaut, chelsea

from sadtalker.errors import InputError
from sadtalker.paste import paste_back

SIZE = 256


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return astronaut()


@pytest.fixture(scope="module")
def cat_frames() -> np.ndarray:
    """Two 256x256 frames of a cat: content that differs from the photo everywhere."""
    cat = cv2.resize(chelsea()[:, 50:350], (SIZE, SIZE))
    return np.stack([cat, np.roll(cat, 10, axis=0)])


def _changed(out: np.ndarray, photo: np.ndarray) -> tuple[int, int, int, int]:
    """Bounding box (x1, y1, x2, y2), exclusive, of pixels that differ from the photo."""
    ys, xs = np.nonzero(np.any(out != photo, axis=(0, -1)))
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def _laplacian(image: np.ndarray) -> np.ndarray:
    z = image.astype(np.float64)
    return z[:-2, 1:-1] + z[2:, 1:-1] + z[1:-1, :-2] + z[1:-1, 2:] - 4 * z[1:-1, 1:-1]


def test_inside_the_box_the_frame_gradients_are_kept(cat_frames: np.ndarray,
                                                     photo: np.ndarray) -> None:
    box = (150, 40, 301, 190)  # odd width
    out = paste_back(cat_frames, photo, box)
    assert out.shape == (2, *photo.shape) and out.dtype == np.uint8
    x1, y1, x2, y2 = box
    resized = cv2.resize(cat_frames[1], (x2 - x1, y2 - y1))
    residual = _laplacian(out[1, y1:y2, x1:x2]) - _laplacian(resized)
    assert np.abs(residual[1:-1, 1:-1]).mean() < 1.1  # rounding to uint8 only
    # only the box changes, its one-pixel outline keeps the photo (the boundary condition)
    assert _changed(out, photo) == (x1 + 1, y1 + 1, x2 - 1, y2 - 1)
    assert np.array_equal(paste_back(cat_frames, photo, box), out)  # reproducible


def test_pasting_the_photos_own_crop_gives_back_the_photo(photo: np.ndarray) -> None:
    box = (160, 50, 320, 210)
    x1, y1, x2, y2 = box
    crop = cv2.resize(photo[y1:y2, x1:x2], (SIZE, SIZE))
    out = paste_back(crop[None], photo, box)
    diff = np.abs(out[0].astype(int) - photo.astype(int))
    assert diff.max() < 60 and diff.mean() < 0.5  # resize blur only, no colour shift


@pytest.mark.parametrize("box", [(0, 0, 150, 151), (400, 380, 512, 512), (-20, 450, 100, 570),
                                 (0, 0, 512, 512)])
def test_boxes_at_the_border_reach_the_border(cat_frames: np.ndarray, photo: np.ndarray,
                                              box: tuple[int, int, int, int]) -> None:
    out = paste_back(cat_frames, photo, box)
    assert out.shape == (2, *photo.shape)
    x1, y1, x2, y2 = box
    clipped = (max(x1, 0), max(y1, 0), min(x2, 512), min(y2, 512))
    # on sides at the border the pasted patch reaches the edge; elsewhere the outline stays
    expected = tuple(c if c in (0, 512) else c + (1 if i < 2 else -1)
                     for i, c in enumerate(clipped))
    assert _changed(out, photo) == expected


def test_box_outside_the_photo_is_refused(cat_frames: np.ndarray, photo: np.ndarray) -> None:
    with pytest.raises(InputError, match="outside"):
        paste_back(cat_frames, photo, (600, 0, 700, 100))
    with pytest.raises(InputError, match="empty"):
        paste_back(cat_frames, photo, (100, 100, 100, 200))
