"""Paste-back of rendered crops into the astronaut photo."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage.data import astronaut, chelsea

from sadtalker.errors import InputError
from sadtalker.paste import KEPT_RING, paste_back

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
    # 5 px in from the outline, past the kept ring and the band where OpenCV's eroded mask
    # mixes the photo's gradients in: rounding to uint8 only
    assert np.abs(residual[4:-4, 4:-4]).mean() < 1.1
    # only the box changes, a ring just inside its outline keeps the photo
    ring = KEPT_RING
    assert _changed(out, photo) == (x1 + ring, y1 + ring, x2 - ring, y2 - ring)
    assert np.array_equal(paste_back(cat_frames, photo, box), out)  # reproducible


def test_pasting_the_photos_own_crop_gives_back_the_photo(photo: np.ndarray) -> None:
    box = (160, 50, 320, 210)
    x1, y1, x2, y2 = box
    crop = cv2.resize(photo[y1:y2, x1:x2], (SIZE, SIZE))
    out = paste_back(crop[None], photo, box)
    diff = np.abs(out[0].astype(int) - photo.astype(int))
    assert diff.max() < 60 and diff.mean() < 0.5  # resize blur only, no colour shift


FACE_BOX = (160, 50, 320, 210)  # around the astronaut's face (landmarks span 180..269 x 87..169)


def _face_crop(dx: int = 0, dy: int = 0, grow: int = 0) -> np.ndarray:
    """The photo's own face crop as a 256x256 frame, moved by (dx, dy) and grown on each side
    by `grow` px: what a rendered frame looks like once the head moves or zooms."""
    x1, y1, x2, y2 = FACE_BOX
    crop = astronaut()[y1 + dy - grow:y2 + dy + grow, x1 + dx - grow:x2 + dx + grow]
    return cv2.resize(crop, (SIZE, SIZE))


def _sadtalker_paste(frame: np.ndarray, photo: np.ndarray,
                     box: tuple[int, int, int, int]) -> np.ndarray:
    """The public code's call: the frame resized to the box, an all-255 mask, centred."""
    x1, y1, x2, y2 = box
    resized = cv2.resize(frame, (x2 - x1, y2 - y1))
    mask = np.full(resized.shape, 255, dtype=np.uint8)
    return cv2.seamlessClone(resized, photo, mask, ((x1 + x2) // 2, (y1 + y2) // 2),
                             cv2.NORMAL_CLONE)


@pytest.mark.parametrize(("dx", "dy", "grow"), [(0, 0, 0), (4, -3, 0), (-6, 5, 0), (0, 0, 8),
                                                (0, 0, -8), (3, 2, 5)])
@pytest.mark.parametrize("box", [FACE_BOX, (150, 40, 301, 190)])
def test_face_crops_match_sadtalkers_paste(photo: np.ndarray, box: tuple[int, int, int, int],
                                           dx: int, dy: int, grow: int) -> None:
    frame = _face_crop(dx, dy, grow)
    out = paste_back(frame[None], photo, box)
    np.testing.assert_array_equal(out[0], _sadtalker_paste(frame, photo, box))


def test_paste_is_reproducible_across_calls_and_threads(photo: np.ndarray) -> None:
    frame = _face_crop(4, -3)
    first = paste_back(frame[None], photo, FACE_BOX)
    threads = cv2.getNumThreads()
    try:
        for count in (threads, 1):
            cv2.setNumThreads(count)
            for _ in range(10):
                np.testing.assert_array_equal(paste_back(frame[None], photo, FACE_BOX), first)
    finally:
        cv2.setNumThreads(threads)


def test_frames_are_pasted_independently_of_chunking(cat_frames: np.ndarray,
                                                     photo: np.ndarray) -> None:
    frames = np.concatenate([cat_frames, _face_crop(-6, 5)[None]])
    box = (-20, 450, 100, 570)  # crosses the border: the padded path
    whole = paste_back(frames, photo, box)
    one_by_one = np.concatenate([paste_back(frame[None], photo, box) for frame in frames])
    np.testing.assert_array_equal(whole, one_by_one)


def test_a_sliver_of_box_leaves_the_photo(cat_frames: np.ndarray, photo: np.ndarray) -> None:
    # 2 px of the box are visible: nothing is left inside the kept ring
    out = paste_back(cat_frames, photo, (-100, 0, 2, 100))
    assert (out == photo).all()


@pytest.mark.parametrize("box", [(0, 0, 150, 151), (400, 380, 512, 512), (-20, 450, 100, 570),
                                 (0, 0, 512, 512)])
def test_boxes_at_the_border_reach_the_border(cat_frames: np.ndarray, photo: np.ndarray,
                                              box: tuple[int, int, int, int]) -> None:
    out = paste_back(cat_frames, photo, box)
    assert out.shape == (2, *photo.shape)
    x1, y1, x2, y2 = box
    clipped = (max(x1, 0), max(y1, 0), min(x2, 512), min(y2, 512))
    # on sides at the border the pasted patch reaches the edge; elsewhere the outline stays
    expected = tuple(c if c in (0, 512) else c + (KEPT_RING if i < 2 else -KEPT_RING)
                     for i, c in enumerate(clipped))
    assert _changed(out, photo) == expected


def test_box_outside_the_photo_is_refused(cat_frames: np.ndarray, photo: np.ndarray) -> None:
    with pytest.raises(InputError, match="outside"):
        paste_back(cat_frames, photo, (600, 0, 700, 100))
    with pytest.raises(InputError, match="empty"):
        paste_back(cat_frames, photo, (100, 100, 100, 200))
