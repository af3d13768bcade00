"""Where and with what the tasks run: the container image, per-task resources, retries, timeouts.

The `SADTALKER_*` variables read here are registration settings: they shape the entities that
registration serializes. A pod imports this module too, but compiles nothing (the batch maps a
registered launch plan), so what a pod reads here decides nothing.

The image is `$SADTALKER_IMAGE` when set at registration (e.g. one built from the Dockerfile),
else the equivalent `ImageSpec`. Offline, flytekit cannot query a registry and assumes the
ImageSpec's image exists (it never builds it during packaging or local runs).
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import tomllib
from flytekit import ImageSpec, Resources

REPO_ROOT = Path(__file__).resolve().parent.parent
CHECKPOINTS_IN_IMAGE = "/opt/sadtalker/checkpoints"  # baked weights or a mounted volume
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
IMAGE_REGISTRY = os.environ.get("SADTALKER_REGISTRY", "ghcr.io/sadtalker-flyte")


def project_dependencies() -> list[str]:
    """pyproject.toml's dependency pins: the image installs exactly what the package declares.

    Inside a running pod only the code is shipped and the spec is never built there: no pins.
    """
    path = REPO_ROOT / "pyproject.toml"
    if not path.is_file():
        return []
    with open(path, "rb") as f:
        return tomllib.load(f)["project"]["dependencies"]


# Weights baked into the ImageSpec's image, as the Dockerfile's BAKE_WEIGHTS: "1" downloads the
# official files (checksummed), "synthetic" writes random ones (image checks only), else none.
# Baking runs the library in the build, so `sadtalker/` is copied in (a relative path: build
# from the repository root) and a change to it rebuilds the image.
# The files are made readable to the tasks' user (safetensors writes 0600).
BAKE_COMMANDS = {
    "1": f"python -m sadtalker weights download --dir {CHECKPOINTS_IN_IMAGE}",
    "synthetic": f"python -m sadtalker weights synthesize --dir {CHECKPOINTS_IN_IMAGE}",
}
BAKE_WEIGHTS = os.environ.get("SADTALKER_BAKE_WEIGHTS", "0")
BAKE_COMMAND = (f"{BAKE_COMMANDS[BAKE_WEIGHTS]} && chmod -R a+rX {CHECKPOINTS_IN_IMAGE}"
                if BAKE_WEIGHTS in BAKE_COMMANDS else None)

IMAGE_SPEC = ImageSpec(
    name="sadtalker-flyte",
    registry=IMAGE_REGISTRY,
    python_version="3.11",
    apt_packages=["libgl1", "libglib2.0-0"],  # OpenCV's shared-library needs
    packages=project_dependencies(),
    pip_extra_index_url=[TORCH_CPU_INDEX],  # CPU-only torch wheels (no CUDA download)
    env={"SADTALKER_CHECKPOINTS": CHECKPOINTS_IN_IMAGE},
    copy=["sadtalker"] if BAKE_COMMAND else None,
    commands=[BAKE_COMMAND] if BAKE_COMMAND else None,
)
IMAGE: str | ImageSpec = os.environ.get("SADTALKER_IMAGE") or IMAGE_SPEC

# Weights in pods: baked into the image (BAKE_WEIGHTS=1), or mounted read-only at
# CHECKPOINTS_IN_IMAGE by a cluster PodTemplate of this name (deploy/weights-volume.yaml),
# named at registration; the tasks that read weights carry it.
WEIGHTS_POD_TEMPLATE: str | None = os.environ.get("SADTALKER_WEIGHTS_POD_TEMPLATE") or None
# The render pods' own PodTemplate, where they must land on one node pool (the CPU class that
# the `render_cpu` input declares, e.g. by node affinity: deploy/render-pod-template.yaml). It
# replaces the weights' template on them, so it mounts the weights too where they are mounted.
RENDER_POD_TEMPLATE: str | None = (os.environ.get("SADTALKER_RENDER_POD_TEMPLATE")
                                   or WEIGHTS_POD_TEMPLATE)

# Requests per pod. The renderer is the heavy stage (seconds per frame: sadtalker/cost.py);
# the others decode, crop or run small networks once per clip.
LIGHT_CPUS = 1
FACE_CPUS = 2
RENDER_CPUS = 2
LIGHT = Resources(cpu=str(LIGHT_CPUS), mem="1Gi")
FACE = Resources(cpu=str(FACE_CPUS), mem="2Gi")
# Render pod memory covers the largest peak RSS of the render stage that bench/pipeline_stages.py
# measures on any CPU class, with ~15 % to spare (the largest is 512 with the enhancer in
# winograd, the path of CPUs without native bf16; README, "Performance and cost"). Frames stream
# to the encoder one batch at a time, so memory does not depend on the chunk's length; it grows
# with the size, the batch size and the photo.
RENDER = Resources(cpu=str(RENDER_CPUS), mem="8Gi")
# The stitch copies the segments into one mp4 (no re-encode) and encodes the speech to AAC,
# one ffmpeg thread at a time. Sized from bench/stitch_cost.py for the longest clip
# (max_audio_seconds, full mode; README, "Stitch"): memory covers the peak of the task's process
# with ffmpeg as measured when the task still imported torch (4x its peak without) with room
# for flytekit's transfer buffers, which the bench does not exercise; disk holds the downloaded
# segments and the output side by side for a 1024x1024 photo with grain moving over the whole
# frame, plus the speech.
STITCH_CPUS = 1
STITCH = Resources(cpu=str(STITCH_CPUS), mem="2Gi", ephemeral_storage="4Gi")

# Retries spend only on recoverable errors (see tasks.errors): bad input fails at once.
RETRIES = 2
RENDER_RETRIES = 3  # per chunk: one lost pod reruns one chunk, not the clip
# Render chunks may run on spot nodes (render_chunk is interruptible): a chunk is idempotent
# and short, and Flyte runs the last system retry on a regular node.
LIGHT_TIMEOUT = timedelta(minutes=10)
FACE_TIMEOUT = timedelta(minutes=20)
RENDER_TIMEOUT = timedelta(hours=1)
# The longest clip's measured stitch plus moving its bytes (segments down, the mp4 up; assumed
# speed) and a per-segment download cost, with a margin (README, "Stitch").
STITCH_TIMEOUT = timedelta(minutes=10)

# Torch sizes its thread pool from the node's cores, not the pod's share of them.
THREADS = {"OMP_NUM_THREADS": str(RENDER_CPUS), "MKL_NUM_THREADS": str(RENDER_CPUS)}

# Render elements running at once; a static property of the map node (it cannot be a
# workflow input), so it is read at registration. The `chunks` input sets the fan-out.
RENDER_CONCURRENCY = int(os.environ.get("SADTALKER_RENDER_CONCURRENCY", "8"))
