"""The workflows run as a cluster runs them: every node a pod-like process on packaged code.

The package is made with `--copy auto`, the code shipping of `pyflyte run --remote` (only the
modules loaded at registration); the pods' interpreter has the dependencies but not the
project, and no `SADTALKER_*` variable reaches them. tests/flyte_pod.py says what is emulated.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from flyte_pod import (
    Package,
    PodFailure,
    PodMode,
    ingest_inputs,
    literals,
    package,
    pod_python,
    python_value,
    registration_env,
    timing_table,
    tracked_files,
)
from flytekit.types.file import FlyteFile

from sadtalker import video
from sadtalker.cpu import AVX2_EMULATION, CpuClass
from sadtalker.testing.example_inputs import write_example_inputs
from tasks.types import RenderedChunk

REPO = Path(__file__).resolve().parent.parent
IMAGE = "ghcr.io/acme/sadtalker-flyte:1"
SECONDS = 0.16  # 4 frames at 25 fps: each costs seconds
FRAMES = 4
TALKING_HEAD = "workflows.talking_head.talking_head"
BATCH = "workflows.batch.talking_head_batch"


pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> Package:
    return package(REPO, tmp_path_factory.mktemp("registration"), IMAGE, "auto",
                   registration_env())


@pytest.fixture(scope="module")
def pod_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return pod_python(tmp_path_factory.mktemp("pod-python"))


def test_the_pods_python_has_the_dependencies_but_not_the_project(pod_bin: Path) -> None:
    check = "import flytekit, torch\ntry:\n import sadtalker\nexcept ImportError:\n print('no')"
    done = subprocess.run([str(pod_bin / "python"), "-c", check], cwd="/", capture_output=True,
                          text=True, check=True)
    assert done.stdout.strip() == "no"


def test_the_shipped_code_is_the_whole_project(packaged: Package) -> None:
    modules = {p for p in tracked_files(REPO, "sadtalker", "tasks", "workflows")
               if p.endswith(".py") and not p.endswith("__main__.py")}
    assert modules - packaged.archived_files() == set()


def test_talking_head_runs_node_by_node_as_pods_on_mixed_nodes(
        packaged: Package, pod_bin: Path, tmp_path: Path, checkpoints: Path) -> None:
    """The render pods land on AVX2 nodes, as the launch declares, the others on this
    machine's: `auto` is decided by each render pod for its own node, never by a pod elsewhere
    (bf16 would be refused there)."""
    from workflows.talking_head import talking_head

    inputs = write_example_inputs(tmp_path / "inputs", seconds=SECONDS)
    pods = PodMode(packaged, tmp_path / "store", pod_bin,
                   node_env={"tasks.render_chunk": AVX2_EMULATION})
    outputs = pods.run_launch_plan(TALKING_HEAD, literals(talking_head.python_interface.inputs, {
        "image": FlyteFile(str(inputs["image"])), "audio": FlyteFile(str(inputs["audio"])),
        "landmarks": FlyteFile(str(inputs["landmarks"])), "chunks": 2, "min_chunk_frames": 2,
        "render_cpu": CpuClass.AVX2, "checkpoints": str(checkpoints)}))

    mp4 = Path(outputs["video"].scalar.blob.uri)
    info = video.probe(mp4)
    assert (info.frames, info.fps) == (FRAMES, 25.0)
    assert info.audio_seconds == pytest.approx(SECONDS, abs=0.03)
    print(timing_table(pods.runs))
    ran = [run.node.rsplit("/", 1)[1] for run in pods.runs]
    assert ran == ["n0", "n1", "n2", "n3", "n4", "n5-0", "n5-1", "n6"]  # chunks [0, 2), [2, 4)
    for index, frames in enumerate((2, 2)):  # what each render pod reports to the deck
        element = f"{TALKING_HEAD}/n5-{index}"
        (chunk,) = pods.outputs(element).values()
        assert python_value(chunk, RenderedChunk).time.ran_on == "avx2, winograd"
        (run,) = [run for run in pods.runs if run.node == element]  # and logs as it works
        assert f"render_chunk[{index}]: ready after " in run.log
        assert "s (avx2, winograd); rendering frames" in run.log
        assert f"render_chunk[{index}]: {frames}/{frames} frames in " in run.log
    report = (pods.work_dir(f"{TALKING_HEAD}/n6") / "outputs" / "deck.html").read_text()
    assert report.count("<td>avx2, winograd</td>") == 2
    assert "render_cpu is" not in report  # no note: they ran where render_cpu said


def test_talking_head_batch_runs_each_clip_as_the_registered_launch_plan(
        packaged: Package, pod_bin: Path, tmp_path: Path, checkpoints: Path) -> None:
    from workflows.batch import talking_head_batch

    clips = {seconds: write_example_inputs(tmp_path / f"clip-{seconds}", seconds=seconds)
             for seconds in (0.08, SECONDS)}
    image = clips[SECONDS]["image"]
    pods = PodMode(packaged, tmp_path / "store", pod_bin)
    outputs = pods.run_launch_plan(BATCH, literals(talking_head_batch.python_interface.inputs, {
        "image": FlyteFile(str(image)), "landmarks": FlyteFile(str(clips[SECONDS]["landmarks"])),
        "audios": [FlyteFile(str(c["audio"])) for c in clips.values()],
        "chunks": 1, "render_cpu": CpuClass.AVX2, "checkpoints": str(checkpoints)}))

    videos = [video.probe(lit.scalar.blob.uri) for lit in outputs["videos"].collection.literals]
    assert [(v.frames, v.fps) for v in videos] == [(2, 25.0), (FRAMES, 25.0)]
    assert [v.audio_seconds for v in videos] == pytest.approx([0.08, SECONDS], abs=0.03)
    print(timing_table(pods.runs))
    ran = [run.node.split("/", 1)[1] for run in pods.runs]
    # the clips' nodes are those of the talking_head_clip plan, which is talking_head itself
    clip_nodes = ["n0", "n1", "n2", "n3", "n4", "n5-0", "n6"]
    assert ran == ["n0", *(f"n1-{i}/{n}" for i in range(2) for n in clip_nodes)]


def test_a_pod_without_weights_fails_its_first_task_at_once(
        packaged: Package, pod_bin: Path, tmp_path: Path, astronaut_png: Path,
        speech_wav: Path) -> None:
    from tasks.ingest import ingest

    values = ingest_inputs(image=FlyteFile(str(astronaut_png)),
                           audio=FlyteFile(str(speech_wav)), checkpoints=str(tmp_path / "empty"))
    pods = PodMode(packaged, tmp_path / "store", pod_bin)
    with pytest.raises(PodFailure) as failure:
        pods.run_task("tasks.ingest.ingest", literals(ingest.python_interface.inputs, values),
                      "ingest")
    assert failure.value.kind == "NON_RECOVERABLE"  # no retry spends a pod on it
    # flytekit puts the traceback first; the console's summary is the one line after it
    summary = failure.value.message.split("Message:", 1)[1].strip()
    assert summary.startswith("CheckpointError: 4 checkpoint file(s) missing in ")
    assert "\n" not in summary
    for name in ("SadTalker_V0.0.2_256.safetensors", "mapping_00229-model.pth.tar",
                 "s3fd-619a316812.pth", "2DFAN4-11f355bf06.pth.tar"):
        assert name in summary
    assert "(BAKE_WEIGHTS=1) or register with the weights volume mounted" in summary
