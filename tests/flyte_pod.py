"""Pod-mode harness: run packaged Flyte entities the way a cluster's pods run them.

`package` runs `pyflyte package` as registration does and keeps its protobufs and its
fast-register archive. `PodMode` then walks a packaged workflow's nodes in dependency order and
runs each task node as its own process: the serialized container command, with the archive as
the only copy of the project's code (the interpreter has the dependencies but not the project),
no environment beyond what a pod gets, and every input and output a protobuf literal in a
local-file store (plain paths: flytekit's file transformer takes those, not `file://` URIs, as
local files). An ArrayNode over a task runs one process per element (with its array index);
one over a launch plan runs the launch plan's workflow once per element. A task's pods can be
given the environment of another CPU class's nodes (`node_env`, e.g. `AVX2_EMULATION`), as a
cluster with mixed node pools would place them. It is a test harness for the pod contract, not
an orchestrator: no retries, no cache, no parallelism.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from flyteidl.admin import launch_plan_pb2, task_pb2, workflow_pb2
from flyteidl.core import errors_pb2, literals_pb2
from flyteidl.core import workflow_pb2 as core_workflow_pb2

WORKFLOW_INPUTS = ""  # the node id that promises of workflow inputs name
INDEX_VARIABLE = "BATCH_JOB_ARRAY_INDEX"  # what the platform names the element index variable
POD_TIMEOUT = 900  # seconds one task process may take
# tarfile's "data" filter (refuses links and paths out of the target) is in Python >= 3.11.4 and
# in security backports; Debian bookworm's 3.11.2 lacks it (the image check runs on that Python).
SAFE_EXTRACT = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}


class PodFailure(Exception):
    """A task process exited with an error document (or none at all)."""

    def __init__(self, node: str, kind: str, message: str) -> None:
        super().__init__(f"{node}: {kind}: {message}")
        self.node = node
        self.kind = kind  # errors_pb2.ContainerError.Kind name, e.g. NON_RECOVERABLE
        self.message = message


@dataclass
class Package:
    """What `pyflyte package` wrote: entities by name, and the code archive."""

    tasks: dict[str, task_pb2.TaskSpec]
    workflows: dict[str, workflow_pb2.WorkflowSpec]
    launch_plans: dict[str, launch_plan_pb2.LaunchPlan]
    archive: Path | None
    destination_dir: Path

    def archived_files(self) -> set[str]:
        """The paths inside the fast-register archive."""
        with tarfile.open(self.archive) as tar:
            return {member.name for member in tar.getmembers() if member.isfile()}


def registration_env() -> dict[str, str]:
    """This process's environment without the project's own variables."""
    return {k: v for k, v in os.environ.items() if not k.startswith("SADTALKER_")}


def tracked_files(repo: Path, *folders: str) -> list[str]:
    """The paths git tracks in `repo` (under `folders`, when given)."""
    listed = subprocess.run(["git", "ls-files", "-z", *folders], cwd=repo, capture_output=True,
                            check=True).stdout.decode().split("\0")
    return [name for name in listed if name]


def checkout(repo: Path, destination: Path, files: dict[str, str]) -> Path:
    """The repository's tracked files copied to `destination`, plus `files` (path: text), as a
    deploying team's checkout would hold them."""
    for name in tracked_files(repo):
        if (repo / name).is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(repo / name, destination / name)
    for name, text in files.items():
        (destination / name).write_text(text)
    return destination


def package(repo: Path, out: Path, image: str, copy: str, env: dict[str, str]) -> Package:
    """`pyflyte --pkgs workflows package` with `--copy` as given, unpacked into `out`."""
    pyflyte = Path(sys.executable).parent / "pyflyte"
    destination = out / "pod-root"  # the pods' code directory (/root in a real image)
    out.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [str(pyflyte), "--pkgs", "workflows", "package", "--image", image, "--copy", copy,
         "--in-container-source-path", str(destination), "-f", "-o", str(out / "package.tgz")],
        cwd=repo, env=env, capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"pyflyte package failed:\n{done.stdout}\n{done.stderr}")
    unpacked = out / "package"
    with tarfile.open(out / "package.tgz") as tar:
        tar.extractall(unpacked, **SAFE_EXTRACT)
    tasks, workflows, plans, archive = {}, {}, {}, None
    for path in sorted(unpacked.iterdir()):
        if path.name.endswith(".tar.gz"):
            archive = path
            continue
        entity = path.name.split("_", 1)[1].removesuffix(".pb")
        kind = entity.rsplit("_", 1)[1]
        data = path.read_bytes()
        if kind == "1":
            spec = task_pb2.TaskSpec.FromString(data)
            tasks[spec.template.id.name] = spec
        elif kind == "2":
            spec = workflow_pb2.WorkflowSpec.FromString(data)
            workflows[spec.template.id.name] = spec
        else:
            spec = launch_plan_pb2.LaunchPlan.FromString(data)
            plans[spec.id.name] = spec
    return Package(tasks, workflows, plans, archive, destination)


