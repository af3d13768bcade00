"""Bad inputs through the `sadtalker generate` command, as a user meets them: a separate
process, exit status 2, a last line saying what was wrong and what to do, no traceback, no
output file. The unit tests (test_audio, test_image, test_options) cover the many variants of
each input; here one case per kind checks that the error reaches the user whole."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from sadtalker.testing.example_inputs import speak
from sadtalker.video import probe


def generate(tmp_path: Path, inputs: dict[str, Path], checkpoints: Path, *args: str,
             image: Path | None = None, audio: Path | None = None
             ) -> tuple[subprocess.CompletedProcess, Path]:
    """Run the command on the example inputs (or the given image/audio); (result, out path)."""
    out = tmp_path / "out" / "talking.mp4"
    out.parent.mkdir()
    command = [sys.executable, "-m", "sadtalker", "generate",
               "--image", str(image or inputs["image"]), "--audio", str(audio or inputs["audio"]),
               "--landmarks", str(inputs["landmarks"]), "--checkpoints", str(checkpoints),
               "--out", str(out), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=600,
                          check=False), out


@pytest.mark.parametrize("bad_file, args, message", [
    # ImageError
    pytest.param("image", [], r"^error: cannot read \S+notes.txt as an image \(.*\): use a jpg",
                 id="text-as-image"),
    # AudioError
    pytest.param("audio", [], r"^error: cannot decode notes.txt as audio \(.*\): pass a wav",
                 id="text-as-audio"),
    pytest.param("20ms", [], r"^error: short.wav is 20 ms long: at least 1 video frame of 40 ms",
                 id="20ms-audio"),
    # OptionError (range checks live in GenerateOptions)
    pytest.param(None, ["--pose-style", "46"], r"^error: pose_style must be in \[0, 45\], got 46$",
                 id="pose-style-46"),
    # argparse choices (the same sets as the options' enums)
    pytest.param(None, ["--size", "300"],
                 r"error: argument --size: invalid choice: 300 \(choose from 256, 512\)$",
                 id="size-300"),
    pytest.param(None, ["--preprocess", "foo"],
                 r"error: argument --preprocess: invalid choice: 'foo' \(choose from .*extfull",
                 id="preprocess-foo"),
    pytest.param(None, ["--enhancer", "foo"],
                 r"error: argument --enhancer: invalid choice: 'foo' \(choose from .*gfpgan",
                 id="enhancer-foo"),
])
def test_bad_input_fails_in_one_line(bad_file: str | None, args: list[str], message: str,
                                     tmp_path: Path, example_inputs: dict[str, Path],
                                     checkpoints: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("this is a text file, not a photo or a recording\n")
    files = {"image": {"image": text}, "audio": {"audio": text}, None: {},
             "20ms": {"audio": speak("Hi.", tmp_path / "short.wav", seconds=0.02)}}[bad_file]
    done, out = generate(tmp_path, example_inputs, checkpoints, *args, **files)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert re.search(message, last), last
    assert list(out.parent.iterdir()) == []  # no video, no temporary


def test_a_100ms_clip_is_short_but_works(tmp_path: Path, example_inputs: dict[str, Path],
                                         checkpoints: Path) -> None:
    """0.1 s holds two whole 40 ms frames: a tiny valid video, not an error."""
    clip = speak("Hi.", tmp_path / "tiny.wav", seconds=0.1)
    done, out = generate(tmp_path, example_inputs, checkpoints, audio=clip)
    assert done.returncode == 0, done.stderr[-2000:]
    info = probe(out)
    assert info.frames == 2 and info.audio_seconds == pytest.approx(0.08, abs=0.03)
    assert [p.name for p in out.parent.iterdir()] == ["talking.mp4"]


def test_bf16_on_a_cpu_without_it_fails_at_once_naming_the_feature(
        tmp_path: Path, example_inputs: dict[str, Path], checkpoints: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """The CLI in this process, on an AVX2 CPU as `sadtalker.cpu` would detect it."""
    from sadtalker import cli, options
    from sadtalker.cpu import CpuClass

    monkeypatch.setattr(options, "cpu_class", lambda: CpuClass.AVX2)
    out = tmp_path / "talking.mp4"
    code = cli.main(["generate", "--image", str(example_inputs["image"]),
                     "--audio", str(example_inputs["audio"]), "--checkpoints", str(checkpoints),
                     "--landmarks", str(example_inputs["landmarks"]), "--out", str(out),
                     "--precision", "bf16"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and not out.exists()
    assert err == [("error: precision bf16 needs a CPU with native bfloat16 (AVX-512 BF16 or "
                   "AMX); this one is avx2 class: use precision auto, winograd or fp32")]
