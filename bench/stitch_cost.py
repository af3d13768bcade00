"""The stitch pod's cost for the longest clip the options allow: wall time, peak memory, disk.

Segments are synthesized as the render pods write them: the clip's frames split into the chunks
the workflow plans (`--chunks` pods, preprocess full, size 512, its chunk limits), each chunk
encoded by `sadtalker.video.write_segment` at the photo's size (full mode pastes back into the
photo). Frames are the astronaut photo (resized for other sizes) shifted sideways every frame,
plus uniform noise of +-`--noise` levels, so x264 has real motion and detail to code: harder
than a talking head, whose background is still. The speech is espeak-ng tiled to the clip's
length. Then the stitch (`video.stitch`, what the task runs) runs `--runs` times, each
in a fresh process like a pod, pinned to the CPUs the stitch task requests.

    python bench/stitch_cost.py [--seconds 600] [--sizes 512 1024] [--runs 3] [--chunks 4]
        [--noise 8] [--distinct 0] [--cpus 1] [--work DIR]

Prints the CPU's class and flags, the plan, the segments' encode time per frame (added to each
render pod's work), then per photo size the stitch's median wall time, the peak memory of its
process with its ffmpeg children (what the pod holds; sampled every 50 ms) and the peak disk of
the segments + output while it ran, with the bytes a pod downloads and uploads.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import logging
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Self

import cv2
import numpy as np
import soundfile
from skimage.data import astronaut

from sadtalker import cpu, video
from sadtalker.chunks import Chunk, plan_chunks
from sadtalker.cost import RenderCost
from sadtalker.options import MAX_AUDIO_SECONDS, GenerateOptions
from sadtalker.process_memory import peak_rss_bytes
from sadtalker.testing.example_inputs import speak

log = logging.getLogger("bench.stitch_cost")

MIB = 2**20
NOISE_FRAMES = 16  # distinct noise fields, cycled: more than x264's reference frames
SHIFT_PERIOD = 50  # the photo slides 1 px per frame over 50 px, then jumps back


def clip_frames(photo: np.ndarray, chunk: Chunk, batch_size: int, noise: list[np.ndarray]
                ) -> Iterator[np.ndarray]:
    """The chunk's synthetic frames, one render batch at a time (as the render pods stream)."""
    base = photo.astype(np.int16)
    for first in range(chunk.start, chunk.stop, batch_size):
        yield np.stack([
            np.clip(np.roll(base, i % SHIFT_PERIOD - SHIFT_PERIOD // 2, axis=1)
                    + noise[i % NOISE_FRAMES], 0, 255).astype(np.uint8)
            for i in range(first, min(first + batch_size, chunk.stop))])


def write_speech(path: Path, seconds: float) -> Path:
    """espeak-ng speech tiled to `seconds` (a 10 minute wav, as ingest would receive)."""
    speak("Hello, this is a long test of the stitching stage.", path)
    wav, rate = soundfile.read(path, dtype="float32")
    wanted = round(seconds * rate)
    soundfile.write(path, np.resize(wav, wanted), rate, subtype="PCM_16")
    return path


def directory_bytes(directory: Path) -> int:
    """Bytes of every file under `directory` (temporaries included)."""
    return sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())


def tree_rss_bytes(root: int) -> int:
    """Resident bytes of process `root` and all its descendants now (the pod's processes)."""
    parents, rss = {}, {}
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines())
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue  # exited while listed
        pid = int(status.parent.name)
        parents[pid] = int(fields["PPid"])
        rss[pid] = int(fields.get("VmRSS", "0 kB").split()[0]) * 1024
    tree, grew = {root}, True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= more
        grew = bool(more)
    return sum(rss.get(pid, 0) for pid in tree)


class Peaks:
    """The largest a directory's files and a process tree's memory get while a `with` block
    runs (sampled every 50 ms)."""

    def __init__(self, directory: Path, root: int) -> None:
        self.directory, self.root, self._done = directory, root, threading.Event()
        self.disk = self.memory = 0

    def _sample(self) -> None:
        while not self._done.wait(0.05):
            with contextlib.suppress(FileNotFoundError):  # a temporary renamed mid-listing
                self.disk = max(self.disk, directory_bytes(self.directory))
            self.memory = max(self.memory, tree_rss_bytes(self.root))

    def __enter__(self) -> Self:
        self.disk = directory_bytes(self.directory)
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()
        self.disk = max(self.disk, directory_bytes(self.directory))


def stitch_in_child(segments: Path, audio: Path, num_frames: int, out: Path, cpus: int) -> dict:
    """Child mode: the stitch task's call on the CPUs its pod requests (ffmpeg inherits the
    affinity); its wall time and this process's peak RSS."""
    os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:cpus])
    importlib.import_module("tasks.stitch")  # what the pod's process holds besides the stitch

    begin = time.perf_counter()
    video.stitch(sorted(segments.glob("*.mp4")), audio, num_frames, out)
    return {"seconds": time.perf_counter() - begin, "python_bytes": peak_rss_bytes()}


