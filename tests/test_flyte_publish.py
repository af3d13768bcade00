"""Storing the final video from inside the task: where it lands and the link the deck uses."""

from __future__ import annotations

from pathlib import Path

import pytest
from flytekit import FlyteContextManager
from flytekit.core.data_persistence import FileAccessProvider
from fsspec.implementations.local import LocalFileSystem

from tasks.publish import LINK_SECONDS, Published, publish


@pytest.fixture
def raw_output(tmp_path: Path) -> Path:
    """Run the test under a task context whose raw output prefix is a file:// URL."""
    raw = tmp_path / "raw"
    access = FileAccessProvider(str(tmp_path / "sandbox"), raw_output_prefix=raw.as_uri())
    ctx = FlyteContextManager.current_context().with_file_access(access)
    with FlyteContextManager.with_context(ctx):
        yield raw


def test_the_video_is_stored_under_the_raw_output_prefix(raw_output: Path,
                                                         tmp_path: Path) -> None:
    video = tmp_path / "talking_head.mp4"
    video.write_bytes(b"\x00\x00\x00\x18ftypmp42")
    stored = publish(video)
    copy = Path(stored.uri.removeprefix("file://"))
    assert copy.parent.parent == raw_output and copy.name == "talking_head.mp4"
    assert copy.read_bytes() == video.read_bytes()
    assert stored.link == copy.as_uri()  # a local store cannot sign: the file itself opens


def test_a_store_that_signs_gives_a_signed_link(raw_output: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    signed = []

    def sign(self, path: str, expiration: int = 100, **kwargs) -> str:
        signed.append(expiration)
        return f"https://store.example/{Path(path).name}?expires={expiration}"

    monkeypatch.setattr(LocalFileSystem, "sign", sign)
    video = tmp_path / "talking_head.mp4"
    video.write_bytes(b"mp4")
    stored = publish(video)
    assert stored == Published(stored.uri, f"https://store.example/talking_head.mp4?expires="
                                           f"{LINK_SECONDS}")
    assert signed == [LINK_SECONDS]
