"""The checkpoint registry: every official file SadTalker inference reads, where it comes from,
how to check it, where it lives, and how to load it.

All files live flat in one directory: ``--checkpoints DIR`` wins, then ``$SADTALKER_CHECKPOINTS``,
then the user's cache directory. Pods never download: the user runs ``sadtalker weights
download`` once (or bakes the files into the image), and a missing file is an error that names
the command that fixes it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from platformdirs import user_cache_dir
from safetensors import safe_open

from sadtalker.checksum import file_sha256
from sadtalker.coeff_layout import SOURCE_COEFFS
from sadtalker.errors import CheckpointError

if TYPE_CHECKING:  # loaded where a file is loaded: the tasks that only check files skip torch
    import torch
    from torch import nn

log = logging.getLogger(__name__)

T = TypeVar("T")
M = TypeVar("M", bound="nn.Module")

ENV_VAR = "SADTALKER_CHECKPOINTS"
SYNTHETIC_MANIFEST = "SYNTHETIC.json"  # lists the files `synthesize` wrote, with their sha256
SYNTHETIC_METADATA_KEY = "sadtalker.synthetic"  # safetensors header metadata of synthetic files
FIX_COMMAND = "sadtalker weights download --dir {dir}"

SADTALKER_256 = "SadTalker_V0.0.2_256.safetensors"
SADTALKER_512 = "SadTalker_V0.0.2_512.safetensors"
MAPPING_CROP = "mapping_00229-model.pth.tar"  # mapping net for crop/extcrop/resize
MAPPING_FULL = "mapping_00109-model.pth.tar"  # mapping net for full/extfull
GFPGAN = "GFPGANv1.4.pth"
RETINAFACE = "detection_Resnet50_Final.pth"  # facexlib face detector used inside GFPGANer
PARSENET = "parsing_parsenet.pth"  # facexlib face parsing used by GFPGANer's paste-back
S3FD = "s3fd-619a316812.pth"  # face-alignment's face detector
FAN_2D = "2DFAN4-11f355bf06.pth.tar"  # face-alignment's 68-point 2-D landmark network

_SADTALKER_RELEASE = "https://github.com/OpenTalker/SadTalker/releases/download/v0.0.2-rc/"
_FACEXLIB_RELEASE = "https://github.com/xinntao/facexlib/releases/download/"
_FAN_RELEASE = "https://www.adrianbulat.com/downloads/python-fan/"


class Group(str, Enum):
    """Which feature needs a file; `download` fetches the groups a user asks for."""

    CORE = "core"  # every run at 256
    SIZE_512 = "512"  # --size 512
    ENHANCER = "enhancer"  # --enhancer gfpgan
    DETECTOR = "detector"  # landmark detection (not needed with --landmarks)


@dataclass(frozen=True)
class CheckpointFile:
    """One official file: its name, source, and what the public release states about it.

    ``sha256`` may be a prefix: torch-hub style file names carry only the first hex digits of
    their hash, and that is all that is published for them.
    """

    name: str
    url: str
    sha256: str
    size: int | None
    group: Group
    purpose: str


REGISTRY: dict[str, CheckpointFile] = {
    f.name: f
    for f in (
        CheckpointFile(
            SADTALKER_256,
            _SADTALKER_RELEASE + SADTALKER_256,
            "c211f5d6de003516bf1bbda9f47049a4c9c99133b1ab565c6961e5af16477bff",
            725_066_984,
            Group.CORE,
            "audio2exp, audio2pose, 3DMM regressor, keypoint detector, generator (256)",
        ),
        CheckpointFile(
            SADTALKER_512,
            _SADTALKER_RELEASE + SADTALKER_512,
            "0e063f7ff5258240bdb0f7690783a7b1374e6a4a81ce8fa33456f4cd49694340",
            725_066_984,
            Group.SIZE_512,
            "the same sub-models trained at 512",
        ),
        CheckpointFile(
            MAPPING_CROP,
            _SADTALKER_RELEASE + MAPPING_CROP,
            "62a1e06006cc963220f6477438518ed86e9788226c62ae382ddc42fbcefb83f1",
            155_521_183,
            Group.CORE,
            "mapping net, crop/extcrop/resize",
        ),
        CheckpointFile(
            MAPPING_FULL,
            _SADTALKER_RELEASE + MAPPING_FULL,
            "84a8642468a3fcfdd9ab6be955267043116c2bec2284686a5262f1eaf017f64c",
            155_779_231,
            Group.CORE,
            "mapping net, full/extfull",
        ),
        CheckpointFile(
            GFPGAN,
            "https://github.com/TencentARC/GFPGAN/releases/download/v1.3.0/" + GFPGAN,
            "e2cd4703ab14f4d01fd1383a8a8b266f9a5833dacee8e6a79d3bf21a1b6be5ad",
            348_632_874,
            Group.ENHANCER,
            "GFPGAN v1.4 face restoration",
        ),
        CheckpointFile(
            RETINAFACE,
            _FACEXLIB_RELEASE + "v0.1.0/" + RETINAFACE,
            "6d1de9c2944f2ccddca5f5e010ea5ae64a39845a86311af6fdf30841b0a5a16d",
            109_497_761,
            Group.ENHANCER,
            "RetinaFace detector used by GFPGAN",
        ),
        CheckpointFile(
            PARSENET,
            _FACEXLIB_RELEASE + "v0.2.2/" + PARSENET,
            "3d558d8d0e42c20224f13cf5a29c79eba2d59913419f945545d8cf7b72920de2",
            85_331_193,
            Group.ENHANCER,
            "face parsing used by GFPGAN's paste-back",
        ),
        CheckpointFile(
            S3FD,
            _FAN_RELEASE + S3FD,
            "619a31681264d3f7f7fc7a16a42cbbe8b23f31a256f75a366e5a1bcd59b33543",
            89_843_225,
            Group.DETECTOR,
            "S3FD face detector (face-alignment)",
        ),
        CheckpointFile(
            FAN_2D,
            _FAN_RELEASE + FAN_2D,
            "11f355bf06",
            None,
            Group.DETECTOR,
            "2D FAN 68-point landmarks (face-alignment)",
        ),
    )
}


def sadtalker_file(size: int) -> str:
    """The multi-model safetensors file for a render size."""
    if size == 256:
        return SADTALKER_256
    if size == 512:
        return SADTALKER_512
    raise CheckpointError(f"no SadTalker checkpoint for size {size}: use 256 or 512")


def mapping_file(coeff_channels: int) -> str:
    """The mapping-net file: FRAME_COEFFS inputs in crop modes, SOURCE_COEFFS (the alignment
    too) in full modes."""
    return MAPPING_FULL if coeff_channels == SOURCE_COEFFS else MAPPING_CROP


def checkpoint_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The checkpoint directory: the explicit override, else $SADTALKER_CHECKPOINTS, else cache."""
    if override:
        return Path(override).expanduser()
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    return Path(user_cache_dir("sadtalker")) / "checkpoints"


