"""Segments in the final codec, frame-exact stitching, probing and failures of sadtalker.video."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from skimage.data import astronaut

from sadtalker import video
from sadtalker.errors import SadTalkerError
from sadtalker.testing.example_inputs import speak

NUM_FRAMES = 30  # 1.2 s at 25 fps, shorter than the 2 s speech fixture
BITS, BLOCK = 5, 16  # each frame's index in binary, one 16 px black or white block per bit
SPLIT = (0, 7, 8, 20, NUM_FRAMES)  # uneven segments, one of a single frame


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2 s of espeak-ng speech (22.05 kHz mono wav)."""
    return speak("Hello, this is a test.", tmp_path_factory.mktemp("audio") / "speech.wav", 2.0)


@pytest.fixture(scope="module")
def frames() -> np.ndarray:
    """A moving 101x101 patch of the astronaut (odd sizes exercise the even-size padding),
    each frame's index written in its top row of blocks so a decoded video tells its order."""
    face = astronaut()[100:201, 150:251]
    frames = np.stack([np.roll(face, 3 * i, axis=1) for i in range(NUM_FRAMES)])
    for i, frame in enumerate(frames):
        for bit in range(BITS):
            frame[:BLOCK, bit * BLOCK:(bit + 1) * BLOCK] = 255 * (i >> bit & 1)
    return frames


