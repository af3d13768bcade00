"""The `sadtalker` command as a user runs it: a separate process, exit codes, one-line errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import soundfile


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sadtalker", *args], capture_output=True,
                          text=True, env=env, timeout=600, check=False)


def test_example_inputs_are_a_portrait_landmarks_and_speech(tmp_path: Path):
    result = run_cli("example-inputs", "--dir", str(tmp_path), "--seconds", "1.5")
    assert result.returncode == 0, result.stderr
    wav, rate = soundfile.read(tmp_path / "speech.wav")
    assert abs(len(wav) / rate - 1.5) < 1e-3 and abs(wav).max() > 0.05  # real speech, not silence
    assert (tmp_path / "astronaut.png").stat().st_size > 100_000
    assert (tmp_path / "astronaut_landmarks.json").is_file()


def test_missing_checkpoint_is_one_line_without_traceback(tmp_path: Path, example_inputs):
    result = run_cli("generate", "--image", str(example_inputs["image"]), "--audio",
                     str(example_inputs["audio"]), "--out", str(tmp_path / "o.mp4"),
                     "--landmarks", str(example_inputs["landmarks"]),
                     "--checkpoints", str(tmp_path / "empty"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()[-1:]
    assert line.startswith("error: 2 checkpoint file(s) missing in ")
    assert "SadTalker_V0.0.2_256.safetensors, mapping_00229-model.pth.tar" in line
    assert "sadtalker weights download" in line
    assert not (tmp_path / "o.mp4").exists()


def test_bad_option_is_rejected_by_the_parser(tmp_path: Path):
    result = run_cli("generate", "--image", "x.png", "--audio", "y.wav", "--out", "o.mp4",
                     "--preprocess", "zoom")
    assert result.returncode == 2 and "invalid choice: 'zoom'" in result.stderr


def test_verify_lists_every_file_and_fails_when_files_are_missing(tmp_path: Path):
    result = run_cli("weights", "verify", "--dir", str(tmp_path))
    assert result.returncode == 1
    assert result.stdout.count("missing") == 9
    assert result.stderr.strip() == ("error: 9 file(s) missing or damaged: run 'sadtalker "
                                     "weights download'")


def test_verify_passes_on_the_groups_that_are_there(tmp_path: Path, checkpoints: Path):
    result = run_cli("weights", "verify", "--dir", str(checkpoints), "--group", "core")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "missing" not in result.stdout and result.stdout.count("synthetic") >= 3


def test_generate_has_one_flag_per_option_and_parses_to_the_options() -> None:
    from sadtalker.cli import build_parser
    from sadtalker.options import DEFAULTS, GenerateOptions, option_specs

    base = ["generate", "--image", "x.png", "--audio", "y.wav", "--out", "o.mp4"]
    args = vars(build_parser().parse_args(base))
    names = [spec.name for spec in option_specs()]
    assert GenerateOptions(**{name: args[name] for name in names}) == DEFAULTS
    args = vars(build_parser().parse_args(base + [
        "--size", "512", "--still", "--input-yaw", "-10", "10", "--precision", "fp32",
        "--expression-scale", "1.5"]))
    assert GenerateOptions(**{name: args[name] for name in names}) == GenerateOptions(
        size=512, still=True, input_yaw=(-10.0, 10.0), precision="fp32", expression_scale=1.5)