def locate(name: str, directory: str | os.PathLike[str] | None = None) -> Path:
    """Path of an official file, or a CheckpointError saying how to get it."""
    root = checkpoint_dir(directory)
    path = root / name
    if path.is_file():
        return path
    raise CheckpointError(
        f"checkpoint {name} not found in {root}: run `{FIX_COMMAND.format(dir=root)}` "
        f"(or `sadtalker weights synthesize --dir {root}` for random test weights)"
    )


def checkpoint_error(file: str | os.PathLike[str], part: str, problem: str) -> CheckpointError:
    """The one form of a bad-checkpoint error: the file, the sub-model or entry (`part`) when
    there is one, what is wrong, and for a file on disk the command that replaces it."""
    where = f"{file} [{part}]" if part else str(file)
    if isinstance(file, os.PathLike):
        fix = f"re-download it: `{FIX_COMMAND.format(dir=Path(file).parent)}`"
    else:
        fix = "re-download the file"
    return CheckpointError(f"{where}: {problem}; {fix}")


def _one_line(exc: BaseException, limit: int = 200) -> str:
    """An exception's message on one line, cut: torch and pickle errors span many lines."""
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[:limit] + "..."


def strip_prefix(entries: Mapping[str, T], prefix: str) -> dict[str, T]:
    """The entries under `prefix.`, that prefix removed: one sub-model of a multi-model file.

    The public loader matches by substring; matching by exact prefix is stricter and selects
    the same keys in the official files.
    """
    head = prefix + "."
    return {key[len(head):]: value for key, value in entries.items() if key.startswith(head)}


