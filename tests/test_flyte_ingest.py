"""`ingest` refuses every bad workflow input before any heavy stage, with a one-line reason."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest
from flytekit.types.file import FlyteFile

from sadtalker.errors import OptionError
from sadtalker.options import DEFAULTS
from tasks.ingest import ingest

OPTIONS = {**{f.name: getattr(DEFAULTS, f.name) for f in fields(DEFAULTS)},
           "size": DEFAULTS.size_choice}  # the launch form's choice
FAN_OUT = {"chunks": 4, "min_chunk_frames": 0, "price_per_vcpu_hour": 0.04, "ref_eyeblink": None,
           "ref_pose": None}


@pytest.mark.parametrize(("change", "message"), [
    ({"chunks": 0}, "chunks must be >= 1, got 0"),
    ({"min_chunk_frames": -1}, "min_chunk_frames must be >= 0"),
    ({"price_per_vcpu_hour": -0.5}, "price_per_vcpu_hour must be >= 0, got -0.5"),
    ({"batch_size": 0}, r"batch_size must be in \[1, 64\], got 0"),
])
def test_bad_workflow_inputs_fail_in_ingest(tmp_path: Path, astronaut_png: Path,
                                            speech_wav: Path, change: dict,
                                            message: str) -> None:
    inputs = {**OPTIONS, **FAN_OUT, **change}
    with pytest.raises(OptionError, match=message):
        ingest(image=FlyteFile(str(astronaut_png)), audio=FlyteFile(str(speech_wav)),
               landmarks=None, checkpoints=str(tmp_path / "none"), **inputs)


def test_the_face_stage_fingerprint_covers_only_the_files_it_reads(
        checkpoints: Path, astronaut_png: Path, speech_wav: Path,
        astronaut_landmarks_file: Path) -> None:
    def face_weights(landmarks: Path | None = astronaut_landmarks_file, **change) -> str:
        return ingest(image=FlyteFile(str(astronaut_png)), audio=FlyteFile(str(speech_wav)),
                      landmarks=landmarks and FlyteFile(str(landmarks)),
                      checkpoints=str(checkpoints), **{**OPTIONS, **FAN_OUT, **change},
                      ).face_weights

    given = face_weights()
    # other stages' files (mapping net, GFPGAN) and options the face stage never reads
    assert face_weights(preprocess="full", enhancer="gfpgan", seed=3, precision="fp32",
                        expression_scale=0.5, batch_size=4) == given
    assert face_weights(landmarks=None) != given  # detection reads the detector's files
