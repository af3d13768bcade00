"""File sha256, read in blocks."""

from __future__ import annotations

import hashlib

from sadtalker.checksum import READ_BLOCK, file_sha256


def test_digest_equals_hashlib_across_block_boundaries(tmp_path) -> None:
    payload = bytes(range(256)) * (READ_BLOCK // 256) + b"tail"  # one block and a bit
    path = tmp_path / "file.bin"
    path.write_bytes(payload)
    assert file_sha256(path) == file_sha256(str(path)) == hashlib.sha256(payload).hexdigest()
    (tmp_path / "empty").write_bytes(b"")
    assert file_sha256(tmp_path / "empty") == hashlib.sha256(b"").hexdigest()
