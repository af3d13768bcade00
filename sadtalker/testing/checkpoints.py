"""A directory of random-weight checkpoints in the exact official layout, for tests, benchmarks
and demos (`sadtalker weights synthesize`).

Every file gets its official name, keys, shapes and dtypes so the real loading code runs on it
unchanged. The `*_weights` and `*_files` modules beside this one build the tensors (with
BatchNorm statistics calibrated on real inputs, so activations stay in a sane range); this
module writes the files and marks them synthetic, so that `weights verify` and every output
made with them say so.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path

import torch
from safetensors.torch import save_file

from sadtalker import weights
from sadtalker.checksum import file_sha256
from sadtalker.coeff_layout import FRAME_COEFFS, SOURCE_COEFFS

log = logging.getLogger(__name__)


def synthesize(directory: Path, sizes: Iterable[int] = (256,), seed: int = 0,
               enhancer: bool = True, detector: bool = True) -> list[Path]:
    """Write synthetic versions of the official files into `directory`; returns their paths."""
    # the builders import torchvision, face-alignment and gfpgan: only when called
    from sadtalker.testing.coeff_weights import coeff_weights
    from sadtalker.testing.landmarker_files import write_landmarker_files
    from sadtalker.testing.recon_weights import recon_weights
    from sadtalker.testing.render_weights import mapping_weights, render_weights

    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for size in sizes:
        path = directory / weights.sadtalker_file(size)
        log.info("synthesizing %s", path.name)
        tensors = {**render_weights(seed, size), **coeff_weights(seed), **recon_weights(seed)}
        write_safetensors(path, tensors)
        written.append(path)
    pickled = []
    for channels in (FRAME_COEFFS, SOURCE_COEFFS):
        path = directory / weights.mapping_file(channels)
        log.info("synthesizing %s", path.name)
        pickled.append(write_torch(path, {"mapping": mapping_weights(seed, channels), "epoch": 0}))
    if detector:
        log.info("synthesizing face-alignment files")
        pickled += write_landmarker_files(directory, seed)
    if enhancer:
        from sadtalker.testing.enhancer_files import write_enhancer_files

        log.info("synthesizing GFPGAN and facexlib files")
        pickled += write_enhancer_files(directory, seed)
    record_synthetic(directory, pickled)
    return written + pickled


def write_safetensors(path: Path, tensors: dict[str, torch.Tensor]) -> Path:
    """Write a safetensors file atomically, marked synthetic in its metadata."""
    tmp = path.with_name(path.name + ".tmp")
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(tmp),
              metadata={weights.SYNTHETIC_METADATA_KEY: "true"})
    os.replace(tmp, path)
    return path


def write_torch(path: Path, obj: object) -> Path:
    """torch.save atomically: a file under an official name is always whole."""
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)
    return path


def record_synthetic(directory: Path, paths: Iterable[Path]) -> None:
    """Add files to the directory's manifest of synthetic files (name -> sha256), which marks
    the pickles (they have no metadata of their own)."""
    manifest = weights.synthetic_manifest(directory)
    manifest.update({p.name: file_sha256(p) for p in paths})
    tmp = directory / (weights.SYNTHETIC_MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, directory / weights.SYNTHETIC_MANIFEST)
