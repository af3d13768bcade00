"""Crop geometry and 5-point alignment against numbers computed with the public SadTalker code."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data

from sadtalker.errors import LandmarksError
from sadtalker.face.align import align_face
from sadtalker.face.crop import CropInfo, crop_face, crop_geometry
from sadtalker.options import Preprocess

EXPECTED = json.loads((Path(__file__).parent / "data" / "face_expected.json").read_text())


@pytest.mark.parametrize("name", sorted(EXPECTED["cases"]))
def test_crop_geometry_matches_public_code(name):
    case = EXPECTED["cases"][name]
    width, height = case["image_size"]
    work, crop, quad = crop_geometry(np.array(case["landmarks"]), width, height)
    assert list(work) == case["work_size"]
    assert list(crop) == case["crop_box"]
    np.testing.assert_allclose(quad, case["quad"], atol=1e-4, rtol=0)


@pytest.mark.parametrize("name", ["astronaut", "rotated_near_border"])
def test_alignment_matches_public_code(name):
    case = EXPECTED["cases"][name]
    crop, _, mapped = crop_face(data.astronaut(), np.array(case["landmarks"]), Preprocess.CROP, 256)
    aligned, trans_params = align_face(crop, mapped)
    assert aligned.shape == (224, 224, 3) and aligned.dtype == np.uint8
    np.testing.assert_allclose(trans_params, case["trans_params_crop256"], atol=1e-4, rtol=0)


def test_shrunk_photo_pastes_back_in_original_pixels():
    case = EXPECTED["cases"]["astronaut_x20_shrunk"]
    image = np.zeros((10240, 10240, 3), np.uint8)
    _, info, _ = crop_face(image, np.array(case["landmarks"]), Preprocess.FULL, 256)
    assert info.work_size == (3413, 3413)
    clx, cly, _, _ = case["crop_box"]
    lx, ly = (int(v) for v in case["quad"][:2])
    scale = 10240 / 3413
    assert info.paste_box[:2] == (round((clx + lx) * scale), round((cly + ly) * scale))


@pytest.mark.parametrize("mode", list(Preprocess))
def test_every_mode_gives_a_square_crop_and_mapped_landmarks(mode, astronaut_landmarks):
    image = data.astronaut()
    crop, info, mapped = crop_face(image, astronaut_landmarks, mode, 256)
    assert crop.shape == (256, 256, 3) and crop.dtype == np.uint8
    assert CropInfo.from_dict(json.loads(json.dumps(info.to_dict()))) == info
    # the landmarks mapped into the crop stay on it (resize mode: an exact halving)
    if mode is Preprocess.RESIZE:
        np.testing.assert_allclose(mapped, (astronaut_landmarks + 0.5) * 0.5 - 0.5, atol=1e-4)
    assert (mapped >= -1).all() and (mapped <= 257).all()


def test_ext_modes_keep_a_border_around_the_quad(astronaut_landmarks):
    _, tight, _ = crop_face(data.astronaut(), astronaut_landmarks, Preprocess.FULL, 256)
    _, loose, _ = crop_face(data.astronaut(), astronaut_landmarks, Preprocess.EXTFULL, 256)
    tx1, ty1, tx2, ty2 = tight.paste_box
    lx1, ly1, lx2, ly2 = loose.paste_box
    assert lx1 < tx1 and ly1 < ty1 and lx2 > tx2 and ly2 > ty2


def test_crop_pixels_are_the_photo_region(astronaut_landmarks):
    image = data.astronaut()
    crop, info, _ = crop_face(image, astronaut_landmarks, Preprocess.FULL, 256)
    x1, y1, x2, y2 = info.paste_box
    expected = cv2.resize(image[y1:y2, x1:x2], (256, 256))
    assert np.array_equal(crop, expected)
    assert info.output_size(256) == (256, int(256 * (y2 - y1) / (x2 - x1)))


def test_landmarks_off_the_image_give_a_landmarks_error():
    far = np.full((68, 2), 5000.0) + np.random.default_rng(0).normal(size=(68, 2))
    with pytest.raises(LandmarksError, match="empty face crop"):
        crop_face(data.astronaut(), far, Preprocess.CROP, 256)
