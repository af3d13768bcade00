"""Where a task writes the files it returns."""

from __future__ import annotations

from pathlib import Path

from flytekit import current_context


def output_path(name: str) -> Path:
    """A path in the task's private working directory (flytekit uploads returned files)."""
    return Path(current_context().working_directory) / name
