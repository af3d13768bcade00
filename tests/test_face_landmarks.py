"""Landmarks: user-given files, and face-alignment's detector + FAN run offline on files in its
own format (synthetic weights, so what they find is chance; the code paths are what is tested)."""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path

import face_alignment.utils
import numpy as np
import pytest
import torch
import torch.hub
from skimage import data

from sadtalker import weights
from sadtalker.errors import CheckpointError, LandmarksError, NoFaceError
from sadtalker.face.landmarks import Landmarker, load_landmarks
from sadtalker.testing.landmarker_files import write_landmarker_files


@pytest.fixture(scope="module")
def landmarker_dir(module_dir: Path) -> Path:
    write_landmarker_files(module_dir, seed=0)
    return module_dir


@pytest.fixture()
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a download was attempted")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", refuse)
    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)
    monkeypatch.setattr(face_alignment.utils, "load_file_from_url", refuse)


def test_detector_and_fan_run_offline_on_official_format_files(landmarker_dir, no_network):
    landmarker = Landmarker.load(landmarker_dir)
    try:
        points = landmarker.detect(data.astronaut(), "astronaut.png")
    except NoFaceError:
        return  # random detector weights may find nothing: that path is valid too
    assert points.shape == (68, 2) and points.dtype == np.float32 and np.isfinite(points).all()


def test_a_fan_file_that_does_not_fit_names_file_and_key(landmarker_dir, tmp_path):
    (tmp_path / weights.S3FD).symlink_to(landmarker_dir / weights.S3FD)
    state = torch.load(landmarker_dir / weights.FAN_2D, weights_only=True)
    state["conv1.weight"] = state["conv1.weight"][:1]
    torch.save(state, tmp_path / weights.FAN_2D)
    with pytest.raises(CheckpointError, match=re.escape(
            f"{tmp_path / weights.FAN_2D}: key conv1.weight has shape (1, ")):
        Landmarker.load(tmp_path)


def test_an_unreadable_detector_file_is_named(landmarker_dir, tmp_path):
    (tmp_path / weights.FAN_2D).symlink_to(landmarker_dir / weights.FAN_2D)
    (tmp_path / weights.S3FD).write_bytes(b"truncated")
    with pytest.raises(CheckpointError, match=re.escape(f"{tmp_path / weights.S3FD}: cannot read")):
        Landmarker.load(tmp_path)


def test_no_box_is_a_named_error(landmarker_dir, monkeypatch):
    landmarker = Landmarker.load(landmarker_dir)
    monkeypatch.setattr(landmarker.aligner.face_detector, "detect_from_image", lambda image: [])
    with pytest.raises(NoFaceError, match=r"no face found in cat\.png: .*--landmarks"):
        landmarker.detect(data.chelsea(), "cat.png")


def test_largest_face_is_taken(landmarker_dir, monkeypatch):
    landmarker = Landmarker.load(landmarker_dir)
    boxes = [[10, 10, 60, 60, 0.99], [150, 40, 330, 260, 0.9]]
    monkeypatch.setattr(landmarker.aligner.face_detector, "detect_from_image", lambda image: boxes)
    seen = {}

    def landmarks_for(image, detected_faces):
        seen["box"] = detected_faces[0]
        return [np.zeros((68, 2))]

    monkeypatch.setattr(landmarker.aligner, "get_landmarks_from_image", landmarks_for)
    landmarker.detect(data.astronaut(), "two.png")
    assert list(seen["box"][:4]) == [150, 40, 330, 260]


@pytest.mark.parametrize("form", ["npy", "list", "dict"])
def test_landmark_files(tmp_path, astronaut_landmarks, form):
    path = tmp_path / ("p.npy" if form == "npy" else "p.json")
    if form == "npy":
        np.save(path, astronaut_landmarks)
    else:
        points = astronaut_landmarks.tolist()
        path.write_text(json.dumps(points if form == "list" else {"landmarks": points}))
    np.testing.assert_allclose(load_landmarks(path, 512, 512), astronaut_landmarks, atol=1e-5)


@pytest.mark.parametrize(
    ("points", "fragment"),
    [
        (np.zeros((5, 2)), "shape (5, 2): expected 68"),
        (np.full((68, 2), np.nan), "NaN"),
        (np.full((68, 2), 900.0), "outside the 512x512 image"),
    ],
)
def test_bad_landmarks_are_rejected(tmp_path, points, fragment):
    path = tmp_path / "p.npy"
    np.save(path, points)
    with pytest.raises(LandmarksError) as info:
        load_landmarks(path, 512, 512)
    assert fragment in str(info.value)


def test_unreadable_landmark_file(tmp_path):
    path = tmp_path / "p.json"
    path.write_text("{not json")
    with pytest.raises(LandmarksError, match="cannot read landmarks"):
        load_landmarks(path, 512, 512)
