"""Video files: per-chunk segments in the final codec, and a stitch that only concatenates.

Each chunk's frames are encoded once, on the pod that renders them, to the final video's codec
(H.264 crf 18, yuv420p, BT.709; an mp4 without audio). `stitch` joins the segments with
ffmpeg's concat demuxer without re-encoding and muxes the speech, so its cost is copying bytes,
bounded by the clip's size instead of x264 on one CPU (README, "Performance and cost").

Frame-exact: a segment holds exactly its chunk's frames, starts with a keyframe and has no
B-frames, so decode order is display order and every boundary joins at the exact timestamp;
the stitched video holds the segments' frames in order, and `stitch` refuses a frame count
other than the one asked. Each segment is deterministic (fixed x264 thread count, bitexact
muxing, no dates): the same frames give the same bytes on any machine, so the same chunking
gives the same mp4. Another chunking puts keyframes elsewhere: the same frames, count and
audio, not the same bytes.
All files appear atomically: written under a temporary name in the target directory, renamed
when complete. The ffmpeg binary is the one bundled with imageio-ffmpeg.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import subprocess
import tempfile
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg
import numpy as np

from sadtalker.errors import SadTalkerError

FPS = 25  # SadTalker renders and muxes at 25 frames per second
# x264's output depends on its thread count; fixing it keeps a segment identical across machines.
X264_THREADS = 4
X264_CRF = 18  # visually lossless for talking heads; SadTalker's imageio default is crf 25
AUDIO_BITRATE = "128k"
# RGB -> YUV with the BT.709 matrix, and the file says so: untagged video is guessed at
# (BT.601 or 709 depending on the player and size), which shifts colours. yuv420p needs even
# sizes: odd ones get one black row/column.
TO_YUV = ("pad=ceil(iw/2)*2:ceil(ih/2)*2,scale=out_color_matrix=bt709:out_range=tv,"
          "setparams=colorspace=bt709:color_primaries=bt709:color_trc=bt709:range=tv")
# No B-frames: with them a segment's timestamps start before zero by the reorder delay, which
# differs between segments (none for a one-frame segment), and the copied joins misplace frames.
SEGMENT_CODEC = ["-vf", TO_YUV, "-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", str(X264_CRF),
                 "-bf", "0", "-threads", str(X264_THREADS)]
BITEXACT = ["-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact"]
# The mp4's comment when the weights were synthetic, so that such a video is never taken for
# a real SadTalker output.
SYNTHETIC_COMMENT = "made with SYNTHETIC (random) weights: not a real SadTalker output"


class VideoError(SadTalkerError):
    """ffmpeg failed to read or write a video; the message ends with ffmpeg's own reason."""


@dataclass(frozen=True)
class VideoInfo:
    """What a video file holds, as decoded by ffmpeg (for tests and sanity checks)."""

    frames: int
    fps: float
    width: int
    height: int
    video_codec: str
    audio_codec: str | None
    audio_seconds: float | None
    comment: str | None


def _failure(returncode: int, stderr: str) -> VideoError:
    """ffmpeg's exit as a one-line VideoError: its last stderr line, else the exit status."""
    lines = stderr.strip().splitlines()
    return VideoError(f"ffmpeg failed: {lines[-1] if lines else f'exit {returncode}'}")