def cpu_seconds_of_children() -> float:
    """User + system CPU time of every child process waited for so far (and theirs)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure_stitch(work: Path, audio: Path, num_frames: int, cpus: int) -> dict:
    """One stitch in a fresh process, with its CPU time, the peak disk of `work` and the peak
    memory of the process and its ffmpeg children while it runs."""
    out_dir = work / "out"
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir()
    command = [sys.executable, __file__, "--child", str(work / "segments"), str(audio),
               str(num_frames), str(out_dir / "talking_head.mp4"), str(cpus)]
    cpu_before, begin = cpu_seconds_of_children(), time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    with Peaks(work, child.pid) as peaks:
        stdout, _ = child.communicate()
    wall = time.perf_counter() - begin
    if child.returncode:
        raise RuntimeError(f"the stitch process failed with exit status {child.returncode}")
    return {**json.loads(stdout.splitlines()[-1]), "process_seconds": wall,
            "cpu_seconds": cpu_seconds_of_children() - cpu_before,
            "disk_peak": peaks.disk, "tree_bytes": peaks.memory,
            "output_bytes": (out_dir / "talking_head.mp4").stat().st_size}


def bench_size(size: int, chunks: list[Chunk], batch_size: int, args: argparse.Namespace,
               audio: Path, work: Path) -> None:
    """Synthesize one photo size's segments, then time its stitches."""
    rng = np.random.default_rng(0)
    photo = astronaut() if size == 512 else cv2.resize(astronaut(), (size, size),
                                                        interpolation=cv2.INTER_CUBIC)
    noise = [rng.integers(-args.noise, args.noise + 1, photo.shape, dtype=np.int16)
             for _ in range(NOISE_FRAMES)]
    segments = work / "segments"
    segments.mkdir(parents=True)
    encoded: dict[tuple[int, int], Path] = {}  # (chunk index mod --distinct, frames): segment
    encode_seconds = encode_frames = 0
    for chunk in chunks:
        path = segments / f"segment-{chunk.index:05d}.mp4"
        key = (chunk.index % (args.distinct or len(chunks)), chunk.num_frames)
        if key in encoded:
            shutil.copyfile(encoded[key], path)
            continue
        begin = time.perf_counter()
        encoded[key] = video.write_segment(clip_frames(photo, chunk, batch_size, noise), path)
        encode_seconds += time.perf_counter() - begin
        encode_frames += chunk.num_frames
    num_frames = chunks[-1].stop
    encode = encode_seconds / encode_frames
    segment_bytes = directory_bytes(segments)
    log.info("%dx%d: %d segments (%d encoded, the others copies), %.0f MiB (%.1f kB/frame, "
             "%.2f Mb/s); segment encode %.4f s/frame (synthesis included)", size, size,
             len(chunks), len(encoded), segment_bytes / MIB,
             segment_bytes / num_frames / 1e3, segment_bytes * 8 / (num_frames / 25) / 1e6,
             encode)
    runs = [measure_stitch(work, audio, num_frames, args.cpus) for _ in range(args.runs)]
    info = video.probe(work / "out" / "talking_head.mp4")
    assert info.frames == num_frames and abs(info.audio_seconds - num_frames / 25) < 0.05
    wall = statistics.median(r["process_seconds"] for r in runs)
    log.info("%dx%d stitch on %d CPU(s): wall %.1f s median of %d (%s), of which the stitch "
             "call %.1f s (the rest: the process start and imports), %.1f CPU-seconds; peak "
             "RSS %.0f MiB (Python alone %.0f), peak disk %.0f MiB (segments %.0f + output "
             "%.0f); a pod downloads %.0f MiB of segments and uploads %.0f MiB", size, size, args.cpus, wall, len(runs),
             ", ".join(f"{r['process_seconds']:.1f}" for r in runs),
             statistics.median(r["seconds"] for r in runs),
             statistics.median(r["cpu_seconds"] for r in runs),
             max(r["tree_bytes"] for r in runs) / MIB,
             max(r["python_bytes"] for r in runs) / MIB,
             max(r["disk_peak"] for r in runs) / MIB, segment_bytes / MIB,
             runs[-1]["output_bytes"] / MIB, segment_bytes / MIB, runs[-1]["output_bytes"] / MIB)
    shutil.rmtree(work)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=MAX_AUDIO_SECONDS)
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 1024])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--chunks", type=int, help="render pods (the workflow's default)")
    parser.add_argument("--noise", type=int, default=8)
    parser.add_argument("--distinct", type=int, default=0,
                        help="encode only this many chunks' segments (and the last one's length) "
                             "and copy them for the rest: the stitch copies bytes, so the same "
                             "cost, in a fraction of the synthesis time; 0: encode every chunk")
    parser.add_argument("--work", type=Path, help="where segments go (default: a temp dir)")
    parser.add_argument("--cpus", type=int, help="CPUs the stitch runs on (the task's request)")
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)  # child mode
    args = parser.parse_args()
    if args.child:
        segments, audio, frames, out, cpus = args.child
        print(json.dumps(stitch_in_child(Path(segments), Path(audio), int(frames), Path(out),
                                         int(cpus))))
        return
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    from tasks.config import RENDER_TIMEOUT, STITCH_CPUS  # the child imports what the pod does
    from workflows.talking_head import DEFAULT_CHUNKS

    log.info("%s", cpu.describe())
    args.cpus = args.cpus or STITCH_CPUS
    options = GenerateOptions(preprocess="full", size=512)
    num_frames = round(args.seconds * 25)
    fewest, most = RenderCost.chunk_limits(options, RENDER_TIMEOUT.total_seconds())
    chunks = plan_chunks(num_frames, options.batch_size, args.chunks or DEFAULT_CHUNKS, fewest,
                         most)
    log.info("%.0f s clip: %d frames in %d chunks of %d-%d frames (full, 512, batch %d)",
             args.seconds, num_frames, len(chunks), min(c.num_frames for c in chunks),
             max(c.num_frames for c in chunks), options.batch_size)
    with tempfile.TemporaryDirectory(prefix="bench-stitch-", dir=args.work) as tmp:
        audio = write_speech(Path(tmp) / "speech.wav", args.seconds)
        log.info("speech: %.0f MiB of wav (downloaded by the pod too)", audio.stat().st_size / MIB)
        for size in args.sizes:
            bench_size(size, chunks, options.batch_size, args, audio, Path(tmp) / str(size))


if __name__ == "__main__":
    main()
