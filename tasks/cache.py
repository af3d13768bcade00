"""Cache keys on content and cache versions tied to the code that computes the result.

Flyte keys a cached task on its inputs' literals, and a file's literal is its URI: the same
audio uploaded to a new path would miss. Files returned with `Annotated[..., HashMethod(
content_hash)]` carry a hash of their bytes instead, which downstream cache keys use.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path
from typing import Annotated

from flytekit import HashMethod
from flytekit.types.file import FlyteFile

from tasks.types import AudioFile, ImageFile

READ_BLOCK = 1 << 20


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(READ_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def content_hash(file: FlyteFile) -> str:
    """The cache identity of a file: its bytes, wherever it lives (downloads remote files)."""
    return file_sha256(file.download())


def source_version(module_name: str) -> str:
    """A short hash of a module's (or package's) Python source: changes when its code does."""
    spec = importlib.util.find_spec(module_name)  # locate without importing (torch is slow)
    if spec.submodule_search_locations:  # a package, regular or namespace
        base = Path(next(iter(spec.submodule_search_locations)))
        files = sorted(base.rglob("*.py"))
    else:
        base = Path(spec.origin).parent
        files = [Path(spec.origin)]
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(base).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


HashedAudio = Annotated[AudioFile, HashMethod(content_hash)]
HashedImage = Annotated[ImageFile, HashMethod(content_hash)]

AUDIO_CACHE_VERSION = source_version("sadtalker.audio")  # the mel front end
FACE_CACHE_VERSION = source_version("sadtalker.face")  # detection, crop and 3DMM regression
