"""Example inputs made on the spot: a real portrait and speech (`sadtalker example-inputs`).

No media is shipped: the portrait is scikit-image's astronaut photo, whose 68 landmarks are
package data beside this module (`astronaut_landmarks.json`, whose note says how they were
made); the speech is spoken by espeak-ng, or is a synthetic voice that needs nothing installed.
The demo, the tests, the benchmarks and the synthetic weights' calibration start from these.
"""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import tempfile
from importlib import resources
from pathlib import Path

import cv2
import numpy as np
import skimage.data
import soundfile
from PIL import Image

from sadtalker.audio import SAMPLE_RATE
from sadtalker.errors import SadTalkerError

DEFAULT_TEXT = (
    "Hello! This portrait was animated on an ordinary computer, without a graphics card. "
    "Every frame was rendered by a small fleet of processors working side by side."
)
HEAD_BOX = (5, 225, 115, 335)  # top, bottom, left, right of a square around the astronaut's head

# synthetic voice
PITCH_HZ = (110.0, 180.0)  # glottal pulse rate range
SYLLABLE_HZ = 4.0
FORMANTS_HZ = ((300, 800), (900, 2200), (2300, 3000))  # (low, high) range of F1, F2, F3
FORMANT_BANDWIDTH_HZ = 120.0


def write_example_inputs(directory: Path, seconds: float | None = None,
                         text: str = DEFAULT_TEXT) -> dict[str, Path]:
    """Write astronaut.png, astronaut_landmarks.json and speech.wav into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    image = directory / "astronaut.png"
    Image.fromarray(skimage.data.astronaut()).save(image)
    landmarks = directory / "astronaut_landmarks.json"
    landmarks.write_text(json.dumps(astronaut_landmarks().tolist()))
    speech = speak(text, directory / "speech.wav", seconds)
    return {"image": image, "landmarks": landmarks, "audio": speech}


def astronaut_landmarks() -> np.ndarray:
    """The astronaut photo's 68 (x, y) landmarks in iBUG order, float32 pixels."""
    text = resources.files(__package__).joinpath("astronaut_landmarks.json").read_text()
    return np.asarray(json.loads(text)["landmarks"], dtype=np.float32)


def astronaut_crop(size: int, box: tuple[int, int, int, int] = HEAD_BOX) -> np.ndarray:
    """The astronaut photo's `box` (top, bottom, left, right) as (size, size, 3) uint8 RGB."""
    top, bottom, left, right = box
    return cv2.resize(skimage.data.astronaut()[top:bottom, left:right], (size, size),
                      interpolation=cv2.INTER_AREA)


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


def synthetic_voice(seed: int, seconds: float) -> np.ndarray:
    """A deterministic speech-like float32 signal at 16 kHz: a glottal pulse train through
    moving vowel formants, with syllable-rate loudness and some fricative onsets."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    pitch = np.interp(t, np.linspace(0, seconds, 9), rng.uniform(*PITCH_HZ, 9))
    phase = np.cumsum(pitch) / SAMPLE_RATE
    source = 2 * (phase % 1) - 1  # sawtooth: a rich harmonic spectrum like a glottal source
    syllables = int(seconds * SYLLABLE_HZ)
    voice = np.zeros(n)
    bounds = np.linspace(0, n, syllables + 1).astype(int)
    for start, stop in itertools.pairwise(bounds):
        piece = source[start:stop]
        spectrum = np.fft.rfft(piece)
        freqs = np.fft.rfftfreq(len(piece), 1 / SAMPLE_RATE)
        envelope = sum(1 / (1 + ((freqs - rng.uniform(lo, hi)) / FORMANT_BANDWIDTH_HZ) ** 2)
                       for lo, hi in FORMANTS_HZ)
        voiced = np.fft.irfft(spectrum * envelope, len(piece))
        loudness = np.sin(np.linspace(0, np.pi, len(piece))) ** 2
        # some syllables start with a fricative
        hiss = rng.standard_normal(len(piece)) * (rng.random() < 0.3)
        hiss[len(piece) // 4:] = 0
        voice[start:stop] = voiced * loudness + 0.05 * hiss
    return (0.5 * voice / np.abs(voice).max()).astype(np.float32)
