"""File checksums: the sha256 that checkpoint verification, the synthetic-file manifest and
content-keyed caches compare. Free of torch, so light tasks can hash without loading it."""

from __future__ import annotations

import hashlib
import os

READ_BLOCK = 1 << 20  # checkpoints are up to 725 MB: hash them a block at a time


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(READ_BLOCK):
            digest.update(block)
    return digest.hexdigest()
