"""The whole pipeline on synthetic weights and real inputs, checked by decoding the mp4."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import skimage.data

from sadtalker import pipeline, run_checkpoints
from sadtalker.options import GenerateOptions
from sadtalker.testing.example_inputs import speak
from sadtalker.video import probe, read_frames

ASTRONAUT = np.asarray(skimage.data.astronaut()).astype(int)


@pytest.fixture(scope="module")
def short_speech(tmp_path_factory) -> Path:
    """0.16 s of espeak-ng speech: 4 frames (a 256 frame costs seconds)."""
    return speak("Hello there.", tmp_path_factory.mktemp("short") / "short.wav", seconds=0.16)


def test_cli_generates_a_crop_video(tmp_path, checkpoints, example_inputs, short_speech):
    out = tmp_path / "talking.mp4"
    result = subprocess.run(
        [sys.executable, "-m", "sadtalker", "generate", "--image", str(example_inputs["image"]),
         "--audio", str(short_speech), "--landmarks", str(example_inputs["landmarks"]),
         "--checkpoints", str(checkpoints), "--out", str(out), "--batch-size", "3"],
        capture_output=True, text=True, timeout=1200, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "SYNTHETIC" in result.stderr  # the CLI warns
    # stderr is a pipe here, as in a scheduled job: log lines, not a bar's redraws
    assert "INFO sadtalker.pipeline: render: 4/4 frames in " in result.stderr
    assert "frame/s" not in result.stderr
    info = probe(out)
    assert (info.frames, info.fps, info.width, info.height) == (4, 25.0, 256, 256)
    assert info.video_codec == "h264" and info.audio_codec == "aac"
    assert abs(info.audio_seconds - 0.16) <= 0.05
    assert "SYNTHETIC" in info.comment
    frames = read_frames(out)
    assert frames.std() > 10  # an image, not a flat field
    assert np.abs(frames[1:].astype(int) - frames[:-1]).mean() > 0.5  # and it moves


def test_full_mode_pastes_into_the_photo(tmp_path, checkpoints, example_inputs, short_speech):
    out = tmp_path / "full.mp4"
    options = GenerateOptions(preprocess="extfull", batch_size=3)
    pipeline.generate(example_inputs["image"], short_speech, out, options,
                      checkpoints=checkpoints, landmarks=example_inputs["landmarks"])
    info = probe(out)
    assert (info.frames, info.width, info.height) == (4, 512, 512)  # the photo's size
    frames = read_frames(out).astype(int)
    # far from the face the photo is untouched, up to the H.264 round trip
    assert np.abs(frames[:, :40, -40:] - ASTRONAUT[:40, -40:]).mean() < 4
    assert np.abs(frames[:, 150:300, 150:300] - ASTRONAUT[150:300, 150:300]).mean() > 10


def test_enhancer_runs_on_the_pasted_frames(tmp_path, checkpoints, example_inputs):
    speech = speak("Hi.", tmp_path / "hi.wav", seconds=0.08)  # 2 frames: GFPGAN is costly
    plain, enhanced = tmp_path / "plain.mp4", tmp_path / "enhanced.mp4"
    for enhancer, out in (("none", plain), ("gfpgan", enhanced)):
        options = GenerateOptions(preprocess="full", enhancer=enhancer, batch_size=3)
        pipeline.generate(example_inputs["image"], speech, out, options,
                          checkpoints=checkpoints, landmarks=example_inputs["landmarks"])
    info = probe(enhanced)
    assert (info.frames, info.width, info.height) == (2, 512, 512)
    assert np.abs(read_frames(enhanced).astype(int) - read_frames(plain)).mean() > 1


def test_same_seed_same_video_whatever_the_chunking(tmp_path, checkpoints, example_inputs):
    """The same chunking gives the same bytes; another one moves the segments' keyframes, so
    only H.264's loss differs: the same frames in the same order, the same audio length."""
    speech = speak("Hello there.", tmp_path / "speech.wav", seconds=0.24)  # 6 frames
    options = GenerateOptions(batch_size=2, seed=7)
    runs = {name: pipeline.generate(example_inputs["image"], speech, tmp_path / name,
                                    options, checkpoints=checkpoints,
                                    landmarks=example_inputs["landmarks"], chunk_frames=chunks)
            for name, chunks in (("whole.mp4", None), ("split.mp4", 4), ("again.mp4", 4))}
    whole, split, again = runs.values()
    assert again.read_bytes() == split.read_bytes()
    assert probe(whole).frames == probe(split).frames == 6
    assert probe(whole).audio_seconds == probe(split).audio_seconds
    # two H.264 round trips of the same rendered frames (2.3 measured on synthetic weights)
    assert np.abs(read_frames(whole).astype(int) - read_frames(split)).mean() < 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again.mp4", "speech.wav",
                                                          "split.mp4", "whole.mp4"]  # no temp


def test_missing_checkpoint_fails_before_any_work(tmp_path, example_inputs):
    from sadtalker.errors import CheckpointError

    with pytest.raises(CheckpointError, match="sadtalker weights download"):
        pipeline.generate(example_inputs["image"], example_inputs["audio"], tmp_path / "o.mp4",
                          checkpoints=tmp_path)
    assert not (tmp_path / "o.mp4").exists()


def test_a_reference_video_needs_the_detector_even_with_given_landmarks(tmp_path, checkpoints,
                                                                        example_inputs):
    """Reference videos' frames are always detected: with the detector's files absent the run
    stops before any work, naming the first one, instead of failing mid-way."""
    from sadtalker import weights
    from sadtalker.errors import CheckpointError

    for name in run_checkpoints.required_files(GenerateOptions(), detect=False):
        (tmp_path / name).symlink_to(checkpoints / name)
    assert weights.S3FD not in run_checkpoints.required_files(GenerateOptions(), detect=False)
    with pytest.raises(CheckpointError, match=weights.S3FD):
        pipeline.generate(example_inputs["image"], example_inputs["audio"], tmp_path / "o.mp4",
                          checkpoints=tmp_path, landmarks=example_inputs["landmarks"],
                          ref_pose=example_inputs["audio"])
    assert not (tmp_path / "o.mp4").exists()
    required = run_checkpoints.required_files(GenerateOptions(size=512), detect=False,
                                              references=True)
    assert weights.sadtalker_file(256) in required and weights.FAN_2D in required
