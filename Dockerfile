# CPU image for the Flyte tasks (and the CLI). Weights are mounted at run time unless built with
#   docker build --build-arg BAKE_WEIGHTS=1 -t <registry>/sadtalker-flyte:<tag> .
FROM python:3.11-slim-bookworm

ARG BAKE_WEIGHTS=0
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

WORKDIR /root

# The torch/torchvision pair from the CPU index first (pins as in pyproject.toml), so the
# package install below never pulls a CUDA build.
RUN pip install --index-url "${TORCH_INDEX}" torch==2.14.1 torchvision==0.29.1

COPY pyproject.toml README.md ./
COPY sadtalker ./sadtalker
COPY tasks ./tasks
COPY workflows ./workflows
RUN pip install --extra-index-url "${TORCH_INDEX}" . \
    && ln -s "$(python -c 'import imageio_ffmpeg; print(imageio_ffmpeg.get_ffmpeg_exe())')" \
        /usr/local/bin/ffmpeg

RUN if [ "${BAKE_WEIGHTS}" = "1" ]; then \
        sadtalker weights download --dir /opt/sadtalker/checkpoints; \
    else \
        mkdir -p /opt/sadtalker/checkpoints; \
    fi

# flytekit's images run as an unprivileged user; so does this one.
RUN useradd --create-home --uid 1000 flytekit && chown -R flytekit /root /opt/sadtalker
USER 1000
