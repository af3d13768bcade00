"""End to end through `pyflyte run` (in-process local execution) on synthetic weights.

A 0.24 s clip (6 frames) is rendered in 3 chunks; a second run with the same audio bytes at
another path must reuse the cached mel: the local cache then holds one `audio_to_mel` entry.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from diskcache import Cache

from sadtalker import examples, video

REPO = Path(__file__).resolve().parent.parent
SECONDS = 0.24  # 6 frames at 25 fps: 3 chunks of one 2-frame batch each
FRAMES = 6
CHUNKS = 3
MEL_TASK = "tasks.audio_to_mel.audio_to_mel"

pytestmark = pytest.mark.slow


def pyflyte_run(inputs: dict[str, Path], audio: Path, checkpoints: Path, home: Path,
                scratch: Path) -> Path:
    """Run the workflow in a fresh process with its own local cache and temporary folder
    (where flytekit's sandbox and the deck go); the mp4 it printed."""
    scratch.mkdir()
    env = {**os.environ, "HOME": str(home), "TMPDIR": str(scratch),
           "COLUMNS": "1000"}  # rich would wrap the printed path at 80 columns
    command = [str(Path(sys.executable).parent / "pyflyte"), "run", "workflows/talking_head.py",
               "talking_head", "--image", str(inputs["image"]), "--audio", str(audio),
               "--landmarks", str(inputs["landmarks"]), "--chunks", str(CHUNKS),
               "--min_chunk_frames", "2", "--checkpoints", str(checkpoints)]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300, check=False)  # the assert shows the output
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    (mp4,) = set(re.findall(r"(/\S+\.mp4)", done.stdout))
    return Path(mp4)


def test_workflow_renders_in_chunks_and_reuses_the_mel(
        tmp_path: Path, checkpoints: Path) -> None:
    inputs = examples.write_example_inputs(tmp_path / "inputs", seconds=SECONDS)
    home = tmp_path / "home"
    first = pyflyte_run(inputs, inputs["audio"], checkpoints, home, tmp_path / "run1")
    info = video.probe(first)
    assert (info.frames, info.fps) == (FRAMES, 25.0)  # size: the crop box, aspect restored
    assert info.audio_seconds == pytest.approx(SECONDS, abs=0.03)
    assert "SYNTHETIC" in (info.comment or "")
    (deck,) = (tmp_path / "run1").rglob("deck.html")
    report = deck.read_text()
    assert f"{FRAMES} frames ({SECONDS:.2f} s of speech), {CHUNKS} render chunk(s)" in report
    assert report.count("<td>render_chunk[") == CHUNKS
    assert "data:video/mp4;base64," in report

    moved = tmp_path / "elsewhere" / "same-speech.wav"
    moved.parent.mkdir()
    shutil.copy(inputs["audio"], moved)
    second = pyflyte_run(inputs, moved, checkpoints, home, tmp_path / "run2")
    assert video.probe(second).frames == FRAMES
    with Cache(str(home / ".flyte" / "local-cache")) as cache:
        mel_entries = [k for k in cache.iterkeys() if k.startswith(MEL_TASK + "-")]
    assert len(mel_entries) == 1  # the second run hit the first run's entry