def load_safetensors_prefix(path: Path, prefix: str) -> dict[str, torch.Tensor]:
    """The tensors of one sub-model of a multi-model safetensors file, prefix stripped."""
    try:  # read only this sub-model's tensors, not the whole 725 MB file
        with safe_open(str(path), framework="pt", device="cpu") as f:
            keys = f.keys()  # safe_open has no __iter__
            names = strip_prefix(dict(zip(keys, keys, strict=True)), prefix)
            found = {short: f.get_tensor(key) for short, key in names.items()}
    except Exception as exc:  # safetensors raises its own error types for corrupt headers
        raise checkpoint_error(path, prefix, f"cannot read it ({_one_line(exc)})") from exc
    if not found:
        raise checkpoint_error(path, prefix, f"no tensors under '{prefix}.', not a SadTalker file")
    return found


def load_torch_state(path: Path, keys: tuple[str, ...] = ()) -> tuple[str, dict]:
    """A state dict from a torch pickle file (mapping, GFPGAN, face-alignment, facexlib files),
    loaded on the CPU: the file's whole content, or its entry under the first of `keys` it
    holds; returned with that key ("" for the whole file).

    The official .pth.tar files hold optimizer state and plain ints besides tensors, which
    torch's weights_only loader rejects; they are trusted files from the registry.
    """
    import torch

    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:
        raise checkpoint_error(path, "", f"cannot read it ({_one_line(exc)})") from exc
    if not isinstance(checkpoint, dict):
        raise checkpoint_error(path, "", f"holds a {type(checkpoint).__name__}, not a dict")
    if not keys:
        return "", checkpoint
    for key in keys:
        if key in checkpoint:
            return key, checkpoint[key]
    raise checkpoint_error(path, "", f"no entry {' or '.join(map(repr, keys))}")


def load_strict(module: M, state: Mapping[str, torch.Tensor], file: str | os.PathLike[str],
                part: str = "") -> M:
    """Load `state` into `module` with every key and shape checked; returns the module.

    A mismatch names the file, the sub-model and the first offending keys on one line, where
    torch's own report spans a line per key.
    """
    expected = module.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    name = type(module).__name__
    if missing or unexpected:
        raise checkpoint_error(file, part, (
            f"does not fit {name}: missing keys {missing[:3]}, unexpected keys {unexpected[:3]} "
            f"({len(missing)} missing, {len(unexpected)} unexpected)"))
    for key, tensor in expected.items():
        if state[key].shape != tensor.shape:
            raise checkpoint_error(file, part, (
                f"key {key} has shape {tuple(state[key].shape)}, {name} expects "
                f"{tuple(tensor.shape)}"))
    module.load_state_dict(state, strict=True)
    return module


def is_synthetic(path: Path) -> bool:
    """True for files written by `sadtalker weights synthesize` (random weights)."""
    if path.suffix == ".safetensors":
        try:
            with safe_open(str(path), framework="numpy") as f:  # the header only
                metadata = f.metadata() or {}
        except Exception:  # noqa: BLE001 (an unreadable header is simply not ours)
            return False
        return metadata.get(SYNTHETIC_METADATA_KEY) == "true"
    manifest = synthetic_manifest(path.parent)
    digest = manifest.get(path.name)
    return digest is not None and digest == file_sha256(path)


def uses_synthetic_weights(directory: str | os.PathLike[str] | None, size: int) -> bool:
    """Cheap check (header only) whether the renderer's main file in `directory` is synthetic."""
    path = checkpoint_dir(directory) / sadtalker_file(size)
    return path.is_file() and is_synthetic(path)


def synthetic_manifest(directory: Path) -> dict[str, str]:
    """The directory's manifest of synthetic files (name -> sha256); empty when it has none."""
    manifest = directory / SYNTHETIC_MANIFEST
    if not manifest.is_file():
        return {}
    return json.loads(manifest.read_text())


def fingerprint(names: Iterable[str], directory: str | os.PathLike[str] | None = None) -> str:
    """A hex sha256 over the named files' names and full bytes, where the run will read them.

    Cached tasks that load models take it as an input: changed weights miss the cache, while
    the same files in another directory hit. Every byte is read (a size or date would miss a
    file replaced in place), so ingest computes it once per run (its cost: README).
    """
    return fingerprints({"": names}, directory)[""]