def pod_python(directory: Path) -> Path:
    """A bin directory whose Python has this environment's libraries but not the project.

    The libraries' folder is added by a plain path line, so the `.pth` files inside it (the
    project's editable install among them) are not processed; the `pyflyte-*` commands are
    written for that interpreter from flytekit's own entry points.
    """
    if not (directory / "bin" / "python").exists():
        subprocess.run([sys._base_executable, "-m", "venv", "--without-pip", str(directory)],
                       check=True)
        site = Path(subprocess.check_output(
            [str(directory / "bin" / "python"), "-c",
             "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True).strip())
        (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
        for entry in importlib.metadata.entry_points(group="console_scripts"):
            if entry.name.startswith("pyflyte"):
                script = directory / "bin" / entry.name
                script.write_text(f"#!{directory / 'bin' / 'python'}\nimport sys\n"
                                  f"from {entry.module} import {entry.attr}\n"
                                  f"sys.exit({entry.attr}())\n")
                script.chmod(0o755)
    return directory / "bin"


@dataclass
class NodeRun:
    """One task process: which node, which element, how long, what it printed (its pod's log)."""

    node: str
    task: str
    seconds: float
    log: str


def timing_table(runs: list[NodeRun]) -> str:
    """The task processes run, one line each: node, task, wall seconds (`pytest -rP` shows it)."""
    return "\n".join(f"{run.node:48} {run.task.rsplit('.', 1)[-1][:40]:40} {run.seconds:6.1f}"
                     for run in runs)


@dataclass
class PodMode:
    """Runs a `Package`'s workflows node by node, each task in its own pod-like process."""

    package: Package
    store: Path
    bin_dir: Path
    node_env: dict[str, dict[str, str]] = field(default_factory=dict)  # by the task's module
    runs: list[NodeRun] = field(default_factory=list)

    def run_launch_plan(self, name: str, inputs: dict[str, literals_pb2.Literal],
                        scope: str = "") -> dict[str, literals_pb2.Literal]:
        """The plan's workflow on its defaults and fixed inputs overridden by `inputs`."""
        plan = self.package.launch_plans[name]
        values = {name: p.default for name, p in plan.spec.default_inputs.parameters.items()
                  if p.HasField("default")}
        values.update(inputs)
        values.update(plan.spec.fixed_inputs.literals)
        return self.run_workflow(plan.spec.workflow_id.name, values, scope or name)

    def run_workflow(self, name: str, inputs: dict[str, literals_pb2.Literal],
                     scope: str) -> dict[str, literals_pb2.Literal]:
        """Every node once its upstream nodes are done; the workflow's outputs."""
        template = self.package.workflows[name].template
        outputs: dict[str, dict[str, literals_pb2.Literal]] = {WORKFLOW_INPUTS: inputs}
        pending = list(template.nodes)
        while pending:
            ready = [n for n in pending if all(u in outputs for u in n.upstream_node_ids)]
            if not ready:
                raise RuntimeError(f"{name}: no node can run: {[n.id for n in pending]}")
            node = ready[0]
            pending.remove(node)
            node_inputs = {b.var: resolve(b.binding, outputs) for b in node.inputs}
            outputs[node.id] = self.run_node(node, node_inputs, f"{scope}/{node.id}")
        return {b.var: resolve(b.binding, outputs) for b in template.outputs}

    def run_node(self, node: core_workflow_pb2.Node, inputs: dict[str, literals_pb2.Literal],
                 scope: str) -> dict[str, literals_pb2.Literal]:
        if node.HasField("task_node"):
            return self.run_task(node.task_node.reference_id.name, inputs, scope)
        if node.HasField("array_node"):
            return self.run_array(node.array_node, inputs, scope)
        raise NotImplementedError(f"{scope}: node kind {node.WhichOneof('target')}")

    def run_array(self, array: core_workflow_pb2.ArrayNode,
                  inputs: dict[str, literals_pb2.Literal],
                  scope: str) -> dict[str, literals_pb2.Literal]:
        """One run per element; the elements' single outputs gathered in order."""
        sub = array.node
        if sub.HasField("task_node"):
            task = sub.task_node.reference_id.name
            args = list(self.package.tasks[task].template.container.args)
            bound = set(args[args.index("vars") + 1].split(",")) if "vars" in args else set()
            (count,) = {len(v.collection.literals) for k, v in inputs.items() if k not in bound}
            results = [self.run_task(task, inputs, f"{scope}-{i}", index=i)
                       for i in range(count)]
        else:
            plan = sub.workflow_node.launchplan_ref.name
            count = len(next(iter(inputs.values())).collection.literals)
            results = [self.run_launch_plan(plan, {k: v.collection.literals[i]
                                                   for k, v in inputs.items()},
                                            f"{scope}-{i}")
                       for i in range(count)]
        (name,) = {k for result in results for k in result} or {"o0"}
        gathered = literals_pb2.LiteralCollection(literals=[r[name] for r in results])
        return {name: literals_pb2.Literal(collection=gathered)}

    def run_task(self, name: str, inputs: dict[str, literals_pb2.Literal], scope: str,
                 index: int | None = None) -> dict[str, literals_pb2.Literal]:
        """The task's container command in a fresh process; its outputs.pb."""
        container = self.package.tasks[name].template.container
        work = self.work_dir(scope)
        if work.exists():
            shutil.rmtree(work)
        (work / "outputs").mkdir(parents=True)
        (work / "inputs.pb").write_bytes(
            literals_pb2.LiteralMap(literals=inputs).SerializeToString())
        values = {
            "{{.input}}": str(work / "inputs.pb"),
            "{{.outputPrefix}}": str(work / "outputs"),
            "{{.rawOutputDataPrefix}}": str(self.store / "raw"),
            "{{.checkpointOutputPrefix}}": str(work / "checkpoint"),
            "{{.prevCheckpointPrefix}}": '""',
            "{{ .remote_package_path }}": str(self.package.archive or ""),
        }
        args = [values.get(arg, arg) for arg in container.args]
        env = {"PATH": f"{self.bin_dir}:/usr/local/bin:/usr/bin:/bin", "HOME": str(work),
               "LANG": "C.UTF-8", "FLYTE_INTERNAL_EXECUTION_ID": scope.strip("/"),
               "FLYTE_INTERNAL_TASK_NAME": name, "FLYTE_ATTEMPT_NUMBER": "0",
               **{e.key: e.value for e in container.env},
               **self.node_env.get(name.rsplit(".", 1)[0], {})}
        if index is not None:
            env.update({"BATCH_JOB_ARRAY_INDEX_VAR_NAME": INDEX_VARIABLE,
                        INDEX_VARIABLE: str(index)})
        self.package.destination_dir.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        done = subprocess.run(args, cwd=self.package.destination_dir, env=env,
                              capture_output=True, text=True, timeout=POD_TIMEOUT, check=False)
        self.runs.append(NodeRun(scope, name, time.perf_counter() - start,
                                 done.stdout + done.stderr))
        error = work / "outputs" / "error.pb"
        if error.exists():
            document = errors_pb2.ErrorDocument.FromString(error.read_bytes())
            kind = errors_pb2.ContainerError.Kind.Name(document.error.kind)
            raise PodFailure(scope, kind, document.error.message)
        if done.returncode != 0 or not (work / "outputs" / "outputs.pb").exists():
            raise PodFailure(scope, "NO_OUTPUTS", (done.stdout + done.stderr)[-3000:])
        return self.outputs(scope)

    def work_dir(self, scope: str) -> Path:
        """Where the task process of a node (or map element) `scope` reads and writes."""
        return self.store / scope.strip("/").replace("/", "-")

    def outputs(self, scope: str) -> dict[str, literals_pb2.Literal]:
        """The outputs the finished task process of `scope` wrote."""
        written = self.work_dir(scope) / "outputs" / "outputs.pb"
        return dict(literals_pb2.LiteralMap.FromString(written.read_bytes()).literals)


def resolve(binding: literals_pb2.BindingData,
            outputs: dict[str, dict[str, literals_pb2.Literal]]) -> literals_pb2.Literal:
    """A node input's literal from its binding and the finished nodes' outputs."""
    kind = binding.WhichOneof("value")
    if kind == "scalar":
        return literals_pb2.Literal(scalar=binding.scalar)
    if kind == "promise":
        if binding.promise.attr_path:
            raise NotImplementedError("promises on an output's attributes")
        return outputs[binding.promise.node_id][binding.promise.var]
    if kind == "collection":
        return literals_pb2.Literal(collection=literals_pb2.LiteralCollection(
            literals=[resolve(b, outputs) for b in binding.collection.bindings]))
    if kind == "map":
        return literals_pb2.Literal(map=literals_pb2.LiteralMap(
            literals={k: resolve(b, outputs) for k, b in binding.map.bindings.items()}))
    raise NotImplementedError(f"binding kind {kind}")


def ingest_inputs(**given: object) -> dict[str, object]:
    """`ingest`'s inputs as a launch of `talking_head` with its defaults passes them (None where
    the workflow's default is None), updated by `given`."""
    from tasks.ingest import ingest
    from workflows.talking_head import talking_head

    defaults = talking_head.python_interface.default_inputs_as_kwargs
    return {name: defaults.get(name) for name in ingest.python_interface.inputs} | given


def python_value(literal: literals_pb2.Literal, python_type: type) -> object:
    """A literal as the Python value a task taking `python_type` receives."""
    from flytekit import FlyteContextManager
    from flytekit.core.type_engine import TypeEngine
    from flytekit.models.literals import Literal

    return TypeEngine.to_python_value(FlyteContextManager.current_context(),
                                      Literal.from_flyte_idl(literal), python_type)


def literals(interface_inputs: dict[str, type], values: dict[str, object],
             ) -> dict[str, literals_pb2.Literal]:
    """Python values as the literals a launch would send (local files stay plain paths)."""
    from flytekit import FlyteContextManager
    from flytekit.core.type_engine import TypeEngine

    ctx = FlyteContextManager.current_context()
    return {name: TypeEngine.to_literal(ctx, value, interface_inputs[name],
                                        TypeEngine.to_literal_type(interface_inputs[name]),
                                        ).to_flyte_idl()
            for name, value in values.items()}
