# CPU image for the Flyte tasks (and the CLI). Weights are mounted at run time unless built with
#   docker build --build-arg BAKE_WEIGHTS=1 -t <registry>/sadtalker-flyte:<tag> .
# Build arguments (before FROM: the base; after it: the rest):
#   BASE_IMAGE   any Debian with Python 3.11 whose `python`/`pip` come first on PATH (the check
#                in deploy/image_check.sh builds on a local bookworm root, no registry)
#   TORCH_INDEX  where the torch/torchvision pair comes from; empty: PyPI (a CUDA build, GBs more)
#   BAKE_WEIGHTS 0: none (mounted at run time); 1: the official files, checksummed;
#                synthetic: random weights in the official layout, for checks only
ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE}

ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu

# OpenCV needs libGL and GLib at import time; ffmpeg comes from the imageio-ffmpeg wheel.
# Debian security updates replace exact versions, so a pin would break rebuilds: the base tag
# fixes the release instead.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/*

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    SADTALKER_CHECKPOINTS=/opt/sadtalker/checkpoints \
    PYTHONPATH=/root

# flytekit's images run as an unprivileged user; so does this one (created here so that the
# code is copied in as its own, not chowned in a layer of its own). /root is where the pods'
# code is unpacked (fast registration), so the user writes there.
RUN useradd --create-home --uid 1000 flytekit && chown flytekit /root
WORKDIR /root

# The torch/torchvision pair from TORCH_INDEX first (pins as in pyproject.toml), so the
# package install below never pulls another torch build.
RUN pip install --index-url "${TORCH_INDEX:-https://pypi.org/simple}" torch==2.14.1 torchvision==0.29.1

# The declared dependencies next (a layer that only pyproject.toml changes), then the code: a
# change to the code rebuilds seconds of layers, not the dependencies.
COPY --chown=flytekit pyproject.toml ./
RUN python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep='\n')" \
        >/tmp/requirements.txt \
    && pip install --extra-index-url "${TORCH_INDEX:-https://pypi.org/simple}" -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt \
    && ln -s "$(python -c 'import imageio_ffmpeg; print(imageio_ffmpeg.get_ffmpeg_exe())')" \
        /usr/local/bin/ffmpeg
COPY --chown=flytekit README.md ./
COPY --chown=flytekit sadtalker ./sadtalker
COPY --chown=flytekit tasks ./tasks
COPY --chown=flytekit workflows ./workflows
# The package itself, for the `sadtalker` command; its build tree goes in the same step.
RUN pip install --no-deps . && rm -rf build ./*.egg-info

# Declared here, so that every layer above is shared by images with and without weights.
# Baked files stay root's, made world-readable in the same step (safetensors writes its files
# 0600): a chown or chmod of its own would copy them into another layer.
ARG BAKE_WEIGHTS=0
RUN case "${BAKE_WEIGHTS}" in \
        1) sadtalker weights download --dir /opt/sadtalker/checkpoints ;; \
        synthetic) sadtalker weights synthesize --dir /opt/sadtalker/checkpoints ;; \
        *) mkdir -p /opt/sadtalker/checkpoints ;; \
    esac \
    && chmod -R a+rX /opt/sadtalker

USER 1000
