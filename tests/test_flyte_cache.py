"""Cache identity of ingested files: their bytes, not their paths; versions follow the code on
each stage's path and the libraries it calls; the face stage's key follows exactly what it
reads (image and landmarks bytes, preprocess, size, its weights' bytes), nothing else."""

from __future__ import annotations

import importlib.metadata
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from flytekit import FlyteContextManager
from flytekit.core.local_cache import _calculate_cache_key
from flytekit.core.type_engine import TypeEngine
from flytekit.types.file import FlyteFile
from PIL import Image
from skimage import data

from sadtalker.checksum import file_sha256
from sadtalker.options import DEFAULTS, GenerateOptions, Size
from sadtalker.testing.example_inputs import speak
from tasks.cache import HashedAudio, HashedImage, code_identity, code_version
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


def write_package(root: Path, modules: dict[str, str]) -> None:
    for name, source in modules.items():
        path = root / f"{name.replace('.', '/')}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)


def test_code_version_follows_every_module_on_the_path_and_only_those(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_package(tmp_path, {
        "stagepkg.__init__": "",
        "stagepkg.entry": "from stagepkg import helper\ndef run():\n    import stagepkg.lazy\n",
        "stagepkg.helper": "import numpy\nVALUE = 1\n",
        "stagepkg.lazy": "from stagepkg.helper import VALUE\n",
        "stagepkg.unrelated": "X = 1\n",
    })
    monkeypatch.syspath_prepend(str(tmp_path))
    files = [line.split()[0] for line in code_identity("stagepkg.entry")]
    assert files[:4] == ["stagepkg/__init__.py", "stagepkg/entry.py", "stagepkg/helper.py",
                         "stagepkg/lazy.py"]  # the lazy import inside run() counts
    assert files[4:] == [f"numpy=={np.__version__}"]  # the libraries it calls, by version
    before = code_version("stagepkg.entry")
    (tmp_path / "stagepkg" / "unrelated.py").write_text("X = 2\n")
    assert code_version("stagepkg.entry") == before  # off the path: hit
    (tmp_path / "stagepkg" / "lazy.py").write_text("from stagepkg.helper import VALUE  # new\n")
    assert code_version("stagepkg.entry") != before  # on the path: miss


def test_the_face_stage_version_covers_its_code_and_libraries_not_the_renderer() -> None:
    identity = " ".join(code_identity("sadtalker.face.prepare"))
    for name in ("sadtalker/image.py", "sadtalker/weights.py", "sadtalker/face/recon.py",
                 "sadtalker/face/landmarks.py", f"torch=={importlib.metadata.version('torch')}",
                 "face_alignment==", "opencv-python"):
        assert name in identity
    assert "sadtalker/render/" not in identity and "sadtalker/audio.py" not in identity


def face_cache_key(image: Path, options: GenerateOptions, checkpoints: str,
                   face_weights: str, landmarks: Path | None = None) -> str:
    """The key flytekit's local cache gives a `crop_and_extract` call fed by `ingest` (whose
    image output carries the hash of its bytes), computed as `Task.local_execute` does."""
    ctx = FlyteContextManager.current_context()
    types = {**crop_and_extract.python_interface.inputs, "image": HashedImage}
    values = {"image": ImageFile(str(image)),
              "landmarks": None if landmarks is None else FlyteFile(str(landmarks)),
              "preprocess": options.preprocess, "size": Size(str(options.size)),
              "checkpoints": checkpoints, "face_weights": face_weights,
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


def test_the_face_stage_reads_no_other_option() -> None:
    assert set(crop_and_extract.python_interface.inputs) == {
        "image", "landmarks", "landmarks_sha256", "preprocess", "size", "checkpoints",
        "face_weights"}  # seed, enhancer, precision, ... cannot change its key
    assert crop_and_extract.metadata.cache_serialize  # one computes, concurrent twins wait


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
