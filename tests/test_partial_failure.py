"""Partial failure: a render that dies mid-chunk leaves nothing that looks finished, and the
retried chunk is byte-identical to an uninterrupted one. The failure is injected (the renderer
raises after its first batch, as a lost pod or OOM would); everything else runs for real."""

from __future__ import annotations

from pathlib import Path

import pytest

from sadtalker import pipeline
from sadtalker.chunks import Chunk
from sadtalker.face.prepare import prepare_face
from sadtalker.options import GenerateOptions
from sadtalker.render.renderer import Renderer
from sadtalker.testing.example_inputs import speak

OPTIONS = GenerateOptions(batch_size=1, seed=5)  # a frame per batch: frames cost seconds each


class PodLost(RuntimeError):
    """Stands in for whatever kills a render mid-way."""


def fail_after(batches: int, render_batches):
    """`Renderer.batches` that raises instead of yielding batch number `batches + 1` (counted
    over all its calls)."""
    count = 0

    def flaky(*args, **kwargs):
        nonlocal count
        for images in render_batches(*args, **kwargs):
            count += 1
            if count > batches:
                raise PodLost(f"render batch {count}")
            yield images

    return flaky


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """0.16 s of espeak-ng speech: 4 frames, 4 batches."""
    return speak("Hello there.", tmp_path_factory.mktemp("speech") / "speech.wav", 0.16)


def test_a_run_failing_mid_chunk_leaves_no_output_and_no_temp_files(
        tmp_path: Path, checkpoints: Path, example_inputs: dict[str, Path], speech: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    # chunks of 2 frames: chunk 0 is written whole, chunk 1 dies after its first batch
    monkeypatch.setattr(Renderer, "batches", fail_after(3, Renderer.batches))
    with pytest.raises(PodLost, match="render batch 4"):
        pipeline.generate(example_inputs["image"], speech, out_dir / "talking.mp4", OPTIONS,
                          checkpoints=checkpoints, landmarks=example_inputs["landmarks"],
                          chunk_frames=2)
    assert list(out_dir.iterdir()) == []  # no mp4, no segment, no temporary folder


def test_a_retried_chunk_equals_an_uninterrupted_one(
        tmp_path: Path, checkpoints: Path, example_inputs: dict[str, Path],
        speech: Path) -> None:
    features = pipeline.prepare_audio(speech)
    face = prepare_face(example_inputs["image"], OPTIONS.preprocess, OPTIONS.size, checkpoints,
                        example_inputs["landmarks"])
    coeffs = pipeline.make_coefficients(features, face, OPTIONS, checkpoints)
    context = pipeline.ChunkRenderer.load(example_inputs["image"], face, OPTIONS, checkpoints)
    chunk = Chunk(1, 2, 4)
    clean = pipeline.render_segment(context, coeffs, chunk, tmp_path / "clean.mp4")

    render = context.renderer.batches
    context.renderer.batches = fail_after(1, render)  # this pod dies after one batch
    segment = tmp_path / "segment-00001.mp4"
    with pytest.raises(PodLost):
        pipeline.render_segment(context, coeffs, chunk, segment)
    assert [p.name for p in tmp_path.iterdir()] == ["clean.mp4"]  # no partial segment

    context.renderer.batches = render  # the retry, in the same process as a local map runs it
    retried = pipeline.render_segment(context, coeffs, chunk, segment)
    assert retried.read_bytes() == clean.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clean.mp4", "segment-00001.mp4"]
