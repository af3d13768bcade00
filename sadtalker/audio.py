"""The audio front end: decode speech to 16 kHz mono, SadTalker's mel spectrogram, and the
80x16 mel window each video frame is driven by.

The audio constants are SadTalker's (wav2lip's hparams) and its loader's; changing one changes
what the coefficient networks see, so they are stated once here.
"""

from __future__ import annotations

import math
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import soxr

from sadtalker.errors import AudioError
from sadtalker.npz import load_arrays, save_arrays

SAMPLE_RATE = 16000
FPS = 25  # video frames per second
SAMPLES_PER_FRAME = SAMPLE_RATE // FPS  # 640: each video frame owns 40 ms of audio
PREEMPHASIS = 0.97  # first-order high-pass y[n] = x[n] - 0.97 x[n-1]
N_FFT = 800  # 50 ms
HOP = 200  # 12.5 ms: 80 mel frames per second, 3.2 per video frame
WIN = 800
N_MELS = 80
FMIN = 55  # Hz
FMAX = 7600  # Hz
REF_LEVEL_DB = 20  # subtracted from the dB amplitude
MIN_LEVEL_DB = -100  # floor of the dB scale; also sets the amplitude floor 10^(-100/20)
MAX_ABS = 4  # normalised mels lie in [-MAX_ABS, MAX_ABS]
MEL_WINDOW = 16  # mel frames per video frame's window: 0.2 s
MEL_FRAMES_PER_SECOND = SAMPLE_RATE / HOP
WINDOW_LEAD_FRAMES = 2  # a window starts this many video frames (80 ms) before its frame
MAX_AUDIO_SECONDS = 600
MIN_VIDEO_FRAMES = 1  # a video needs at least one 40 ms frame
RESAMPLER = "soxr_hq"  # librosa.load's default resampler, which SadTalker loads audio with
AU_MAGIC = 0x2E736E64  # ".snd", the first word of a Sun .au stream
AU_FLOAT32 = 6  # .au encoding code of 32-bit IEEE float samples
AU_HEADER_BYTES = 24


def load_audio(path: str | os.PathLike[str], max_seconds: float = MAX_AUDIO_SECONDS) -> np.ndarray:
    """Decode any audio ffmpeg reads (wav, mp3, m4a, flac, ogg, ...) to float32 mono 16 kHz.

    ffmpeg (the binary bundled with imageio-ffmpeg) decodes at the file's own rate; the channels
    are averaged and the result resampled by soxr, as `librosa.load(path, sr=16000)` does in
    SadTalker, so the samples the mel sees are the public code's.
    """
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"audio file {path} does not exist: pass the path of a speech clip")
    samples, rate = _decode(path, max_seconds)
    if samples.size == 0:
        raise AudioError(f"{path.name} contains no audio samples: pass a clip with speech in it")
    if not np.isfinite(samples).all():
        raise AudioError(f"{path.name} decodes to non-finite samples: "
                         "re-encode it (e.g. as 16-bit wav)")
    wav = resample(samples.mean(axis=1), rate)
    if wav.size < MIN_VIDEO_FRAMES * SAMPLES_PER_FRAME:
        raise AudioError(f"{path.name} is {wav.size / SAMPLE_RATE * 1000:.0f} ms long: at least "
                         f"{MIN_VIDEO_FRAMES} video frame of {1000 // FPS} ms is needed; "
                         "pass a longer clip")
    if wav.size > max_seconds * SAMPLE_RATE:
        raise AudioError(f"{path.name} is longer than the {max_seconds:g} s limit: cut it, "
                         "or raise the limit (max_seconds / --max-audio-seconds)")
    return wav


def _decode(path: Path, max_seconds: float) -> tuple[np.ndarray, int]:
    """(num_samples, channels) float32 samples at the file's own rate, and that rate."""
    command = [
        imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-v", "error", "-i", str(path),
        # decode one second past the limit only: enough to tell that a clip is too long
        "-t", str(max_seconds + 1), "-vn", "-f", "au", "-c:a", "pcm_f32be", "-",
    ]
    result = subprocess.run(command, capture_output=True, check=False)  # failures become AudioError
    if result.returncode != 0:
        lines = result.stderr.decode(errors="replace").strip().splitlines()
        reason = lines[-1] if lines else "ffmpeg failed"
        raise AudioError(f"cannot decode {path.name} as audio ({reason}): "
                         "pass a wav, mp3, m4a, flac or ogg speech file")
    # Sun .au carries the rate and channel count through a pipe: a header of big-endian
    # uint32 (magic, data offset, data size, encoding, rate, channels), then the samples
    header = np.frombuffer(result.stdout[:AU_HEADER_BYTES], ">u4")
    if header.size < 6 or header[0] != AU_MAGIC or header[3] != AU_FLOAT32:
        raise AudioError(f"cannot decode {path.name} as audio (ffmpeg wrote no float samples): "
                         "pass a wav, mp3, m4a, flac or ogg speech file")
    offset, rate, channels = int(header[1]), int(header[4]), int(header[5])
    samples = np.frombuffer(result.stdout[offset:], dtype=">f4").astype(np.float32)
    return samples.reshape(-1, channels), rate


def resample(wav: np.ndarray, rate: int) -> np.ndarray:
    """`wav` at `rate` resampled to 16 kHz as librosa.resample does: soxr, then cut or
    zero-padded to ceil(len * 16000 / rate) samples."""
    if rate == SAMPLE_RATE:
        return wav.astype(np.float32)
    length = math.ceil(len(wav) * (SAMPLE_RATE / rate))  # librosa's rounding, float ratio first
    out = soxr.resample(wav.astype(np.float32), rate, SAMPLE_RATE, quality=RESAMPLER)
    return np.pad(out[:length], (0, max(0, length - len(out)))).astype(np.float32)


