"""Session fixtures: real inputs made on the spot and one set of synthetic checkpoints."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from sadtalker.cpu import cpu_class
from sadtalker.testing.example_inputs import astronaut_landmarks as read_astronaut_landmarks
from sadtalker.testing.example_inputs import write_example_inputs


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `bf16` run the bfloat16 path itself: only where the CPU computes it."""
    cpu = cpu_class()
    if cpu.native_bf16:
        return
    skip = pytest.mark.skip(reason=f"runs bf16 kernels: needs avx512_bf16 or amx_bf16, this CPU "
                                   f"is {cpu.value} class")
    for item in items:
        if item.get_closest_marker("bf16"):
            item.add_marker(skip)


@pytest.fixture(scope="module")
def module_dir(request: pytest.FixtureRequest,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A directory that lives as long as the test module: synthetic checkpoints run to hundreds
    of MB, and a session that kept every module's copy would need gigabytes of disk at once."""
    directory = tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def example_inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The astronaut portrait, its landmarks and 2.0 s of espeak-ng speech."""
    return write_example_inputs(tmp_path_factory.mktemp("inputs"), seconds=2.0)


@pytest.fixture(scope="session")
def speech_wav(example_inputs: dict[str, Path]) -> Path:
    return example_inputs["audio"]


@pytest.fixture(scope="session")
def astronaut_png(example_inputs: dict[str, Path]) -> Path:
    return example_inputs["image"]


@pytest.fixture(scope="session")
def astronaut_landmarks_file(example_inputs: dict[str, Path]) -> Path:
    return example_inputs["landmarks"]


@pytest.fixture(scope="session")
def astronaut_landmarks() -> np.ndarray:
    return read_astronaut_landmarks()


@pytest.fixture(scope="session")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Synthetic versions of every official file (256 only), shared by the whole session; or
    those already in `$SADTALKER_TEST_CHECKPOINTS` (an image's baked ones: deploy/image_check.sh)."""
    from sadtalker.testing.checkpoints import synthesize

    if os.environ.get("SADTALKER_TEST_CHECKPOINTS"):
        return Path(os.environ["SADTALKER_TEST_CHECKPOINTS"])

    directory = tmp_path_factory.mktemp("checkpoints")
    synthesize(directory, sizes=(256,), seed=0)
    return directory