def _command(args: list[str]) -> list[str]:
    return [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-hide_banner", "-y", *args]


def _ffmpeg(args: list[str], stdin: bytes | None = None) -> tuple[bytes, str]:
    """Run the bundled ffmpeg: (stdout, stderr); VideoError with its last stderr line on failure."""
    result = subprocess.run(_command(args), input=stdin, capture_output=True, check=False)
    stderr = result.stderr.decode(errors="replace")
    if result.returncode != 0:
        raise _failure(result.returncode, stderr)
    return result.stdout, stderr


def _temporary_sibling(path: Path) -> Path:
    """A unique hidden name beside `path`, so the final rename stays on one file system."""
    return path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")


def _check_frames(frames: np.ndarray, size: tuple[int, int] | None = None) -> None:
    """(N, H, W, 3) uint8 with N > 0, and (H, W) == size when given (later batches)."""
    if (not isinstance(frames, np.ndarray) or frames.ndim != 4 or frames.shape[-1] != 3
            or frames.dtype != np.uint8 or not len(frames)
            or (size is not None and frames.shape[1:3] != size)):
        shape = getattr(frames, "shape", type(frames).__name__)
        expected = f"{size[0]}x{size[1]} " if size is not None else ""
        raise ValueError(f"expected (N, H, W, 3) uint8 {expected}frames with N > 0, got "
                         f"{shape} {getattr(frames, 'dtype', '')}".rstrip())


def write_segment(frames: np.ndarray | Iterable[np.ndarray], path: str | os.PathLike[str],
                  fps: int = FPS) -> Path:
    """Encode RGB frames to `path` in the final video's codec (H.264 mp4, no audio), atomically.

    `frames` is one (N, H, W, 3) uint8 array or an iterable of such batches (same H, W), fed
    to ffmpeg one batch at a time: memory is bounded by a batch, not by the segment's length.
    The file is the same byte for byte however the frames are batched; it starts with a
    keyframe, so it joins any other segment without re-encoding. If ffmpeg or the
    iterable fails, ffmpeg is stopped, no file appears at `path` and the temporary is removed.
    """
    batches = iter((frames,) if isinstance(frames, np.ndarray) else frames)
    first = next(batches, None)
    if first is None:
        raise ValueError("expected at least one batch of frames, got none")
    _check_frames(first)
    path = Path(path)
    size = first.shape[1:3]
    tmp = _temporary_sibling(path)
    command = _command(["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{size[1]}x{size[0]}",
                        "-framerate", str(fps), "-i", "-", *SEGMENT_CODEC, *BITEXACT,
                        "-map_metadata", "-1", "-f", "mp4", str(tmp)])
    # stderr goes to a file: a pipe nobody reads while stdin is written could fill and stall
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                   stderr=log)
        try:
            try:
                for batch in itertools.chain((first,), batches):
                    _check_frames(batch, size)
                    process.stdin.write(np.ascontiguousarray(batch).data)
                process.stdin.close()
            except BrokenPipeError:
                pass  # ffmpeg stopped reading: its exit status and log say why
            if process.wait() != 0:
                log.seek(0)
                raise _failure(process.returncode, log.read().decode(errors="replace"))
            os.replace(tmp, path)
        finally:
            if process.poll() is None:  # the frames failed: stop ffmpeg, do not wait it out
                process.kill()
            with contextlib.suppress(BrokenPipeError):  # buffered bytes ffmpeg will not read
                process.stdin.close()
            process.wait()
            tmp.unlink(missing_ok=True)
    return path


def read_frames(path: str | os.PathLike[str]) -> np.ndarray:
    """Decode every frame of a video to an (N, H, W, 3) uint8 RGB array."""
    path = Path(path)
    if not path.is_file():
        raise VideoError(f"no video at {path}")
    pixels, log = _ffmpeg(["-i", str(path), "-map", "0:v:0", "-f", "rawvideo",
                           "-pix_fmt", "rgb24", "-"])
    # the size ffmpeg wrote (after any rotation), from its summary of the output stream
    size = re.search(r"Output #0.*?Video: rawvideo.*?, (\d+)x(\d+)", log, re.DOTALL)
    if size is None:
        raise VideoError(f"cannot tell the frame size of {path}")
    w, h = int(size.group(1)), int(size.group(2))
    return np.frombuffer(pixels, np.uint8).reshape(-1, h, w, 3)


def _concat_list(segments: list[Path], directory: Path) -> Path:
    """An ffconcat file naming the segments in order (quotes escaped the way ffmpeg reads them)."""
    listing = directory / "segments.ffconcat"
    lines = ["ffconcat version 1.0"]
    for segment in segments:
        quoted = str(Path(segment).resolve()).replace("'", "'\\''")
        lines.append(f"file '{quoted}'")
    listing.write_text("\n".join(lines) + "\n")
    return listing