def fingerprints(groups: Mapping[str, Iterable[str]],
                 directory: str | os.PathLike[str] | None = None) -> dict[str, str]:
    """`fingerprint` of each group of names, reading each file once however many groups
    name it (a run's whole set and a stage's subset)."""
    groups = {key: sorted(set(names)) for key, names in groups.items()}  # order-free
    files = {name: file_sha256(locate(name, directory))
             for name in sorted(set().union(*groups.values()))}
    out = {}
    for key, names in groups.items():
        digest = hashlib.sha256()
        for name in names:  # each file's own digest keeps the names apart
            digest.update(f"{name}\n{files[name]}\n".encode())
        out[key] = digest.hexdigest()
    return out


class FileState(str, Enum):
    OK = "ok"
    SYNTHETIC = "synthetic"
    MISSING = "missing"
    CORRUPT = "corrupt"


@dataclass(frozen=True)
class FileStatus:
    name: str
    state: FileState
    detail: str


def verify(directory: str | os.PathLike[str] | None = None,
           names: Iterable[str] | None = None) -> list[FileStatus]:
    """Check each registry file in the directory against its published size and sha256."""
    root = checkpoint_dir(directory)
    result = []
    for name in names or REGISTRY:
        entry = REGISTRY[name]
        path = root / name
        if not path.is_file():
            result.append(FileStatus(name, FileState.MISSING, f"not in {root}"))
        elif is_synthetic(path):
            result.append(FileStatus(name, FileState.SYNTHETIC, "random weights, for tests only"))
        elif entry.size is not None and path.stat().st_size != entry.size:
            size = path.stat().st_size
            result.append(FileStatus(name, FileState.CORRUPT, f"{size} bytes, expected {entry.size}"))
        elif not file_sha256(path).startswith(entry.sha256):
            result.append(FileStatus(name, FileState.CORRUPT, "sha256 differs from the release"))
        else:
            result.append(FileStatus(name, FileState.OK, "checksum matches"))
    return result


def names_for(groups: Iterable[Group]) -> list[str]:
    """Registry names of the files the given feature groups need."""
    wanted = set(groups)
    return [name for name, entry in REGISTRY.items() if entry.group in wanted]


def download(
    names: Iterable[str],
    directory: str | os.PathLike[str] | None = None,
    progress: Callable[[str, int, int | None], None] | None = None,
    opener: Callable[[urllib.request.Request], object] = urllib.request.urlopen,
) -> list[Path]:
    """Fetch missing files, resuming partial downloads, and keep only checksum-verified ones.

    Bytes go to ``<name>.part`` and are renamed into place only once the sha256 matches, so a
    file under its official name is always whole. ``progress(name, done, total)`` is called as
    bytes arrive.
    """
    root = checkpoint_dir(directory)
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in names:
        entry = REGISTRY[name]
        path = root / name
        if path.is_file() and not is_synthetic(path) and file_sha256(path).startswith(entry.sha256):
            paths.append(path)
            continue
        paths.append(_download_one(entry, path, progress, opener))
    return paths


def _download_one(entry: CheckpointFile, path: Path,
                  progress: Callable[[str, int, int | None], None] | None,
                  opener: Callable[[urllib.request.Request], object]) -> Path:
    part = path.with_name(path.name + ".part")
    done = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(entry.url, headers={"Range": f"bytes={done}-"} if done else {})
    try:
        response = opener(request)
    except OSError as exc:
        raise CheckpointError(
            f"cannot download {entry.name} from {entry.url}: {exc}; check the network, or copy "
            f"the file into {path.parent} by hand"
        ) from exc
    with response:  # type: ignore[attr-defined]
        status = getattr(response, "status", 200)
        if done and status != 206:  # the server ignored the range: start over
            done = 0
        length = response.headers.get("Content-Length")  # type: ignore[attr-defined]
        total = done + int(length) if length else entry.size
        with open(part, "ab" if done else "wb") as out:
            while block := response.read(1 << 20):  # type: ignore[attr-defined]
                out.write(block)
                done += len(block)
                if progress:
                    progress(entry.name, done, total)
    digest = file_sha256(part)
    if not digest.startswith(entry.sha256):
        part.unlink()
        raise CheckpointError(
            f"{entry.name} from {entry.url} has sha256 {digest[:16]}..., expected "
            f"{entry.sha256[:16]}...; the partial file was removed, run the download again"
        )
    os.replace(part, path)
    log.info("downloaded %s", path)
    return path
