"""Speech made on the spot: espeak-ng's voice, and a synthetic voice that needs nothing installed."""

from __future__ import annotations

import itertools
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile

from sadtalker.audio import SAMPLE_RATE
from sadtalker.errors import SadTalkerError

PITCH_HZ = (110.0, 180.0)  # glottal pulse rate range
SYLLABLE_HZ = 4.0
FORMANTS_HZ = ((300, 800), (900, 2200), (2300, 3000))  # (low, high) range of F1, F2, F3
FORMANT_BANDWIDTH_HZ = 120.0


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
