"""End to end through `pyflyte run` (in-process local execution) on synthetic weights.

A 0.24 s clip (6 frames) is rendered in 3 chunks; a second run with the same audio bytes at
another path, split into 2 chunks and declaring AVX2 render nodes, must give the same video up to
H.264's loss (its segments' keyframes lie elsewhere) and reuse the cached mel, face and
coefficients: the local cache then holds one entry of each. The first run again renders
nothing: every stage after ingest hits.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from diskcache import Cache

from sadtalker import video
from sadtalker.cpu import CpuClass, cpu_class
from sadtalker.options import Precision
from sadtalker.testing.example_inputs import write_example_inputs

REPO = Path(__file__).resolve().parent.parent
SECONDS = 0.24  # 6 frames at 25 fps, batches of 2
FRAMES = 6
CHUNKS = 3  # one batch each
OTHER_CHUNKS = 2  # frames [0, 4) and [4, 6)
MEL_TASK = "tasks.audio_to_mel.audio_to_mel"
FACE_TASK = "tasks.crop_and_extract.crop_and_extract"
COEFFS_TASK = "tasks.audio_to_coeffs.audio_to_coeffs"

pytestmark = pytest.mark.slow


def pyflyte_run(inputs: dict[str, Path], audio: Path, checkpoints: Path, home: Path,
                scratch: Path, chunks: int, *extra: str) -> Path:
    """Run the workflow in a fresh process with its own local cache and temporary folder
    (where flytekit's sandbox and the deck go), `extra` arguments last; the mp4 it printed."""
    scratch.mkdir()
    env = {**os.environ, "HOME": str(home), "TMPDIR": str(scratch),
           "COLUMNS": "1000"}  # rich would wrap the printed path at 80 columns
    command = [str(Path(sys.executable).parent / "pyflyte"), "run", "workflows/talking_head.py",
               "talking_head", "--image", str(inputs["image"]), "--audio", str(audio),
               "--landmarks", str(inputs["landmarks"]), "--chunks", str(chunks),
               "--min_chunk_frames", "2", "--checkpoints", str(checkpoints), *extra]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300, check=False)  # the assert shows the output
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    (mp4,) = set(re.findall(r"(/\S+\.mp4)", done.stdout))
    return Path(mp4)


def test_workflow_gives_one_video_across_chunkings_and_reuses_the_cache(
        tmp_path: Path, checkpoints: Path) -> None:
    inputs = write_example_inputs(tmp_path / "inputs", seconds=SECONDS)
    home = tmp_path / "home"
    first = pyflyte_run(inputs, inputs["audio"], checkpoints, home, tmp_path / "run1", CHUNKS)
    info = video.probe(first)
    assert (info.frames, info.fps) == (FRAMES, 25.0)  # size: the crop box, aspect restored
    assert info.audio_seconds == pytest.approx(SECONDS, abs=0.03)
    assert "SYNTHETIC" in (info.comment or "")
    (deck,) = (tmp_path / "run1").rglob("deck.html")
    report = deck.read_text()
    assert f"{FRAMES} frames ({SECONDS:.2f} s of speech), {CHUNKS} render chunk(s)" in report
    assert report.count("<td>render_chunk[") == CHUNKS
    ran_on = f"<td>{cpu_class().value}, {Precision.AUTO.resolve().value}</td>"  # this machine
    assert report.count(ran_on) == CHUNKS
    # render_cpu left empty: the deck suggests it where this machine is not of the fastest class
    hinted = f"All {CHUNKS} render pods ran on {cpu_class().value} nodes, and render_cpu is empty"
    assert (hinted in report) == (cpu_class() is not CpuClass.AVX512_BF16)
    assert "cache hit" not in report.split("</table>")[0]
    assert "data:video/mp4;base64," in report
    assert f'<a href="{first.as_uri()}">{first}</a>' in report  # the stored copy, linked

    moved = tmp_path / "elsewhere" / "same-speech.wav"
    moved.parent.mkdir()
    shutil.copy(inputs["audio"], moved)
    second = pyflyte_run(inputs, moved, checkpoints, home, tmp_path / "run2", OTHER_CHUNKS,
                         "--render_cpu", "avx2")  # an optional choice, as the CLI parses it
    (deck,) = (tmp_path / "run2").rglob("deck.html")
    report = deck.read_text()
    assert report.count("<td>render_chunk[") == OTHER_CHUNKS
    for stage in ("audio_to_mel", "crop_and_extract", "audio_to_coeffs"):  # what was reused
        assert f"<td>{stage}</td><td>cache hit</td>" in report
    assert "<td>render_chunk[0]</td><td>cache hit</td>" not in report  # chunks of another size
    mismatch = f"render_cpu is avx2, but {OTHER_CHUNKS} of {OTHER_CHUNKS} render pods ran on"
    assert (mismatch in report) == (cpu_class() is not CpuClass.AVX2)
    assert second != first
    again = video.probe(second)
    assert (again.frames, again.audio_seconds) == (info.frames, info.audio_seconds)
    assert np.abs(video.read_frames(second).astype(int) - video.read_frames(first)).mean() < 4
    with Cache(str(home / ".flyte" / "local-cache")) as cache:
        keys = list(cache.iterkeys())
    # the second run hit the first run's entries
    assert sum(k.startswith(MEL_TASK + "-") for k in keys) == 1
    assert sum(k.startswith(FACE_TASK + "-") for k in keys) == 1
    assert sum(k.startswith(COEFFS_TASK + "-") for k in keys) == 1

    # the first run again (as a nightly batch would): nothing is rendered or stitched again
    third = pyflyte_run(inputs, inputs["audio"], checkpoints, home, tmp_path / "run3", CHUNKS)
    assert third == first
    with Cache(str(home / ".flyte" / "local-cache")) as cache:
        assert len(list(cache.iterkeys())) == len(keys)