def frame_times(path: str | os.PathLike[str]) -> list[float]:
    """Presentation time in seconds of each video frame, in stream order, read from the
    packets (nothing is decoded): a file's frame count, and whether its frames are evenly spaced."""
    listing, _ = _ffmpeg(["-i", str(path), "-map", "0:v:0", "-c", "copy", "-f", "framecrc", "-"])
    lines = listing.decode().splitlines()
    base = next((re.fullmatch(r"#tb 0: (\d+)/(\d+)", line) for line in lines
                 if line.startswith("#tb 0:")), None)
    if base is None:
        raise VideoError(f"cannot tell the time base of {path}")
    num, den = int(base.group(1)), int(base.group(2))
    # packet lines: stream, dts, pts, duration, size, checksum
    return [int(line.split(",")[2]) * num / den for line in lines if not line.startswith("#")]


def stitch(segments: list[Path], audio: str | os.PathLike[str], num_frames: int,
           out: str | os.PathLike[str], fps: int = FPS, synthetic: bool = False) -> Path:
    """Join segments in order without re-encoding and mux the speech, atomically.

    Video: the segments' frames copied as they are; together they must hold exactly
    `num_frames` (VideoError otherwise, and no file). Audio: AAC, cut (or padded with silence)
    to exactly num_frames / fps seconds. `synthetic`: the metadata says SYNTHETIC_COMMENT.
    """
    if not segments:
        raise ValueError("stitch needs at least one segment")
    if num_frames <= 0:
        raise ValueError(f"num_frames must be positive, got {num_frames}")
    out = Path(out)
    tmp = _temporary_sibling(out)
    seconds = num_frames / fps
    metadata = ["-metadata", f"comment={SYNTHETIC_COMMENT}"] if synthetic else []
    try:
        with tempfile.TemporaryDirectory(prefix="sadtalker-stitch-") as work:
            listing = _concat_list(segments, Path(work))
            _ffmpeg([
                "-f", "concat", "-safe", "0", "-i", str(listing), "-i", str(audio),
                "-map", "0:v:0", "-map", "1:a:0", "-map_metadata", "-1", *metadata,
                "-c:v", "copy",  # the audio alone is cut: a surplus frame must reach the check
                "-af", f"apad,atrim=end={seconds:.6f}", "-c:a", "aac", "-b:a", AUDIO_BITRATE,
                *BITEXACT, "-movflags", "+faststart", "-f", "mp4", str(tmp),
            ])
        frames = len(frame_times(tmp))
        if frames != num_frames:
            raise VideoError(f"the segments hold {frames} frames, expected {num_frames}")
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def _stream_field(pattern: str, text: str) -> str | None:
    match = re.search(pattern, text, re.MULTILINE)
    return match.group(1) if match else None


def probe(path: str | os.PathLike[str]) -> VideoInfo:
    """Frame count, fps, size, codecs, audio duration and comment of a video, by decoding it."""
    path = Path(path)
    if not path.is_file():
        raise VideoError(f"no video at {path}")
    # `ffmpeg -i` alone "fails" (no output given) but prints the stream summary first
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-hide_banner", "-i", str(path)]
    header = subprocess.run(command, capture_output=True, check=False).stderr.decode(
        errors="replace")
    video = re.search(r"Stream #\S+: Video: (\w+).*?, (\d+)x(\d+).*?, ([\d.]+) fps", header)
    if video is None:
        raise VideoError(f"{path} has no video stream")
    audio_codec = _stream_field(r"Stream #\S+: Audio: (\w+)", header)
    audio_seconds = None
    if audio_codec is not None:
        samples, _ = _ffmpeg(["-i", str(path), "-map", "0:a:0", "-ac", "1", "-f", "f32le", "-"])
        sample_rate = int(_stream_field(r"Audio: .*?, (\d+) Hz", header) or 0)
        audio_seconds = len(samples) / 4 / sample_rate
    return VideoInfo(
        frames=len(frame_times(path)), fps=float(video.group(4)), width=int(video.group(2)),
        height=int(video.group(3)), video_codec=video.group(1), audio_codec=audio_codec,
        audio_seconds=audio_seconds,
        comment=_stream_field(r"^\s+comment\s+: (.*)$", header),
    )
