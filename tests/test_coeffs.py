"""ExpNet + PoseVAE: official layout, equivalence with the public code, seeding and options."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from sadtalker import weights
from sadtalker.audio import AudioFeatures, fit_to_frames, melspectrogram, num_frames
from sadtalker.coeff_layout import EXPRESSION, FRAME_COEFFS, POSE
from sadtalker.coeffs import CoeffModels, generate_coefficients, load_coeff_models
from sadtalker.coeffs.audio2pose import num_latents
from sadtalker.coeffs.blink import BLINK, blink_ratios
from sadtalker.coeffs.generate import smooth_pose
from sadtalker.errors import CheckpointError, InputError, OptionError
from sadtalker.testing.checkpoints import write_safetensors
from sadtalker.testing.coeff_weights import coeff_weights
from sadtalker.testing.example_inputs import speak, synthetic_voice

DATA = Path(__file__).parent / "data"
REFERENCE = json.loads((DATA / "coeffs_reference.json").read_text())
# the source face of the reference expectations: expression ramp | angles | translation
SOURCE = np.concatenate([np.linspace(-1, 1, 64),
                         [0.1, -0.05, 0.02, 0.01, 0.02, 0.03]]).astype(np.float32)


@pytest.fixture(scope="module")
def tensors() -> dict[str, torch.Tensor]:
    return coeff_weights(0)


@pytest.fixture(scope="module")
def checkpoint(tensors: dict[str, torch.Tensor], module_dir: Path) -> Path:
    """A safetensors file holding only the audio2exp/audio2pose part of the official file."""
    path = module_dir / weights.SADTALKER_256
    write_safetensors(path, tensors)
    return path


@pytest.fixture(scope="module")
def models(checkpoint: Path) -> CoeffModels:
    return load_coeff_models(checkpoint)


@pytest.fixture(scope="module")
def speech_windows(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    """Mel windows of 3.0 s of espeak-ng speech."""
    wav = speak("The quick brown fox jumps over the lazy dog.",
                tmp_path_factory.mktemp("speech") / "speech.wav", seconds=3.0)
    return AudioFeatures.from_file(wav).windows


def test_synthetic_weights_have_the_official_keys_shapes_dtypes(tensors) -> None:
    rows = [line.rstrip("\n").split("\t") for line in (DATA / "coeffs_keys.tsv").open()
            if not line.startswith("#")]
    official = {key: (shape, dtype) for key, shape, dtype in rows}
    mine = {key: (str(tuple(t.shape)), str(t.dtype)) for key, t in tensors.items()}
    assert mine == official
    assert len(mine) == 93 + 419
    assert sum(t.numel() for k, t in tensors.items() if k.startswith("audio2exp.")
               and t.is_floating_point()) == 2_854_080


def test_load_is_strict(tensors, tmp_path: Path) -> None:
    path = tmp_path / "broken.safetensors"
    write_safetensors(path, {k: v for k, v in tensors.items()
                                     if k != "audio2pose.netD_motion.seq.3.bias"})
    with pytest.raises(CheckpointError,
                       match=r"broken\.safetensors \[audio2pose\].*netD_motion\.seq\.3\.bias"):
        load_coeff_models(path)


def test_models_are_in_eval_mode(models: CoeffModels) -> None:
    assert not models.exp.training and not models.pose.training


@pytest.mark.parametrize("case", ["plain", "refs"])
def test_reproduces_the_public_code(models: CoeffModels, case: str) -> None:
    voice = synthetic_voice(REFERENCE["voice_seed"], REFERENCE["voice_seconds"])
    mel = melspectrogram(fit_to_frames(voice, num_frames(len(voice))))
    np.testing.assert_allclose(mel[::10, ::10], REFERENCE["mel_every_10th"], atol=1e-5)
    refs = {}
    if case == "refs":
        rng = np.random.default_rng(5)
        refs = {"ref_eyeblink": rng.normal(0, 0.5, (10, 64)),
                "ref_pose": rng.normal(0, 0.05, (15, 6))}
    coeffs = generate_coefficients(AudioFeatures.from_wav(voice).windows, SOURCE, models,
                                   REFERENCE["pose_style"], REFERENCE["seed"], **refs)
    assert coeffs.shape == (37, FRAME_COEFFS)
    # measured 3e-6 (float32 convolutions in another order)
    np.testing.assert_allclose(coeffs[:, :8], REFERENCE[case]["exp_first8"], atol=5e-5)
    np.testing.assert_allclose(coeffs[:, POSE], REFERENCE[case]["pose"], atol=5e-5)


def test_three_seconds_give_75_frames_near_the_source(models, speech_windows) -> None:
    coeffs = generate_coefficients(speech_windows, SOURCE, models, seed=0)
    assert coeffs.shape == (75, FRAME_COEFFS) and coeffs.dtype == np.float32
    np.testing.assert_allclose(coeffs[0, POSE], SOURCE[POSE], atol=0.02)  # frame 0: no motion
    motion = coeffs[:, POSE] - SOURCE[POSE]
    assert 0.001 < motion.std() < 0.1  # synthetic weights: a few hundredths of head motion
    mouth = coeffs[:, EXPRESSION] - SOURCE[EXPRESSION]
    assert 0.1 < mouth.std() < 1.0  # the mouth moves with the audio


def test_same_seed_same_output_other_seed_differs(models, speech_windows) -> None:
    first = generate_coefficients(speech_windows, SOURCE, models, 3, seed=11)
    again = generate_coefficients(speech_windows, SOURCE, models, 3, seed=11)
    other = generate_coefficients(speech_windows, SOURCE, models, 3, seed=12)
    np.testing.assert_array_equal(first, again)
    assert np.abs(first[:, POSE] - other[:, POSE]).max() > 1e-3  # other latents
    assert np.abs(first[:, EXPRESSION] - other[:, EXPRESSION]).max() > 1e-3  # other blinks


def test_pose_style_changes_the_pose_only(models, speech_windows) -> None:
    a = generate_coefficients(speech_windows, SOURCE, models, 0, seed=1)
    b = generate_coefficients(speech_windows, SOURCE, models, 45, seed=1)
    np.testing.assert_array_equal(a[:, EXPRESSION], b[:, EXPRESSION])
    assert np.abs(a[:, POSE] - b[:, POSE]).max() > 1e-3


def test_still_keeps_the_source_pose(models, speech_windows) -> None:
    moving = generate_coefficients(speech_windows, SOURCE, models, seed=2)
    still = generate_coefficients(speech_windows, SOURCE, models, seed=2, still=True,
                                  ref_pose=np.ones((4, 6)))
    np.testing.assert_array_equal(still[:, POSE], np.tile(SOURCE[POSE], (75, 1)))
    np.testing.assert_array_equal(still[:, EXPRESSION], moving[:, EXPRESSION])


def test_ref_pose_adds_its_motion_tiled(models, speech_windows) -> None:
    ref_pose = np.random.default_rng(0).normal(0, 0.1, (30, 6))
    plain = generate_coefficients(speech_windows, SOURCE, models, seed=4)
    posed = generate_coefficients(speech_windows, SOURCE, models, seed=4, ref_pose=ref_pose)
    tiled = np.concatenate([ref_pose, ref_pose, ref_pose[:15]])
    np.testing.assert_allclose(posed[:, POSE] - plain[:, POSE], tiled - ref_pose[0], atol=1e-6)
    np.testing.assert_array_equal(posed[:, EXPRESSION], plain[:, EXPRESSION])


def test_ref_eyeblink_replaces_source_expression_and_blinks(models, speech_windows) -> None:
    plain = generate_coefficients(speech_windows, SOURCE, models, seed=4)
    ref = np.tile(SOURCE[EXPRESSION], (2, 1))
    ref[1] += 0.5  # odd frames follow another expression
    blinked = generate_coefficients(speech_windows, SOURCE, models, seed=4, ref_eyeblink=ref)
    np.testing.assert_array_equal(blinked[:, POSE], plain[:, POSE])  # same latents either way
    # with blinks off, frames where no blink was drawn match; ExpNet's synthetic reference
    # path is the identity, so odd frames move by exactly the +0.5
    blinks = blink_ratios(75, np.random.default_rng(4))[:, 0]
    calm = blinks == 0
    offset = np.where(np.arange(75) % 2, 0.5, 0.0)[calm, None]
    expected = np.broadcast_to(offset, (calm.sum(), 64))
    np.testing.assert_allclose(blinked[calm, EXPRESSION] - plain[calm, EXPRESSION], expected,
                               atol=1e-5)
    even_blinking = ~calm & (np.arange(75) % 2 == 0)
    moved = blinked[even_blinking, EXPRESSION] - plain[even_blinking, EXPRESSION]
    assert np.abs(moved).max() > 1e-3


@pytest.mark.parametrize(("frames", "latents"), [(1, 0), (2, 1), (3, 1), (21, 1), (33, 1), (34, 2)])
def test_short_clips(models, speech_windows, frames: int, latents: int) -> None:
    coeffs = generate_coefficients(speech_windows[:frames], SOURCE, models, seed=0)
    assert coeffs.shape == (frames, FRAME_COEFFS) and np.isfinite(coeffs).all()
    assert num_latents(frames) == latents


def test_bad_inputs(models, speech_windows) -> None:
    with pytest.raises(OptionError, match="pose_style 46"):
        generate_coefficients(speech_windows, SOURCE, models, pose_style=46)
    with pytest.raises(InputError, match=r"expected \(frames>0, 80, 16\)"):
        generate_coefficients(speech_windows[:, :40], SOURCE, models)
    with pytest.raises(InputError, match=r"expected \(70,\)"):
        generate_coefficients(speech_windows, np.zeros(73), models)
    with pytest.raises(InputError, match="ref_pose"):
        generate_coefficients(speech_windows, SOURCE, models, ref_pose=np.zeros((5, 3)))


def test_blinks_are_five_frame_patterns_in_range() -> None:
    assert not blink_ratios(20, np.random.default_rng(0)).any()
    one = blink_ratios(21, np.random.default_rng(0))[:, 0]  # SadTalker crashes at 21 frames
    np.testing.assert_array_equal(one[10:15], BLINK)
    assert one.sum() == BLINK.sum()
    ratios = blink_ratios(500, np.random.default_rng(7))[:, 0]
    starts = np.flatnonzero(np.diff(np.concatenate([[0], (ratios > 0).astype(int)])) == 1)
    assert len(starts) >= 500 // 75  # gaps are below 70 frames
    for start in starts:
        np.testing.assert_array_equal(ratios[start:start + 5], BLINK)
    gaps = np.diff(np.concatenate([[-5], starts])) - 5
    assert gaps.min() >= 10 and gaps.max() < 70
    np.testing.assert_array_equal(ratios, blink_ratios(500, np.random.default_rng(7))[:, 0])


def test_smoothing_keeps_quadratics_and_tiny_clips() -> None:
    t = np.arange(40, dtype=np.float64)[:, None]
    quadratic = np.hstack([t**2 * 1e-3, -t * 0.01, np.ones_like(t), t, t**2, 0 * t])
    np.testing.assert_allclose(smooth_pose(quadratic), quadratic, atol=1e-9)
    two = np.array([[0.0] * 6, [1.0] * 6])
    np.testing.assert_array_equal(smooth_pose(two), two)
    noisy = np.random.default_rng(0).normal(size=(40, 6))
    assert smooth_pose(noisy).std() < 0.6 * noisy.std()
