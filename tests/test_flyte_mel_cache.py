"""A real local run of ingest -> audio_to_mel: the mel is cached on the speech's bytes.

A cache hit returns the stored outputs, so the same mel file path comes back; a miss writes a
new mel into a new working directory.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from diskcache import Cache
from flyte_pod import ingest_inputs
from flytekit import workflow
from flytekit.core.local_cache import LocalTaskCache
from PIL import Image
from skimage import data

from sadtalker import run_checkpoints
from sadtalker.options import DEFAULTS
from sadtalker.testing.example_inputs import speak
from tasks.audio_to_mel import audio_to_mel
from tasks.ingest import ingest
from tasks.types import AudioFile, ImageFile, NpzFile


@workflow
def speech_features(image: ImageFile, audio: AudioFile, checkpoints: str) -> NpzFile:
    given = ingest(**ingest_inputs(image=image, audio=audio, checkpoints=checkpoints))
    return audio_to_mel(audio=given.audio, max_seconds=DEFAULTS.max_audio_seconds).mel


@pytest.fixture
def local_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cache:
    """flytekit's local task cache in a fresh folder (it lives in ~/.flyte otherwise)."""
    cache = Cache(str(tmp_path / "local-cache"))
    monkeypatch.setattr(LocalTaskCache, "_cache", cache, raising=False)  # set on first use
    monkeypatch.setattr(LocalTaskCache, "_initialized", True)
    yield cache
    cache.close()


@pytest.fixture
def inputs(tmp_path: Path) -> dict[str, Path]:
    """Speech, the astronaut, and a checkpoint folder with every file ingest checks for.

    ingest only checks that the files exist; nothing here reads them, so they are empty."""
    image = tmp_path / "astronaut.png"
    Image.fromarray(data.astronaut()).save(image)
    checkpoints = tmp_path / "checkpoints"
    checkpoints.mkdir()
    for name in run_checkpoints.required_files(DEFAULTS, detect=True):
        (checkpoints / name).touch()
    return {"image": image, "audio": speak("Hello there.", tmp_path / "speech.wav", 0.6),
            "checkpoints": checkpoints}


def run(inputs: dict[str, Path], audio: Path) -> str:
    return speech_features(image=str(inputs["image"]), audio=str(audio),
                           checkpoints=str(inputs["checkpoints"])).path


def test_same_speech_at_another_path_hits_the_cache(local_cache: Cache, inputs: dict[str, Path],
                                                    tmp_path: Path) -> None:
    first = run(inputs, inputs["audio"])
    moved = tmp_path / "elsewhere" / "renamed.wav"
    moved.parent.mkdir()
    shutil.copy(inputs["audio"], moved)
    assert run(inputs, moved) == first
    assert sum(key.startswith("tasks.audio_to_mel") for key in local_cache.iterkeys()) == 1


def test_other_speech_misses(local_cache: Cache, inputs: dict[str, Path], tmp_path: Path) -> None:
    first = run(inputs, inputs["audio"])
    other = speak("Good morning.", tmp_path / "other.wav", 0.6)
    assert run(inputs, other) != first
    assert sum(key.startswith("tasks.audio_to_mel") for key in local_cache.iterkeys()) == 2
