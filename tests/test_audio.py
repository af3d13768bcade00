"""The audio front end on real speech (espeak-ng), checked against librosa's primitives."""

from __future__ import annotations

import subprocess
from pathlib import Path

import imageio_ffmpeg
import librosa
import numpy as np
import pytest
import scipy.signal
import soundfile

from sadtalker import audio
from sadtalker.errors import AudioError
from sadtalker.testing.example_inputs import speak


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2.0 s of espeak-ng speech (22.05 kHz wav), made here rather than by the session fixture
    so that this module needs no portrait files."""
    return speak("Hello, this portrait speaks.", tmp_path_factory.mktemp("audio") / "speech.wav",
                 seconds=2.0)


def librosa_mel(wav: np.ndarray) -> np.ndarray:
    """SadTalker's mel written with librosa's own STFT and filterbank (zero-padded, centred)."""
    emphasised = scipy.signal.lfilter([1, -0.97], [1], wav)
    magnitude = np.abs(librosa.stft(emphasised, n_fft=800, hop_length=200, win_length=800,
                                    pad_mode="constant"))
    basis = librosa.filters.mel(sr=16000, n_fft=800, n_mels=80, fmin=55, fmax=7600)
    db = 20 * np.log10(np.maximum(1e-5, basis @ magnitude)) - 20
    return np.clip(8 * (db + 100) / 100 - 4, -4, 4)


def test_load_audio_resamples_speech_to_16k(speech_wav: Path) -> None:
    wav = audio.load_audio(speech_wav)
    assert wav.dtype == np.float32 and wav.ndim == 1
    assert len(wav) == 2 * audio.SAMPLE_RATE
    assert 0.05 < np.abs(wav).max() <= 1.0


@pytest.mark.parametrize("extension", ["mp3", "m4a", "flac", "ogg"])
def test_load_audio_reads_compressed_formats(speech_wav: Path, tmp_path: Path,
                                             extension: str) -> None:
    encoded = tmp_path / f"speech.{extension}"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(speech_wav),
                    str(encoded)], check=True)
    wav = audio.load_audio(encoded)
    # lossy codecs add a few ms of priming/padding
    assert abs(len(wav) - 2 * audio.SAMPLE_RATE) < 0.1 * audio.SAMPLE_RATE
    assert np.abs(wav).max() > 0.05


def test_melspectrogram_matches_librosa(speech_wav: Path) -> None:
    wav = audio.fit_to_frames(audio.load_audio(speech_wav), 50)
    mel = audio.melspectrogram(wav)
    assert mel.shape == (80, 1 + len(wav) // 200) == (80, 161)
    expected = librosa_mel(wav)
    assert np.abs(mel - expected).max() < 1e-5  # measured 1.6e-7 (librosa's float32 basis)
    assert mel.min() == -4 and mel.max() > 0  # real speech reaches well above the floor


def test_mel_filters_match_librosa_slaney() -> None:
    expected = librosa.filters.mel(sr=16000, n_fft=800, n_mels=80, fmin=55, fmax=7600)
    assert np.abs(audio.mel_filters() - expected).max() < 1e-7


def test_frames_cut_and_pad() -> None:
    assert audio.num_frames(1279) == 1 and audio.num_frames(1280) == 2
    wav = np.ones(1000, dtype=np.float32)
    np.testing.assert_array_equal(audio.fit_to_frames(wav, 1), wav[:640])
    padded = audio.fit_to_frames(wav, 2)
    assert len(padded) == 1280 and padded[999] == 1 and padded[1000:].sum() == 0


def test_window_starts_truncate_toward_zero() -> None:
    # int(80 * (i - 2) / 25): frame 0 starts 6 mel frames early, frame 1 three (not four)
    np.testing.assert_array_equal(audio.window_starts(7), [-6, -3, 0, 3, 6, 9, 12])


def test_mel_windows_clamp_at_both_edges() -> None:
    mel = np.tile(np.arange(20, dtype=np.float32), (80, 1))  # each column holds its index
    windows = audio.mel_windows(mel, 8)
    assert windows.shape == (8, 80, 16) and windows.dtype == np.float32
    np.testing.assert_array_equal(windows[0, 0], [0] * 7 + list(range(1, 10)))
    np.testing.assert_array_equal(windows[1, 0], [0] * 4 + list(range(1, 13)))
    np.testing.assert_array_equal(windows[7, 0], [16, 17, 18] + [19] * 13)  # start 16, clamped


def test_features_from_speech_round_trip(speech_wav: Path, tmp_path: Path) -> None:
    features = audio.AudioFeatures.from_file(speech_wav)
    assert features.windows.shape == (50, 80, 16) and features.num_frames == 50
    assert features.num_samples == 32000
    saved = features.save(tmp_path / "features")  # no suffix: the exact path is kept
    assert saved == tmp_path / "features" and saved.is_file()
    loaded = audio.AudioFeatures.load(saved)
    np.testing.assert_array_equal(loaded.windows, features.windows)
    assert loaded.num_samples == 32000


def test_silence_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "silence.wav"
    soundfile.write(path, np.zeros(16000, dtype=np.float32), 16000)
    features = audio.AudioFeatures.from_file(path)
    assert features.num_frames == 25 and (features.windows == -4).all()


def _wav(path: Path, samples: int) -> Path:
    soundfile.write(path, np.full(samples, 0.1, dtype=np.float32), 16000)
    return path


def _text(path: Path) -> Path:
    path.write_text("not audio")
    return path


@pytest.mark.parametrize(("make", "message"), [
    (lambda d: d / "missing.wav", "does not exist"),
    (lambda d: _text(d / "notes.wav"), "cannot decode"),
    (lambda d: _wav(d / "empty.wav", 0), "no audio samples"),
    (lambda d: _wav(d / "short.wav", 300), "at least 1 video frame of 40 ms"),
])
def test_bad_audio_raises_audio_error(tmp_path: Path, make, message: str) -> None:
    with pytest.raises(AudioError, match=message):
        audio.load_audio(make(tmp_path))


def test_too_long_audio_names_the_limit(speech_wav: Path) -> None:
    with pytest.raises(AudioError, match="longer than the 1.5 s limit.*raise"):
        audio.load_audio(speech_wav, max_seconds=1.5)


@pytest.mark.parametrize(("rate", "channels"), [(22050, 1), (44100, 1), (48000, 2)])
def test_windows_match_librosa_load_at_16k(speech_wav: Path, tmp_path: Path, rate: int,
                                           channels: int) -> None:
    """SadTalker loads speech with librosa.load(path, sr=16000): the windows computed from
    those samples are ours, whatever the file's rate and channels."""
    path = speech_wav
    if (rate, channels) != (22050, 1):  # espeak-ng speaks at 22.05 kHz mono
        path = tmp_path / f"speech-{rate}-{channels}.wav"
        subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(speech_wav),
                        "-ar", str(rate), "-ac", str(channels), str(path)], check=True)
    assert soundfile.info(path).samplerate == rate
    expected = audio.AudioFeatures.from_wav(librosa.load(path, sr=16000)[0])
    features = audio.AudioFeatures.from_file(path)
    assert features.num_samples == expected.num_samples
    assert np.abs(features.windows - expected.windows).max() < 1e-4


@pytest.mark.parametrize(("rate", "channels"), [(8000, 1), (48000, 2)])
def test_other_rates_and_stereo_become_the_same_16k_mono_speech(
        speech_wav: Path, tmp_path: Path, rate: int, channels: int) -> None:
    converted = tmp_path / f"speech-{rate}-{channels}.wav"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(speech_wav),
                    "-ar", str(rate), "-ac", str(channels), str(converted)], check=True)
    wav = audio.load_audio(converted)
    reference = audio.load_audio(speech_wav)
    assert wav.ndim == 1 and abs(len(wav) - len(reference)) <= audio.SAMPLE_RATE // 100
    mel, expected = (audio.melspectrogram(w[: len(reference)]) for w in (wav, reference))
    # 8 kHz loses everything above 4 kHz: compare the mel bands below it
    low = slice(0, 60)
    assert np.abs(mel[low] - expected[low]).mean() < 0.3