def num_frames(num_samples: int) -> int:
    """Video frames at 25 fps covered by `num_samples` (a partial last frame is dropped)."""
    return num_samples // SAMPLES_PER_FRAME


def fit_to_frames(wav: np.ndarray, frames: int) -> np.ndarray:
    """Cut or zero-pad `wav` to exactly `frames` video frames of samples."""
    wanted = frames * SAMPLES_PER_FRAME
    return np.pad(wav[:wanted], (0, max(0, wanted - len(wav))))


def mel_filters() -> np.ndarray:
    """(80, N_FFT/2+1) mel filterbank: Slaney mel scale, area-normalised (librosa's default)."""
    def hz_to_mel(hz: np.ndarray) -> np.ndarray:
        # Slaney: linear below 1 kHz (3 mels per 200 Hz), logarithmic above
        hz = np.asarray(hz, dtype=np.float64)
        log_part = 15 + np.log(np.maximum(hz, 1000) / 1000) / (np.log(6.4) / 27)
        return np.where(hz >= 1000, log_part, hz * 3 / 200)

    def mel_to_hz(mel: np.ndarray) -> np.ndarray:
        return np.where(mel >= 15, 1000 * np.exp((np.log(6.4) / 27) * (mel - 15)), mel * 200 / 3)

    edges = mel_to_hz(np.linspace(hz_to_mel(FMIN), hz_to_mel(FMAX), N_MELS + 2))
    bins = np.linspace(0, SAMPLE_RATE / 2, N_FFT // 2 + 1)
    widths = np.diff(edges)
    distance = edges[:, None] - bins[None, :]
    rising = -distance[:-2] / widths[:-1, None]
    falling = distance[2:] / widths[1:, None]
    weights = np.maximum(0, np.minimum(rising, falling))
    weights *= (2 / (edges[2:] - edges[:-2]))[:, None]
    return weights.astype(np.float32)


def stft_magnitude(wav: np.ndarray) -> np.ndarray:
    """|STFT| (N_FFT/2+1, 1 + len/HOP): periodic Hann window, centred frames, zero padding."""
    # float64: the dB scale magnifies the rounding of quiet bins
    padded = np.pad(wav.astype(np.float64), N_FFT // 2)
    count = 1 + (len(padded) - N_FFT) // HOP
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP][:count]
    import scipy.signal  # deferred: see melspectrogram

    window = scipy.signal.get_window("hann", WIN, fftbins=True)
    return np.abs(np.fft.rfft(frames * window, axis=1)).T


def melspectrogram(wav: np.ndarray) -> np.ndarray:
    """SadTalker's normalised log-mel spectrogram (80, 1 + len/HOP), values in [-4, 4]."""
    import scipy.signal  # deferred: a fifth of a render pod's imports, which never filter audio

    emphasised = scipy.signal.lfilter([1, -PREEMPHASIS], [1], wav)
    mel = mel_filters().astype(np.float64) @ stft_magnitude(emphasised)
    db = 20 * np.log10(np.maximum(10 ** (MIN_LEVEL_DB / 20), mel)) - REF_LEVEL_DB
    scaled = 2 * MAX_ABS * (db - MIN_LEVEL_DB) / -MIN_LEVEL_DB - MAX_ABS
    return np.clip(scaled, -MAX_ABS, MAX_ABS).astype(np.float32)


def window_starts(frames: int) -> np.ndarray:
    """First mel frame of each video frame's window: int(80 * (i - 2) / 25), truncated toward 0."""
    i = np.arange(frames, dtype=np.float64)
    return np.trunc(MEL_FRAMES_PER_SECOND * (i - WINDOW_LEAD_FRAMES) / FPS).astype(np.int64)


def mel_windows(mel: np.ndarray, frames: int) -> np.ndarray:
    """(frames, 80, 16) float32: per video frame, 16 mel frames with indices clamped to the clip."""
    index = window_starts(frames)[:, None] + np.arange(MEL_WINDOW)[None, :]
    index = np.clip(index, 0, mel.shape[1] - 1)
    return np.ascontiguousarray(mel[:, index].transpose(1, 0, 2), dtype=np.float32)


@dataclass
class AudioFeatures:
    """What the coefficient stage needs of the speech: one mel window per video frame."""

    windows: np.ndarray  # (num_frames, 80, 16) float32
    num_samples: int  # 16 kHz samples of the decoded clip before cutting to whole frames

    @property
    def num_frames(self) -> int:
        return len(self.windows)

    @classmethod
    def from_wav(cls, wav: np.ndarray) -> AudioFeatures:
        """Cut the 16 kHz clip to whole frames and compute the windows."""
        frames = num_frames(len(wav))
        return cls(mel_windows(melspectrogram(fit_to_frames(wav, frames)), frames), len(wav))

    @classmethod
    def from_file(cls, path: str | os.PathLike[str],
                  max_seconds: float = MAX_AUDIO_SECONDS) -> AudioFeatures:
        """Decode `path` and compute the windows."""
        return cls.from_wav(load_audio(path, max_seconds))

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write to one .npz, the format passed between tasks."""
        return save_arrays(path, windows=self.windows, num_samples=np.int64(self.num_samples))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> AudioFeatures:
        """Read what `save` wrote."""
        data = load_arrays(path)
        return cls(data["windows"], int(data["num_samples"]))
