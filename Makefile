# Set-up, demo and tests on a fresh Debian/Ubuntu machine (root or sudo for apt).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# torch and torchvision are installed as a pair before the package so pip never picks another
# torch; on hosts with the PyTorch CPU index reachable, add --index-url there (see Dockerfile).
TORCH_PAIR := torch==2.14.1 torchvision==0.29.1
APT_PACKAGES := espeak-ng libgl1 libglib2.0-0
DEMO_DIR ?= out/demo
SYNTHETIC_DIR ?= out/synthetic-checkpoints
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup system-deps demo demo-synthetic test bench lint image-check

setup: system-deps $(VENV)/.installed

system-deps:
	@command -v espeak-ng >/dev/null && ldconfig -p | grep -q libGL.so.1 || { \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(APT_PACKAGES); }

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check $(TORCH_PAIR)
	$(BIN)/pip install -q --disable-pip-version-check -e ".[dev]"
	touch $@

# Official weights (downloaded once, checksummed) + the workflow run locally on example inputs.
demo: setup
	$(BIN)/sadtalker example-inputs --dir $(DEMO_DIR)
	$(BIN)/sadtalker weights download --group core --group detector || { \
	  echo "cannot download the official weights here; run 'make demo-synthetic' for the same pipeline on random weights"; exit 1; }
	$(BIN)/pyflyte run workflows/talking_head.py talking_head \
	  --image $(DEMO_DIR)/astronaut.png --audio $(DEMO_DIR)/speech.wav
	@echo "the video is the path printed above (pyflyte keeps it in its local sandbox)"

# The same workflow on synthetic (random) weights: checks the plumbing, the video is noise.
demo-synthetic: setup
	$(BIN)/sadtalker example-inputs --dir $(DEMO_DIR) --seconds 0.8
	$(BIN)/sadtalker weights synthesize --dir $(SYNTHETIC_DIR)
	SADTALKER_CHECKPOINTS=$(SYNTHETIC_DIR) $(BIN)/pyflyte run workflows/talking_head.py talking_head \
	  --image $(DEMO_DIR)/astronaut.png --audio $(DEMO_DIR)/speech.wav \
	  --landmarks $(DEMO_DIR)/astronaut_landmarks.json

test: setup
	$(BIN)/python -m pytest -q

bench: setup
	$(BIN)/python bench/render_speed.py

# Builds the Dockerfile and the ImageSpec (buildah, on a local Debian base; no Docker engine or
# registry needed) and runs the CLI, the pod-mode workflows and the render pod's start inside
# them. Root, minutes and ~30 GB of disk: not part of `test`. Summary: out/image-check/summary.txt
image-check: setup
	PYTHON=$(BIN)/python deploy/image_check.sh

lint: setup
	$(BIN)/ruff check sadtalker tasks workflows tests bench
	$(BIN)/hadolint Dockerfile
