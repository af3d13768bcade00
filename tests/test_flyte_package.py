"""`pyflyte package` offline, then the protobufs a cluster would receive, field by field."""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from flyte_pod import SAFE_EXTRACT, checkout, registration_env
from flyteidl.admin import launch_plan_pb2, task_pb2, workflow_pb2
from flyteidl.core import execution_pb2, types_pb2

from sadtalker.cpu import CpuClass
from tasks.cache import AUDIO_CACHE_VERSION, FACE_CACHE_VERSION, PIPELINE_CACHE_VERSION
from tasks.config import IMAGE_SPEC, RENDER_CONCURRENCY
from workflows.batch import CLIP_CONCURRENCY

REPO = Path(__file__).resolve().parent.parent
FALLBACK_IMAGE = "ghcr.io/sadtalker-flyte/sadtalker:test"


NIGHTLY = """\
cron = "30 2 * * 1-5"
alert_emails = ["oncall@acme.com"]
[inputs]
image = "s3://acme/portrait.png"
audios = ["s3://acme/mon.wav", "s3://acme/tue.wav"]
size = 512
preprocess = "full"
render_cpu = "avx2"
"""


# chosen at registration: the weights volume, and render nodes of one class (deploy/)
POD_TEMPLATES = {"SADTALKER_WEIGHTS_POD_TEMPLATE": "sadtalker-weights",
                 "SADTALKER_RENDER_POD_TEMPLATE": "sadtalker-render"}


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The unpacked output of `pyflyte --pkgs workflows package` (no network, no docker), in a
    checkout that configures the nightly batch."""
    out = tmp_path_factory.mktemp("package")
    source = checkout(REPO, out / "checkout", {"workflows/nightly.toml": NIGHTLY})
    pyflyte = Path(sys.executable).parent / "pyflyte"
    done = subprocess.run([str(pyflyte), "--pkgs", "workflows", "package", "--image",
                           FALLBACK_IMAGE, "-f", "-o", str(out / "out.tgz")],
                          cwd=source, env={**registration_env(), **POD_TEMPLATES},
                          capture_output=True, text=True,
                          timeout=120, check=False)  # the assert below shows pyflyte's output
    assert done.returncode == 0, done.stdout + done.stderr
    with tarfile.open(out / "out.tgz") as tar:
        tar.extractall(out / "pb", **SAFE_EXTRACT)
    return out / "pb"


def read(package: Path, suffix: str, message: type):
    (path,) = [p for p in package.iterdir() if p.name.split("_", 1)[1].startswith(suffix)]
    return message.FromString(path.read_bytes())


def task(package: Path, name: str) -> task_pb2.TaskSpec:
    return read(package, f"tasks.{name}.{name}_", task_pb2.TaskSpec)


def resources(spec: task_pb2.TaskSpec) -> dict[str, str]:
    names = {1: "cpu", 3: "memory", 5: "ephemeral_storage"}
    return {names[r.name]: r.value for r in spec.template.container.resources.requests}


def test_every_entity_is_packaged(package: Path) -> None:
    names = sorted(p.name.split("_", 1)[1] for p in package.iterdir())
    assert len(names) == 15
    assert {"talking_head_clip_3.pb", "talking_head_batch_nightly_3.pb"} <= set(names)


@pytest.mark.parametrize(("name", "version"), [("audio_to_mel", AUDIO_CACHE_VERSION),
                                               ("crop_and_extract", FACE_CACHE_VERSION),
                                               ("audio_to_coeffs", PIPELINE_CACHE_VERSION),
                                               ("render_chunk", PIPELINE_CACHE_VERSION),
                                               ("stitch", PIPELINE_CACHE_VERSION)])
def test_cached_stages_carry_a_code_version(package: Path, name: str, version: str) -> None:
    metadata = task(package, name).template.metadata
    assert metadata.discoverable
    assert metadata.discovery_version == version
    assert len(version) == 16


@pytest.mark.parametrize("name", ["ingest", "plan_chunks", "clip_inputs"])
def test_other_stages_are_not_cached(package: Path, name: str) -> None:
    assert not task(package, name).template.metadata.discoverable


@pytest.mark.parametrize(("name", "requests", "retries", "timeout"), [
    ("ingest", {"cpu": "1", "memory": "1Gi"}, 2, 600),
    ("audio_to_mel", {"cpu": "1", "memory": "1Gi"}, 2, 600),
    ("crop_and_extract", {"cpu": "2", "memory": "2Gi"}, 2, 1200),
    ("audio_to_coeffs", {"cpu": "2", "memory": "2Gi"}, 2, 1200),
    ("render_chunk", {"cpu": "2", "memory": "8Gi"}, 3, 3600),
    ("stitch", {"cpu": "1", "memory": "2Gi", "ephemeral_storage": "4Gi"}, 2, 600),
])
def test_resources_retries_timeouts(package: Path, name: str, requests: dict[str, str],
                                    retries: int, timeout: int) -> None:
    spec = task(package, name)
    assert resources(spec) == requests
    assert spec.template.metadata.retries.retries == retries
    assert spec.template.metadata.timeout.seconds == timeout


def test_tasks_use_the_image_spec_not_the_fallback(package: Path) -> None:
    image = task(package, "render_chunk").template.container.image
    # the tag is a hash of the spec as packaged; the name and registry are the spec's
    assert image.startswith(f"{IMAGE_SPEC.registry}/{IMAGE_SPEC.name}:")
    assert image != FALLBACK_IMAGE


def test_render_is_an_array_node_over_chunks(package: Path) -> None:
    spec = read(package, "workflows.talking_head.talking_head_2",  # 2: workflow, 3: plan
                workflow_pb2.WorkflowSpec)
    (node,) = [n for n in spec.template.nodes if n.HasField("array_node")]
    array = node.array_node
    assert array.parallelism == RENDER_CONCURRENCY == 8
    assert array.min_success_ratio == 1.0
    sub = array.node
    assert "map_render_chunk" in sub.task_node.reference_id.name
    assert sub.metadata.retries.retries == 3  # per element
    assert sub.metadata.timeout.seconds == 3600
    assert sub.metadata.interruptible  # spot nodes are fine for an idempotent chunk
    bound = {b.var for b in sub.inputs}
    assert {"image", "face", "coeffs", "options", "checkpoints", "weights", "chunk"} <= bound
    mapped = read(package, "tasks.render_chunk.map_render_chunk", task_pb2.TaskSpec)
    assert "pyflyte-map-execute" in mapped.template.container.args
    assert mapped.template.metadata.discovery_version == PIPELINE_CACHE_VERSION  # per element


def test_workflow_defaults_come_from_the_options() -> None:
    from sadtalker.options import DEFAULTS
    from workflows.talking_head import default_launch_plan

    defaults = default_launch_plan.parameters.parameters
    assert defaults["image"].required and defaults["audio"].required
    assert defaults["size"].default.scalar.primitive.string_value == str(DEFAULTS.size)
    assert defaults["preprocess"].default.scalar.primitive.string_value == "crop"
    assert defaults["seed"].default.scalar.primitive.integer == DEFAULTS.seed


def test_nightly_schedule_and_failure_notifications(package: Path) -> None:
    plan = read(package, "talking_head_batch_nightly_", launch_plan_pb2.LaunchPlan)
    assert plan.spec.entity_metadata.schedule.cron_schedule.schedule == "30 2 * * 1-5"
    (notice,) = plan.spec.entity_metadata.notifications
    assert set(notice.phases) == {execution_pb2.WorkflowExecution.FAILED,
                                  execution_pb2.WorkflowExecution.TIMED_OUT}
    assert list(notice.email.recipients_email) == ["oncall@acme.com"]
    parameters = plan.spec.default_inputs.parameters
    assert all(not p.required for p in parameters.values())  # a schedule cannot prompt
    assert parameters["image"].default.scalar.blob.uri == "s3://acme/portrait.png"
    audios = parameters["audios"].default.collection.literals
    assert [a.scalar.blob.uri for a in audios] == ["s3://acme/mon.wav", "s3://acme/tue.wav"]
    assert parameters["size"].default.scalar.primitive.string_value == "512"
    assert parameters["preprocess"].default.scalar.primitive.string_value == "full"
    assert parameters["render_cpu"].default.scalar.union.value.scalar.primitive.string_value == (
        "avx2")  # an optional input given a value


def test_batch_clips_are_an_array_node_over_the_clip_launch_plan(package: Path) -> None:
    spec = read(package, "workflows.batch.talking_head_batch_2", workflow_pb2.WorkflowSpec)
    (node,) = [n for n in spec.template.nodes if n.HasField("array_node")]
    assert node.array_node.parallelism == CLIP_CONCURRENCY
    assert node.array_node.node.workflow_node.launchplan_ref.name == "talking_head_clip"
    assert not any(n.HasField("workflow_node") and n.workflow_node.HasField("sub_workflow_ref")
                   for n in spec.template.nodes)  # nothing is compiled in a pod
    plan = read(package, "talking_head_clip_3", launch_plan_pb2.LaunchPlan)
    assert plan.spec.workflow_id.name == "workflows.talking_head.talking_head"


def test_a_nightly_config_with_an_unknown_input_names_it(tmp_path: Path) -> None:
    from workflows.nightly import NightlyConfigError, nightly_plan

    config = tmp_path / "nightly.toml"
    config.write_text('[inputs]\nimage = "s3://a/p.png"\naudios = ["s3://a/s.wav"]\nsizes = 512\n')
    with pytest.raises(NightlyConfigError, match=r"unknown inputs \['sizes'\], missing inputs \[\]"):
        nightly_plan(config)


def test_launch_form_has_choices_reference_videos_and_a_named_output(package: Path) -> None:
    spec = read(package, "workflows.talking_head.talking_head_2", workflow_pb2.WorkflowSpec)
    inputs = spec.template.interface.inputs.variables
    assert list(spec.template.interface.outputs.variables) == ["video"]
    assert list(inputs["size"].type.enum_type.values) == ["256", "512"]
    assert list(inputs["preprocess"].type.enum_type.values) == [
        "crop", "resize", "full", "extcrop", "extfull"]
    assert "head motion the portrait copies" in inputs["ref_pose"].description
    assert "eye blinks" in inputs["ref_eyeblink"].description
    classes, empty = inputs["render_cpu"].type.union_type.variants  # an optional drop-down
    assert list(classes.enum_type.values) == [cpu.value for cpu in CpuClass]
    assert empty.simple == types_pb2.NONE
    assert "CPU class of the nodes the render pods run on" in inputs["render_cpu"].description
    batch = read(package, "workflows.batch.talking_head_batch_2", workflow_pb2.WorkflowSpec)
    assert list(batch.template.interface.outputs.variables) == ["videos"]


@pytest.mark.parametrize(("name", "template"), [
    ("ingest", "sadtalker-weights"), ("crop_and_extract", "sadtalker-weights"),
    ("audio_to_coeffs", "sadtalker-weights"), ("render_chunk", "sadtalker-render"),
    ("stitch", "sadtalker-weights"), ("audio_to_mel", ""), ("plan_chunks", "")])
def test_tasks_carry_the_pod_templates_named_at_registration(package: Path, name: str,
                                                             template: str) -> None:
    assert task(package, name).template.metadata.pod_template_name == template
    if name == "render_chunk":  # and so does each map element
        mapped = read(package, "tasks.render_chunk.map_render_chunk", task_pb2.TaskSpec)
        assert mapped.template.metadata.pod_template_name == template


@pytest.mark.parametrize(("settings", "render_template"), [
    ({"SADTALKER_WEIGHTS_POD_TEMPLATE": "sadtalker-weights"}, "sadtalker-weights"),
    ({}, "None"),
])
def test_render_pods_carry_the_weights_template_unless_given_their_own(
        settings: dict[str, str], render_template: str) -> None:
    show = "from tasks.config import RENDER_POD_TEMPLATE; print(RENDER_POD_TEMPLATE)"
    done = subprocess.run([sys.executable, "-c", show], cwd=REPO,
                          env={**registration_env(), **settings}, capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.strip() == render_template
