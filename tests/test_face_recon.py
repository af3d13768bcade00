"""The 3DMM regressor: official layout, strict loading, and the public code's numbers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from skimage import data

from sadtalker import weights
from sadtalker.coeff_layout import (
    ALIGNMENT,
    EXPRESSION,
    RECON_COEFFS,
    RECON_EXPRESSION,
    SOURCE_COEFFS,
)
from sadtalker.errors import CheckpointError
from sadtalker.face.align import align_face
from sadtalker.face.crop import crop_face
from sadtalker.face.extract import extract_face
from sadtalker.face.recon import ReconNet, load_recon, regress
from sadtalker.options import Preprocess
from sadtalker.testing.checkpoints import write_safetensors
from sadtalker.testing.recon_weights import recon_weights

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def recon_file(module_dir: Path) -> Path:
    path = module_dir / weights.SADTALKER_256
    write_safetensors(path, recon_weights(0))
    return path


def test_synthetic_weights_have_the_official_keys_shapes_and_dtypes():
    official = {}
    for line in (DATA / "face_recon_keys.tsv").read_text().splitlines():
        key, shape, dtype = line.split("\t")
        official[key] = (shape, dtype)
    tensors = recon_weights(0)
    assert set(tensors) == set(official)
    for key, tensor in tensors.items():
        assert (str(tuple(tensor.shape)), str(tensor.dtype)) == official[key], key


def test_output_matches_the_public_reconnet(recon_file):
    expected = json.loads((DATA / "face_expected.json").read_text())
    case = expected["cases"]["rotated_near_border"]
    crop, _, mapped = crop_face(data.astronaut(), np.array(case["landmarks"]), Preprocess.CROP, 256)
    aligned, _ = align_face(crop, mapped)
    out = regress(load_recon(recon_file), aligned).full
    assert out.shape == (RECON_COEFFS,)
    # fp32 ResNet-50 sums in a different order on each CPU class's kernels: the expectations
    # (computed on AVX-512) hold to 1e-4, relative for the few outputs above 1
    np.testing.assert_allclose(out, expected["recon"]["output"], atol=1e-4, rtol=1e-4)


def test_missing_key_is_a_checkpoint_error(tmp_path):
    tensors = recon_weights(0)
    tensors.pop("face_3drecon.final_layers.6.bias")
    path = tmp_path / weights.SADTALKER_256
    write_safetensors(path, tensors)
    with pytest.raises(CheckpointError,
                       match=r"256\.safetensors \[face_3drecon\].*final_layers\.6\.bias"):
        load_recon(path)


@pytest.mark.parametrize(("mode", "size"), [(m, 256) for m in Preprocess] + [("crop", 512)])
def test_extract_face_all_modes(recon_file, astronaut_landmarks, mode, size):
    recon = load_recon(recon_file)
    face = extract_face(data.astronaut(), astronaut_landmarks, Preprocess(mode), size, recon)
    assert face.crop.shape == (size, size, 3)
    assert face.coeffs.shape == (SOURCE_COEFFS,) and face.coeffs.dtype == np.float32
    crop, info, mapped = crop_face(data.astronaut(), astronaut_landmarks, Preprocess(mode), size)
    np.testing.assert_array_equal(face.crop, crop)
    assert face.crop_info == info
    full = regress(recon, align_face(crop, mapped)[0]).full
    np.testing.assert_array_equal(face.coeffs[EXPRESSION], full[RECON_EXPRESSION])
    assert np.isfinite(face.coeffs).all() and abs(face.coeffs[ALIGNMENT][0]) > 0  # its scale


def test_recon_is_deterministic_for_a_seed():
    a, b = recon_weights(3), recon_weights(3)
    assert all(torch.equal(a[k], b[k]) for k in a)
    net = ReconNet()
    floats = [*net.parameters(), *(b for b in net.buffers() if b.is_floating_point())]
    assert sum(t.numel() for t in floats) == 24_087_745  # the reference's float count
