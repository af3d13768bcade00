"""Example inputs made on the spot: a real portrait and real synthesized speech.

No media is shipped in the repository: the portrait is scikit-image's astronaut photo and the
speech is spoken by espeak-ng. The demo, the tests and the benchmarks all start from these.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from importlib import resources
from pathlib import Path

import numpy as np
import soundfile
from PIL import Image
from skimage import data

from sadtalker.errors import SadTalkerError

DEFAULT_TEXT = (
    "Hello! This portrait was animated on an ordinary computer, without a graphics card. "
    "Every frame was rendered by a small fleet of processors working side by side."
)


def astronaut_landmarks() -> np.ndarray:
    """68 (x, y) landmarks of the astronaut photo, shipped as package data (see its note)."""
    text = resources.files("sadtalker.data").joinpath("astronaut_landmarks.json").read_text()
    return np.asarray(json.loads(text)["landmarks"], dtype=np.float32)


def speak(text: str, out: Path, seconds: float | None = None) -> Path:
    """Speak `text` with espeak-ng into a mono wav, cut or padded with silence to `seconds`."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise SadTalkerError("espeak-ng is not installed: run `make setup` (it installs it with apt)")
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "speech.wav"
        subprocess.run([espeak, "-w", str(raw), text], check=True, capture_output=True)
        wav, rate = soundfile.read(raw, dtype="float32")
    if seconds is not None:
        wanted = round(seconds * rate)
        wav = np.pad(wav[:wanted], (0, max(0, wanted - len(wav))))
    soundfile.write(out, wav, rate, subtype="PCM_16")
    return out


def write_example_inputs(directory: Path, seconds: float | None = None,
                         text: str = DEFAULT_TEXT) -> dict[str, Path]:
    """Write astronaut.png, astronaut_landmarks.json and speech.wav into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    image = directory / "astronaut.png"
    Image.fromarray(data.astronaut()).save(image)
    landmarks = directory / "astronaut_landmarks.json"
    landmarks.write_text(json.dumps(astronaut_landmarks().tolist()))
    speech = speak(text, directory / "speech.wav", seconds)
    return {"image": image, "landmarks": landmarks, "audio": speech}
