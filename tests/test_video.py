"""Lossless segments, deterministic stitching, probing and failures of sadtalker.video."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from skimage.data import astronaut

from sadtalker import video
from sadtalker.errors import SadTalkerError
from sadtalker.examples import speak

NUM_FRAMES = 30  # 1.2 s at 25 fps, shorter than the 2 s speech fixture


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2 s of espeak-ng speech (22.05 kHz mono wav)."""
    return speak("Hello, this is a test.", tmp_path_factory.mktemp("audio") / "speech.wav", 2.0)


@pytest.fixture(scope="module")
def frames() -> np.ndarray:
    """A moving 101x101 patch of the astronaut: odd sizes exercise the even-size padding."""
    face = astronaut()[100:201, 150:251]
    return np.stack([np.roll(face, 3 * i, axis=1) for i in range(NUM_FRAMES)])


def test_segment_round_trip_is_lossless(frames: np.ndarray, tmp_path: Path) -> None:
    path = video.write_segment(frames, tmp_path / "seg.mkv")
    decoded = video.read_frames(path)
    assert decoded.shape == frames.shape
    assert np.array_equal(decoded, frames)
    assert [p.name for p in tmp_path.iterdir()] == ["seg.mkv"]  # no temp file left behind


def test_stitch_is_byte_identical_whatever_the_split(frames: np.ndarray, speech_wav: Path,
                                                     tmp_path: Path) -> None:
    whole = [video.write_segment(frames, tmp_path / "whole.mkv")]
    split = [video.write_segment(frames[a:b], tmp_path / f"part{a}.mkv")
             for a, b in ((0, 7), (7, 20), (20, NUM_FRAMES))]
    one = video.stitch(whole, speech_wav, NUM_FRAMES, tmp_path / "one.mp4", comment="synthetic")
    three = video.stitch(split, speech_wav, NUM_FRAMES, tmp_path / "three.mp4", comment="synthetic")
    assert one.read_bytes() == three.read_bytes()


def test_stitched_video_decodes_to_the_asked_length(frames: np.ndarray, speech_wav: Path,
                                                    tmp_path: Path) -> None:
    segment = video.write_segment(frames, tmp_path / "seg.mkv")
    out = video.stitch([segment], speech_wav, NUM_FRAMES - 5, tmp_path / "out.mp4",
                       comment="made with synthetic weights")
    info = video.probe(out)
    assert (info.frames, info.fps, info.width, info.height) == (NUM_FRAMES - 5, 25.0, 102, 102)
    assert (info.video_codec, info.audio_codec) == ("h264", "aac")
    assert info.audio_seconds == pytest.approx((NUM_FRAMES - 5) / 25, abs=0.03)
    assert info.comment == "made with synthetic weights"
    data = out.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")  # faststart: playable while downloading
    decoded = video.read_frames(out)[:, :101, :101].astype(int)
    assert np.abs(decoded - frames[: NUM_FRAMES - 5]).mean() < 6  # only H.264's loss


def test_short_audio_is_padded_with_silence(frames: np.ndarray, tmp_path: Path,
                                            speech_wav: Path) -> None:
    segment = video.write_segment(frames, tmp_path / "seg.mkv")
    short = tmp_path / "short.wav"
    video._ffmpeg(["-i", str(speech_wav), "-t", "0.5", str(short)])
    info = video.probe(video.stitch([segment], short, NUM_FRAMES, tmp_path / "out.mp4"))
    assert info.audio_seconds == pytest.approx(NUM_FRAMES / 25, abs=0.03)
    assert info.comment is None


def test_failed_stitch_leaves_no_file(frames: np.ndarray, tmp_path: Path) -> None:
    segment = video.write_segment(frames, tmp_path / "seg.mkv")
    not_audio = tmp_path / "not_audio.wav"
    not_audio.write_text("this is not a wav file")
    out = tmp_path / "out.mp4"
    with pytest.raises(SadTalkerError, match=r"ffmpeg failed: .*Invalid data"):
        video.stitch([segment], not_audio, NUM_FRAMES, out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not_audio.wav", "seg.mkv"]


def test_bad_frames_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="uint8"):
        video.write_segment(np.zeros((2, 8, 8, 3), np.float32), tmp_path / "seg.mkv")
    assert not list(tmp_path.iterdir())


def test_unreadable_video_gives_ffmpegs_reason(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mkv"
    bad.write_text("not a video")
    with pytest.raises(video.VideoError, match=r"^ffmpeg failed: .*Invalid data[^\n]*$"):
        video.read_frames(bad)


def test_batches_stream_to_the_same_bytes_as_one_array(frames: np.ndarray,
                                                      tmp_path: Path) -> None:
    whole = video.write_segment(frames, tmp_path / "whole.mkv")
    streamed = video.write_segment((frames[a:a + 4] for a in range(0, NUM_FRAMES, 4)),
                                   tmp_path / "streamed.mkv")
    assert streamed.read_bytes() == whole.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["streamed.mkv", "whole.mkv"]


def test_a_failing_batch_source_stops_ffmpeg_and_leaves_nothing(
        frames: np.ndarray, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started = []
    popen = video.subprocess.Popen

    def recording_popen(command, *args, **kwargs):
        process = popen(command, *args, **kwargs)
        if "matroska" in command:  # the segment writer, not e.g. imageio's version probe
            started.append(process)
        return process

    monkeypatch.setattr(video.subprocess, "Popen", recording_popen)

    def batches():
        yield frames[:4]
        yield frames[4:8]
        raise RuntimeError("renderer died")

    with pytest.raises(RuntimeError, match="renderer died"):
        video.write_segment(batches(), tmp_path / "seg.mkv")
    assert not list(tmp_path.iterdir())  # neither the segment nor its temporary
    (process,) = started
    assert process.returncode == -9  # killed, not left waiting for more frames


def test_batches_of_another_size_are_refused(frames: np.ndarray, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"uint8 101x101 frames .* got \(2, 100, 101, 3\)"):
        video.write_segment(iter([frames[:2], frames[:2, :100]]), tmp_path / "seg.mkv")
    with pytest.raises(ValueError, match="at least one batch"):
        video.write_segment(iter([]), tmp_path / "seg.mkv")
    assert not list(tmp_path.iterdir())


def test_ffmpeg_failing_mid_stream_is_a_one_line_error(frames: np.ndarray,
                                                       tmp_path: Path) -> None:
    blocked = tmp_path / "no-such-dir" / "seg.mkv"  # ffmpeg cannot open its output
    with pytest.raises(video.VideoError, match=r"^ffmpeg failed: [^\n]*$"):
        video.write_segment((frames[a:a + 2] for a in range(0, NUM_FRAMES, 2)), blocked)
    assert not list(tmp_path.iterdir())
