"""Example inputs made on the spot: a real portrait and real synthesized speech.

The demo, the tests and the benchmarks all start from these (`sadtalker example-inputs`).
"""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from sadtalker.testing.astronaut import astronaut, astronaut_landmarks
from sadtalker.testing.speech import speak

DEFAULT_TEXT = (
    "Hello! This portrait was animated on an ordinary computer, without a graphics card. "
    "Every frame was rendered by a small fleet of processors working side by side."
)


def write_example_inputs(directory: Path, seconds: float | None = None,
                         text: str = DEFAULT_TEXT) -> dict[str, Path]:
    """Write astronaut.png, astronaut_landmarks.json and speech.wav into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    image = directory / "astronaut.png"
    Image.fromarray(astronaut()).save(image)
    landmarks = directory / "astronaut_landmarks.json"
    landmarks.write_text(json.dumps(astronaut_landmarks().tolist()))
    speech = speak(text, directory / "speech.wav", seconds)
    return {"image": image, "landmarks": landmarks, "audio": speech}
