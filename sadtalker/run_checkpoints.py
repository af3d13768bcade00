"""The checkpoint files a run reads, by its options, and the check before any work that they
are all there. Apart from the pipeline, so that a task that only checks them (the workflow's
ingest) does not import the networks' code and torch.
"""

from __future__ import annotations

from pathlib import Path

from sadtalker import weights
from sadtalker.errors import CheckpointError
from sadtalker.options import Enhancer, GenerateOptions


def face_files(size: int, detect: bool) -> list[str]:
    """The checkpoint files the portrait stage reads: the 3DMM regressor's (inside the
    SadTalker file of `size`) and, when `detect`, the landmark detector's."""
    names = [weights.sadtalker_file(size)]
    return names + [weights.S3FD, weights.FAN_2D] if detect else names


def required_files(options: GenerateOptions, detect: bool, references: bool = False) -> list[str]:
    """The checkpoint files a run with these options reads: `detect` when the portrait's
    landmarks are detected, `references` when a reference video (eye blinks or pose) is read,
    whose frames are always detected and regressed at the reference size."""
    names = [*face_files(options.size, detect), weights.mapping_file(options.coeff_channels)]
    if references:
        from sadtalker.face.reference_video import REFERENCE_SIZE  # imports face-alignment

        if weights.sadtalker_file(REFERENCE_SIZE) not in names:
            names.append(weights.sadtalker_file(REFERENCE_SIZE))
    if references and not detect:
        names += [weights.S3FD, weights.FAN_2D]
    if options.enhancer is Enhancer.GFPGAN:
        names += [weights.GFPGAN, weights.RETINAFACE, weights.PARSENET]
    return names


def missing(options: GenerateOptions, checkpoints: Path | None, detect: bool,
            references: bool = False) -> list[str]:
    """The files the run needs that the checkpoint directory lacks."""
    root = weights.checkpoint_dir(checkpoints)
    return [name for name in required_files(options, detect, references)
            if not (root / name).is_file()]


def check(options: GenerateOptions, checkpoints: Path | None, detect: bool,
          references: bool = False) -> None:
    """Fail before any work, naming every file the run needs that is missing."""
    absent = missing(options, checkpoints, detect, references)
    if absent:
        root = weights.checkpoint_dir(checkpoints)
        raise CheckpointError(
            f"{len(absent)} checkpoint file(s) missing in {root}: {', '.join(absent)}: run "
            f"`{weights.FIX_COMMAND.format(dir=root)}` (or `sadtalker weights synthesize "
            f"--dir {root}` for random test weights)")
