"""Random-weight checkpoints in the exact official layout, for tests, benchmarks and demos.

Every file gets its official name, keys, shapes and dtypes so the real loading code runs on
it unchanged. Each sub-package builds its own tensors (with normalisation statistics
calibrated on real inputs, so activations stay in a sane range); this module writes the files
and marks them synthetic, so that `weights verify` and every output made with them say so.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from sadtalker import weights
from sadtalker.coeff_layout import FRAME_COEFFS, SOURCE_COEFFS

log = logging.getLogger(__name__)


def synthesize(directory: Path, sizes: Iterable[int] = (256,), seed: int = 0,
               enhancer: bool = True, detector: bool = True) -> list[Path]:
    """Write synthetic versions of the official files into `directory`; returns their paths."""
    from sadtalker.coeffs.synthetic import synthetic_weights as coeff_weights
    from sadtalker.face.synthetic import synthetic_weights as recon_weights
    from sadtalker.face.synthetic_landmarker import write_face_alignment_files
    from sadtalker.render.synthetic import synthetic_mapping
    from sadtalker.render.synthetic import synthetic_weights as render_weights

    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for size in sizes:
        path = directory / weights.sadtalker_file(size)
        log.info("synthesizing %s", path.name)
        tensors = {**render_weights(seed, size), **coeff_weights(seed), **recon_weights(seed)}
        weights.write_safetensors(path, tensors, synthetic=True)
        written.append(path)
    pickled = []
    for channels in (FRAME_COEFFS, SOURCE_COEFFS):
        path = directory / weights.mapping_file(channels)
        log.info("synthesizing %s", path.name)
        pickled.append(weights.write_torch(path, {"mapping": synthetic_mapping(seed, channels), "epoch": 0}))
    if detector:
        log.info("synthesizing face-alignment files")
        pickled += write_face_alignment_files(directory, seed)
    if enhancer:
        from sadtalker.enhance import synthetic_files as enhancer_files

        log.info("synthesizing GFPGAN and facexlib files")
        pickled += enhancer_files(directory, seed)
    weights.record_synthetic(directory, pickled)
    return written + pickled
