"""Cache identity of ingested files: their bytes, not their paths; versions follow the code."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from flytekit import FlyteContextManager
from flytekit.core.type_engine import TypeEngine

from sadtalker.examples import speak
from tasks.cache import HashedAudio, file_sha256, source_version
from tasks.types import AudioFile


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Half a second of espeak-ng speech (the session's example inputs are heavier)."""
    return speak("Hello there.", tmp_path_factory.mktemp("speech") / "speech.wav", 0.5)


def literal_hash(path: Path) -> str:
    """The hash flytekit puts in the literal that cached tasks downstream are keyed on."""
    ctx = FlyteContextManager.current_context()
    literal_type = TypeEngine.to_literal_type(HashedAudio)
    return TypeEngine.to_literal(ctx, AudioFile(str(path)), HashedAudio, literal_type).hash


def test_same_bytes_at_two_paths_give_one_key(speech: Path, tmp_path: Path) -> None:
    copy = tmp_path / "elsewhere" / "renamed.wav"
    copy.parent.mkdir()
    shutil.copy(speech, copy)
    assert literal_hash(speech) == literal_hash(copy) == file_sha256(speech)
    assert len(literal_hash(copy)) == 64


def test_different_bytes_give_another_key(speech: Path, tmp_path: Path) -> None:
    changed = tmp_path / "speech.wav"
    data = bytearray(speech.read_bytes())
    data[-1] ^= 1  # one sample's lowest bit
    changed.write_bytes(bytes(data))
    assert literal_hash(changed) != literal_hash(speech)


def test_source_version_is_stable_and_module_specific() -> None:
    assert source_version("sadtalker.audio") == source_version("sadtalker.audio")
    assert source_version("sadtalker.audio") != source_version("sadtalker.video")
    assert len(source_version("sadtalker.render")) == 16  # a package: all its files