def frame_indices(decoded: np.ndarray) -> list[int]:
    """The index each decoded frame carries (read at the centre of its blocks)."""
    centre = decoded[:, BLOCK // 2, BLOCK // 2::BLOCK][:, :BITS].mean(axis=-1) > 128
    return [int(sum(int(on) << bit for bit, on in enumerate(row))) for row in centre]


def keyframes(path: Path) -> list[int]:
    """Positions of the keyframes in a video (ffmpeg's framecrc flags the others F=0x0)."""
    listing, _ = video._ffmpeg(["-i", str(path), "-map", "0:v:0", "-c", "copy", "-f",
                                "framecrc", "-"])
    packets = [line for line in listing.decode().splitlines() if not line.startswith("#")]
    return [i for i, line in enumerate(packets) if "F=" not in line]


def write_split(frames: np.ndarray, directory: Path, split: tuple[int, ...]) -> list[Path]:
    return [video.write_segment(frames[a:b], directory / f"part{a:02d}.mp4")
            for a, b in itertools.pairwise(split)]


def test_segment_is_the_final_codec_starting_with_a_keyframe(frames: np.ndarray,
                                                             tmp_path: Path) -> None:
    path = video.write_segment(frames, tmp_path / "seg.mp4")
    info = video.probe(path)
    assert (info.frames, info.fps, info.width, info.height) == (NUM_FRAMES, 25.0, 102, 102)
    assert (info.video_codec, info.audio_codec) == ("h264", None)
    assert keyframes(path)[0] == 0
    decoded = video.read_frames(path)
    assert frame_indices(decoded) == list(range(NUM_FRAMES))
    assert np.abs(decoded[:, :101, :101].astype(int) - frames).mean() < 6  # only H.264's loss
    assert [p.name for p in tmp_path.iterdir()] == ["seg.mp4"]  # no temp file left behind


def test_stitch_keeps_every_frame_in_order_at_exact_times(frames: np.ndarray, speech_wav: Path,
                                                          tmp_path: Path) -> None:
    out = video.stitch(write_split(frames, tmp_path, SPLIT), speech_wav, NUM_FRAMES,
                       tmp_path / "out.mp4")
    assert video.frame_times(out) == [i / 25 for i in range(NUM_FRAMES)]
    assert frame_indices(video.read_frames(out)) == list(range(NUM_FRAMES))
    assert keyframes(out) == list(SPLIT[:-1])  # copied, not re-encoded: one per segment
    assert video.probe(out).audio_seconds == pytest.approx(NUM_FRAMES / 25, abs=0.03)


def test_same_split_same_bytes_another_split_same_frames(frames: np.ndarray, speech_wav: Path,
                                                         tmp_path: Path) -> None:
    """Each segment is deterministic, so a chunking gives one mp4; another chunking moves the
    keyframes, so its bytes (and H.264's loss) differ but not the frames' count and order."""
    runs = []
    for name, split in (("a", SPLIT), ("b", SPLIT), ("c", (0, NUM_FRAMES))):
        (tmp_path / name).mkdir()
        runs.append(video.stitch(write_split(frames, tmp_path / name, split), speech_wav,
                                 NUM_FRAMES, tmp_path / name / "out.mp4", synthetic=True))
    first, again, whole = runs
    assert again.read_bytes() == first.read_bytes()
    assert whole.read_bytes() != first.read_bytes()
    assert video.frame_times(whole) == video.frame_times(first)
    decoded, other = video.read_frames(first).astype(int), video.read_frames(whole)
    assert frame_indices(other) == list(range(NUM_FRAMES))
    assert np.abs(decoded - other).mean() < 3
    assert video.probe(whole).audio_seconds == video.probe(first).audio_seconds


def test_stitched_video_is_browser_playable(frames: np.ndarray, speech_wav: Path,
                                            tmp_path: Path) -> None:
    segment = video.write_segment(frames, tmp_path / "seg.mp4")
    out = video.stitch([segment], speech_wav, NUM_FRAMES, tmp_path / "out.mp4", synthetic=True)
    info = video.probe(out)
    assert (info.frames, info.fps, info.width, info.height) == (NUM_FRAMES, 25.0, 102, 102)
    assert (info.video_codec, info.audio_codec) == ("h264", "aac")
    assert info.audio_seconds == pytest.approx(NUM_FRAMES / 25, abs=0.03)
    assert info.comment == video.SYNTHETIC_COMMENT
    data = out.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")  # faststart: playable while downloading
    assert np.array_equal(video.read_frames(out), video.read_frames(segment))  # copied


def test_a_frame_count_other_than_asked_is_refused(frames: np.ndarray, speech_wav: Path,
                                                   tmp_path: Path) -> None:
    segment = video.write_segment(frames, tmp_path / "seg.mp4")
    for asked in (NUM_FRAMES - 5, NUM_FRAMES + 1):
        with pytest.raises(video.VideoError,
                           match=f"^the segments hold {NUM_FRAMES} frames, expected {asked}$"):
            video.stitch([segment], speech_wav, asked, tmp_path / "out.mp4")
    assert [p.name for p in tmp_path.iterdir()] == ["seg.mp4"]


def test_short_audio_is_padded_with_silence(frames: np.ndarray, tmp_path: Path,
                                            speech_wav: Path) -> None:
    segment = video.write_segment(frames, tmp_path / "seg.mp4")
    short = tmp_path / "short.wav"
    video._ffmpeg(["-i", str(speech_wav), "-t", "0.5", str(short)])
    info = video.probe(video.stitch([segment], short, NUM_FRAMES, tmp_path / "out.mp4"))
    assert info.audio_seconds == pytest.approx(NUM_FRAMES / 25, abs=0.03)
    assert info.comment is None


def test_failed_stitch_leaves_no_file(frames: np.ndarray, tmp_path: Path) -> None:
    segment = video.write_segment(frames, tmp_path / "seg.mp4")
    not_audio = tmp_path / "not_audio.wav"
    not_audio.write_text("this is not a wav file")
    out = tmp_path / "out.mp4"
    with pytest.raises(SadTalkerError, match=r"ffmpeg failed: .*Invalid data"):
        video.stitch([segment], not_audio, NUM_FRAMES, out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not_audio.wav", "seg.mp4"]


def test_bad_frames_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="uint8"):
        video.write_segment(np.zeros((2, 8, 8, 3), np.float32), tmp_path / "seg.mp4")
    assert not list(tmp_path.iterdir())


def test_unreadable_video_gives_ffmpegs_reason(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_text("not a video")
    with pytest.raises(video.VideoError, match=r"^ffmpeg failed: .*Invalid data[^\n]*$"):
        video.read_frames(bad)


def test_batches_stream_to_the_same_bytes_as_one_array(frames: np.ndarray,
                                                      tmp_path: Path) -> None:
    whole = video.write_segment(frames, tmp_path / "whole.mp4")
    streamed = video.write_segment((frames[a:a + 4] for a in range(0, NUM_FRAMES, 4)),
                                   tmp_path / "streamed.mp4")
    assert streamed.read_bytes() == whole.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["streamed.mp4", "whole.mp4"]


def test_a_failing_batch_source_stops_ffmpeg_and_leaves_nothing(
        frames: np.ndarray, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started = []
    popen = video.subprocess.Popen

    def recording_popen(command, *args, **kwargs):
        process = popen(command, *args, **kwargs)
        if "libx264" in command:  # the segment writer, not e.g. imageio's version probe
            started.append(process)
        return process

    monkeypatch.setattr(video.subprocess, "Popen", recording_popen)

    def batches():
        yield frames[:4]
        yield frames[4:8]
        raise RuntimeError("renderer died")

    with pytest.raises(RuntimeError, match="renderer died"):
        video.write_segment(batches(), tmp_path / "seg.mp4")
    assert not list(tmp_path.iterdir())  # neither the segment nor its temporary
    (process,) = started
    assert process.returncode == -9  # killed, not left waiting for more frames


def test_batches_of_another_size_are_refused(frames: np.ndarray, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"uint8 101x101 frames .* got \(2, 100, 101, 3\)"):
        video.write_segment(iter([frames[:2], frames[:2, :100]]), tmp_path / "seg.mp4")
    with pytest.raises(ValueError, match="at least one batch"):
        video.write_segment(iter([]), tmp_path / "seg.mp4")
    assert not list(tmp_path.iterdir())


def test_ffmpeg_failing_mid_stream_is_a_one_line_error(frames: np.ndarray,
                                                       tmp_path: Path) -> None:
    blocked = tmp_path / "no-such-dir" / "seg.mp4"  # ffmpeg cannot open its output
    with pytest.raises(video.VideoError, match=r"^ffmpeg failed: [^\n]*$"):
        video.write_segment((frames[a:a + 2] for a in range(0, NUM_FRAMES, 2)), blocked)
    assert not list(tmp_path.iterdir())
