"""The file format between stages: named numpy arrays in one .npz, read without pickles."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np


def save_arrays(path: str | os.PathLike[str], **arrays: np.ndarray) -> Path:
    """Write `arrays` to `path` as named (the name is kept as given: no ".npz" appended)."""
    with open(path, "wb") as file:  # a file object keeps numpy from appending ".npz"
        np.savez(file, **arrays)
    return Path(path)


def load_arrays(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Every array `save_arrays` wrote to `path`, by name."""
    with np.load(path, allow_pickle=False) as data:
        return dict(data)


def save_coefficients(path: str | os.PathLike[str], coeffs: np.ndarray) -> Path:
    """A clip's (T, FRAME_COEFFS) coefficients, as the coefficient stage passes them on."""
    return save_arrays(path, coeffs=coeffs)


def load_coefficients(path: str | os.PathLike[str]) -> np.ndarray:
    """What `save_coefficients` wrote."""
    return load_arrays(path)["coeffs"]
