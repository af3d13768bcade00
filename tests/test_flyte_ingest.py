"""`ingest` refuses every bad workflow input before any heavy stage, with a one-line reason."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from flyte_pod import ingest_inputs
from flytekit.types.file import FlyteFile

from sadtalker.cpu import CpuClass
from sadtalker.errors import OptionError
from sadtalker.options import GenerateOptions, Precision
from tasks.ingest import Ingested, ingest


@pytest.mark.parametrize(("change", "message"), [
    ({"chunks": 0}, "chunks must be >= 1, got 0"),
    ({"min_chunk_frames": -1}, "min_chunk_frames must be >= 0"),
    ({"price_per_vcpu_hour": -0.5}, "price_per_vcpu_hour must be >= 0, got -0.5"),
    ({"batch_size": 0}, r"batch_size must be in \[1, 64\], got 0"),
    ({"precision": "bf16", "render_cpu": CpuClass.AVX512},
     "precision bf16 needs render nodes with native bfloat16"),
])
def test_bad_workflow_inputs_fail_in_ingest(tmp_path: Path, astronaut_png: Path,
                                            speech_wav: Path, change: dict,
                                            message: str) -> None:
    with pytest.raises(OptionError, match=message):
        ingest(**ingest_inputs(image=FlyteFile(str(astronaut_png)),
                               audio=FlyteFile(str(speech_wav)),
                               checkpoints=str(tmp_path / "none"), **change))


@pytest.fixture
def run_ingest(checkpoints: Path, astronaut_png: Path, speech_wav: Path,
               astronaut_landmarks_file: Path) -> Callable[..., Ingested]:
    """ingest on the example portrait and speech with the session's checkpoints; keyword
    arguments change its inputs (`landmarks=None`: none given)."""
    def run(landmarks: Path | None = astronaut_landmarks_file, **change) -> Ingested:
        return ingest(**ingest_inputs(image=FlyteFile(str(astronaut_png)),
                                      audio=FlyteFile(str(speech_wav)),
                                      landmarks=landmarks and FlyteFile(str(landmarks)),
                                      checkpoints=str(checkpoints), **change))
    return run


def test_the_face_stage_fingerprint_covers_only_the_files_it_reads(run_ingest) -> None:
    def face_weights(**change) -> str:
        return run_ingest(**change).face_weights

    given = face_weights()
    # other stages' files (mapping net, GFPGAN) and options the face stage never reads
    assert face_weights(preprocess="full", enhancer="gfpgan", seed=3, precision="fp32",
                        expression_scale=0.5, batch_size=4) == given
    assert face_weights(landmarks=None) != given  # detection reads the detector's files


def test_ingest_leaves_precision_auto_to_each_render_pod(run_ingest) -> None:
    """A cluster's nodes differ: the pod that runs ingest cannot decide for the render pods."""
    def passed_on(**change) -> Precision:
        return GenerateOptions.from_json(run_ingest(**change).options).precision

    assert passed_on() is Precision.AUTO
    assert [passed_on(precision=p) for p in ("fp32", "winograd", "bf16")] == [
        Precision.FP32, Precision.WINOGRAD, Precision.BF16]  # bf16: each render pod checks it
