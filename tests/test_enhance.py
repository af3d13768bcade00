"""GFPGAN enhancer: the torchvision compatibility fix, synthetic files, offline loading."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from skimage.data import astronaut

from sadtalker import torchvision_compat, weights
from sadtalker.errors import CheckpointError


def test_compat_module_forwards_rgb_to_grayscale() -> None:
    torchvision_compat.install()
    torchvision_compat.install()  # idempotent
    from torchvision.transforms import functional
    from torchvision.transforms.functional_tensor import rgb_to_grayscale

    assert rgb_to_grayscale is functional.rgb_to_grayscale
    from basicsr.data import degradations  # the import that breaks without the fix

    assert degradations.rgb_to_grayscale is functional.rgb_to_grayscale
    from gfpgan import GFPGANer

    assert GFPGANer.__name__ == "GFPGANer"


@pytest.fixture(scope="module")
def enhance_module():
    from sadtalker import enhance

    return enhance


@pytest.fixture(scope="module")
def enhancer_dir(module_dir: Path, enhance_module) -> Path:
    from sadtalker.testing.enhancer_files import write_enhancer_files

    paths = write_enhancer_files(module_dir, seed=0)
    assert sorted(p.name for p in paths) == sorted(
        [weights.GFPGAN, weights.PARSENET, weights.RETINAFACE])
    return module_dir


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a connection or start a download fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args[:2]}")

    import facexlib.utils.misc

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(facexlib.utils.misc, "download_url_to_file", refuse)
    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)


def test_synthetic_files_have_the_layout_gfpgan_and_facexlib_read(enhancer_dir: Path,
                                                                  enhance_module) -> None:
    expected = {
        weights.RETINAFACE: enhance_module.retinaface().state_dict(),
        weights.PARSENET: enhance_module.parsenet().state_dict(),
        weights.GFPGAN: enhance_module.gfpgan_v14().state_dict(),
    }
    for name, reference in expected.items():
        state = torch.load(enhancer_dir / name, weights_only=True)  # as gfpgan/facexlib load
        if name == weights.GFPGAN:
            assert list(state) == ["params_ema"]
            state = state["params_ema"]
        assert list(state) == list(reference)
        for key, value in state.items():
            assert value.shape == reference[key].shape and value.dtype == reference[key].dtype
    detector = torch.load(enhancer_dir / weights.RETINAFACE, weights_only=True)
    assert detector["body.bn1.num_batches_tracked"].dtype == torch.int64
    assert 0.01 < detector["body.bn1.running_var"].mean() < 1e4  # calibrated, not the default 1


def test_enhancer_runs_offline_and_keeps_the_frame_size(
        enhancer_dir: Path, enhance_module, no_network: None, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # GFPGANer would create ./gfpgan/weights here
    enhancer = enhance_module.Enhancer.load(enhancer_dir)
    frame = cv2.resize(astronaut()[0:300, 100:400], (256, 256), interpolation=cv2.INTER_AREA)
    rng_before = torch.random.get_rng_state()
    out = enhancer.enhance(np.stack([frame, frame]))
    assert out.shape == (2, 256, 256, 3) and out.dtype == np.uint8
    assert 0 < np.abs(out[0].astype(int) - frame).mean() < 60  # a face was restored and pasted
    assert np.array_equal(out[0], out[1])  # seeded noise: same frame, same result
    assert torch.equal(torch.random.get_rng_state(), rng_before)  # global RNG untouched
    assert list(tmp_path.iterdir()) == []  # nothing downloaded or created in the cwd


def test_missing_file_is_named_and_never_downloaded(enhancer_dir: Path, enhance_module,
                                                    no_network: None, tmp_path: Path) -> None:
    for name in (weights.GFPGAN, weights.RETINAFACE):
        (tmp_path / name).symlink_to(enhancer_dir / name)
    with pytest.raises(CheckpointError, match=weights.PARSENET):
        enhance_module.Enhancer.load(tmp_path)


def test_files_facexlib_reads_are_checked_by_the_strict_loader(
        enhancer_dir: Path, enhance_module, no_network: None, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    directory = tmp_path / "weights"
    directory.mkdir()
    for name in (weights.GFPGAN, weights.RETINAFACE):
        (directory / name).symlink_to(enhancer_dir / name)
    state = torch.load(enhancer_dir / weights.PARSENET, weights_only=True)
    del state["decoder.0.conv1.conv2d.weight"]
    torch.save(state, directory / weights.PARSENET)
    with pytest.raises(CheckpointError, match=re.escape(
            f"{directory / weights.PARSENET}: does not fit ParseNet: missing keys "
            "['decoder.0.conv1.conv2d.weight']")):
        enhance_module.Enhancer.load(directory)


def test_an_unreadable_gfpgan_file_is_named(enhance_module, tmp_path: Path) -> None:
    for name in (weights.GFPGAN, weights.RETINAFACE, weights.PARSENET):
        (tmp_path / name).write_bytes(b"truncated")
    with pytest.raises(CheckpointError,
                       match=re.escape(f"{tmp_path / weights.GFPGAN}: cannot read")):
        enhance_module.Enhancer.load(tmp_path)


def test_frames_must_be_uint8_rgb(enhance_module) -> None:
    enhancer = enhance_module.Enhancer(restorer=None)  # validation happens before any model use
    with pytest.raises(ValueError, match="uint8"):
        enhancer.enhance(np.zeros((1, 8, 8, 3), np.float32))


def ran_in(network: torch.nn.Module, precision) -> bool:
    """Whether GFPGAN's network computed in `precision`: bf16 weights, or Winograd kernels."""
    from sadtalker.enhance_winograd import WinogradConv2d, WinogradModulatedConv2d
    from sadtalker.options import Precision

    if precision is Precision.BF16:
        return any(p.dtype == torch.bfloat16 for p in network.parameters())
    return any(m.kernel is not None for m in network.modules()
               if isinstance(m, (WinogradConv2d, WinogradModulatedConv2d)))


