"""Cache keys on content, and cache versions tied to all the code that computes a result.

Flyte keys a cached task on its inputs' literals, and a file's literal is its URI: the same
audio uploaded to a new path would miss. Files returned with `Annotated[..., HashMethod(
content_hash)]` carry a hash of their bytes instead, which downstream cache keys use.

A cached stage's version covers the source of every library module its entry module imports,
directly or not (imports inside functions included), and the installed version of every other
distribution those modules import: a change anywhere on the stage's path, or a new torch,
misses; a change elsewhere in the library still hits.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib.metadata
import importlib.util
import sys
from pathlib import Path
from typing import Annotated

from flytekit import HashMethod
from flytekit.types.file import FlyteFile

from sadtalker.checksum import file_sha256
from tasks.types import AudioFile, ImageFile

VERSION_LENGTH = 16


def content_hash(file: FlyteFile) -> str:
    """The cache identity of a file: its bytes, wherever it lives (downloads remote files)."""
    return file_sha256(file.download())


def _module_file(name: str, root: Path) -> Path | None:
    """The source file of module or package `name` under `root` (the folder holding its top
    package), found without importing it; None when `name` is not a module (an attribute
    imported with `from module import name`)."""
    base = root.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _imported_names(path: Path) -> set[str]:
    """Every absolute module name a source file imports, at any depth of its code."""
    names = set()
    for node in ast.walk(ast.parse(path.read_bytes())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


@functools.cache
def _distributions() -> dict[str, list[str]]:
    """Top-level import names to the installed distributions that provide them."""
    return importlib.metadata.packages_distributions()


def code_identity(entry: str) -> list[str]:
    """What a stage's result depends on in code: `path sha256` for each module of `entry`'s
    package it reaches (parent packages included, as importing runs them), and
    `distribution==version` for each other installed distribution those modules import."""
    package = entry.split(".")[0]
    root = Path(importlib.util.find_spec(package).origin).parent.parent  # imports only that
    seen: dict[str, Path] = {}
    external: set[str] = set()
    todo = [entry]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        path = _module_file(name, root)
        if path is None:
            continue
        seen[name] = path
        parents = [".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)]
        todo.extend(parents)
        for imported in _imported_names(path):
            top = imported.split(".")[0]
            if top == package:
                todo.append(imported)
            elif top not in sys.stdlib_module_names:
                external.add(top)
    files = sorted(f"{p.relative_to(root).as_posix()} {file_sha256(p)}" for p in seen.values())
    distributions = _distributions()
    versions = sorted({f"{dist}=={importlib.metadata.version(dist)}"
                       for top in external for dist in distributions.get(top, [])})
    return files + versions


def code_version(entry: str) -> str:
    """A short hash of `code_identity(entry)`: the cache version of a stage run from `entry`."""
    digest = hashlib.sha256("\n".join(code_identity(entry)).encode())
    return digest.hexdigest()[:VERSION_LENGTH]


HashedAudio = Annotated[AudioFile, HashMethod(content_hash)]
HashedImage = Annotated[ImageFile, HashMethod(content_hash)]

AUDIO_CACHE_VERSION = code_version("sadtalker.audio")  # the mel front end
FACE_CACHE_VERSION = code_version("sadtalker.face.prepare")  # detection, crop, 3DMM
PIPELINE_CACHE_VERSION = code_version("sadtalker.pipeline")  # coefficients, frames, the video
