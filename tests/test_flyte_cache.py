"""Cache identity of ingested files: their bytes, not their paths; versions follow the code;
the face stage's key follows the options and the weights' bytes, not their directory."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from flytekit import FlyteContextManager
from flytekit.core.local_cache import _calculate_cache_key
from flytekit.core.type_engine import TypeEngine
from flytekit.types.file import FlyteFile
from PIL import Image
from skimage import data

from sadtalker.examples import speak
from sadtalker.options import DEFAULTS, GenerateOptions
from tasks.cache import HashedAudio, HashedImage, file_sha256, source_version
from tasks.crop_and_extract import crop_and_extract
from tasks.types import AudioFile, ImageFile


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


def face_cache_key(image: Path, options: GenerateOptions, checkpoints: str,
                   weights_fingerprint: str, landmarks: Path | None = None) -> str:
    """The key flytekit's local cache gives a `crop_and_extract` call fed by `ingest` (whose
    image output carries the hash of its bytes), computed as `Task.local_execute` does."""
    ctx = FlyteContextManager.current_context()
    types = {**crop_and_extract.python_interface.inputs, "image": HashedImage}
    values = {"image": ImageFile(str(image)),
              "landmarks": None if landmarks is None else FlyteFile(str(landmarks)),
              "options": json.dumps(options.to_dict(), sort_keys=True),
              "checkpoints": checkpoints, "weights_fingerprint": weights_fingerprint,
              "landmarks_sha256": "" if landmarks is None else file_sha256(landmarks)}
    literals = TypeEngine.dict_to_literal_map(ctx, values, types)
    return _calculate_cache_key(crop_and_extract.name, crop_and_extract.metadata.cache_version,
                                literals, crop_and_extract.metadata.cache_ignore_input_vars)


def test_face_cache_key_follows_options_and_weights_not_paths(tmp_path: Path) -> None:
    image = tmp_path / "astronaut.png"
    Image.fromarray(data.astronaut()).save(image)
    copy = tmp_path / "elsewhere.png"
    shutil.copy(image, copy)
    weights_a, weights_b = "a" * 64, "b" * 64
    key = face_cache_key(image, DEFAULTS, "/ckpt", weights_a)
    assert key == face_cache_key(copy, DEFAULTS, "/other/ckpt", weights_a)  # same content
    assert key != face_cache_key(image, DEFAULTS, "/ckpt", weights_b)  # new weights
    assert key != face_cache_key(image, GenerateOptions(preprocess="full"), "/ckpt", weights_a)
    assert key != face_cache_key(image, GenerateOptions(size=512), "/ckpt", weights_a)


def test_face_cache_key_follows_the_landmarks_bytes_not_their_path(
        tmp_path: Path, astronaut_landmarks_file: Path) -> None:
    image = tmp_path / "astronaut.png"
    Image.fromarray(data.astronaut()).save(image)
    moved = tmp_path / "moved.json"
    shutil.copy(astronaut_landmarks_file, moved)
    shifted = tmp_path / "shifted.json"
    points = json.loads(astronaut_landmarks_file.read_text())
    shifted.write_text(json.dumps([[x + 1, y] for x, y in points]))
    key = face_cache_key(image, DEFAULTS, "/ckpt", "a" * 64, astronaut_landmarks_file)
    assert key == face_cache_key(image, DEFAULTS, "/ckpt", "a" * 64, moved)
    assert key != face_cache_key(image, DEFAULTS, "/ckpt", "a" * 64, shifted)
    assert key != face_cache_key(image, DEFAULTS, "/ckpt", "a" * 64)  # detected instead