@pytest.mark.parametrize(("precision", "least_db"), [
    pytest.param("bf16", 35, marks=pytest.mark.bf16),
    ("winograd", 60),
])
def test_gfpgan_in_a_faster_precision_restores_close_to_float32(
        enhancer_dir: Path, enhance_module, no_network: None, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, precision: str, least_db: float) -> None:
    from sadtalker.options import Precision

    monkeypatch.chdir(tmp_path)
    frame = cv2.resize(astronaut()[0:300, 100:400], (256, 256), interpolation=cv2.INTER_AREA)
    fp32 = enhance_module.Enhancer.load(enhancer_dir, precision=Precision.FP32)
    faster = enhance_module.Enhancer.load(enhancer_dir, precision=precision)
    expected = fp32.enhance(frame[None])[0].astype(float)
    got = faster.enhance(frame[None])[0].astype(float)
    assert ran_in(faster.restorer.gfpgan, Precision(precision))
    assert not ran_in(fp32.restorer.gfpgan, Precision(precision))
    mse = np.mean((got - expected) ** 2)
    assert mse == 0 or 10 * np.log10(255**2 / mse) > least_db  # dB; uint8 may round alike


def moved(frame: np.ndarray, degrees: float, shift: float) -> np.ndarray:
    """`frame` turned and shifted a little, as a talking head moves between frames."""
    h, w = frame.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    matrix[:, 2] += shift
    return cv2.warpAffine(frame, matrix, (w, h), borderMode=cv2.BORDER_REFLECT)


def test_a_fixed_face_mask_parses_once_and_stays_close_to_parsing_every_frame(
        enhancer_dir: Path, enhance_module, no_network: None, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    reference = cv2.resize(astronaut()[0:300, 100:400], (256, 256), interpolation=cv2.INTER_AREA)
    frames = np.stack([moved(reference, d, s) for d, s in ((0, 0), (3, 2))])
    every = enhance_module.Enhancer.load(enhancer_dir).enhance(frames)

    enhancer = enhance_module.Enhancer.load(enhancer_dir)
    parser = enhancer.restorer.face_helper.face_parse
    calls = []
    monkeypatch.setattr(parser, "forward", lambda *a, f=parser.forward: calls.append(1) or f(*a))
    assert enhancer.fix_face_mask(reference)
    fixed = enhancer.enhance(frames)
    assert len(calls) == 1  # the reference's parse, reused for every frame
    np.testing.assert_array_equal(fixed[0], every[0])  # the reference itself: the same mask
    for a, b in zip(fixed[1:], every[1:]):
        mse = np.mean((a.astype(float) - b.astype(float)) ** 2)
        assert 10 * np.log10(255**2 / mse) > 40  # dB; the mask only moves the blend's edge


def test_without_a_face_in_the_reference_every_frame_is_parsed(
        enhancer_dir: Path, enhance_module, no_network: None, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    enhancer = enhance_module.Enhancer.load(enhancer_dir)
    parser = enhancer.restorer.face_helper.face_parse
    assert not enhancer.fix_face_mask(np.full((256, 256, 3), 128, np.uint8))
    assert enhancer.restorer.face_helper.face_parse is parser
