#!/usr/bin/env bash
# Builds the task image both ways (the Dockerfile, and the tasks' ImageSpec through flytekit's
# own builder) on a machine with no Docker engine and no registry, and runs the project inside
# each: `sadtalker --help`, `sadtalker weights verify` on baked synthetic weights, the pod-mode
# run of both workflows (tests/test_flyte_pod_mode.py) and the render pod's fixed cost
# (bench/pipeline_stages.py). `make image-check` runs it; minutes and gigabytes, so not CI.
#
# Debian/Ubuntu, root. Tools: buildah (chroot isolation), podman (import), debootstrap.
# The base is a local Debian bookworm with its Python 3.11 in a venv first on PATH, which is
# what the Dockerfile asks of BASE_IMAGE. Inside a chroot build the PyTorch CPU index may not
# answer, so TORCH_INDEX defaults to empty here (PyPI: the CUDA build of the same torch).
#
#   deploy/image_check.sh                 # everything; a summary at the end and in $WORK
#   deploy/image_check.sh imagespec       # one of the two images (dockerfile, imagespec)
#   TORCH_INDEX=https://download.pytorch.org/whl/cpu deploy/image_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."

WORK=${IMAGE_CHECK_DIR:-out/image-check}
PYTHON=${PYTHON:-.venv/bin/python}  # the registration environment (flytekit), for the ImageSpec
TORCH_INDEX=${TORCH_INDEX-}
BASE=localhost/sadtalker-check/python:3.11-bookworm
UV_IMAGE=localhost/sadtalker-check/uv:0.5.1  # what flytekit mounts uv from (ghcr.io otherwise)
IMAGE=localhost/sadtalker-flyte:check  # the Dockerfile, weights mounted (the shipped form)
BAKED=localhost/sadtalker-flyte:check-synthetic  # the same, synthetic weights baked
BUILD=(buildah build --isolation chroot --layers --force-rm)
WEIGHT_GROUPS=(--group core --group enhancer --group detector)  # what `synthesize` writes
# The pod-mode test that asserts the harness's premise (the interpreter lacks the project) is
# left out in the Dockerfile's image, which installs the project for the CLI.
NOT_PREMISE="not the_pods_python_has_the_dependencies_but_not_the_project"

mkdir -p "$WORK/logs"
SUMMARY="$WORK/summary.txt"
: >"$SUMMARY"
CONTAINERS="$WORK/containers"  # working containers made here, removed on exit
: >"$CONTAINERS"
trap 'xargs -r buildah rm <"$CONTAINERS" >/dev/null 2>&1 || true' EXIT

say() { echo "== $*" | tee -a "$SUMMARY"; }

# Runs "$@" with its output in $WORK/logs/NAME.log; records the wall seconds.
timed() {
    local name=$1 start
    shift
    start=$(date +%s)
    if ! "$@" >"$WORK/logs/$name.log" 2>&1; then
        tail -20 "$WORK/logs/$name.log"
        say "$name FAILED after $(($(date +%s) - start)) s (log: $WORK/logs/$name.log)"
        return 1
    fi
    say "$name: $(($(date +%s) - start)) s"
}

install_tools() {
    command -v buildah >/dev/null && command -v podman >/dev/null \
        && command -v debootstrap >/dev/null && command -v git >/dev/null && return
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        buildah podman debootstrap git ca-certificates >/dev/null
}

# The Debian mirror apt uses here (deb822 or one-line sources).
debian_mirror() {
    sed -n -E 's/^(URIs:|deb)[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+).*/\3/p' \
        /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list \
        2>/dev/null | grep -v security | head -1
}

has_image() { buildah inspect --type image "$1" >/dev/null 2>&1; }

# Debian bookworm minbase + python3, imported, then Python in a venv first on PATH (as
# python:3.11-slim has `python` and `pip` first on PATH).
make_base() {
    has_image "$BASE" && { say "base $BASE exists"; return; }
    local root="$WORK/rootfs"
    rm -rf "$root"
    timed debootstrap debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
        bookworm "$root" "$(debian_mirror)"
    # The CAs this machine added (a TLS-inspecting proxy's, where there is one) are trusted inside
    # too, or pip and uv cannot reach the registries from the builds.
    cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/" 2>/dev/null \
        && chroot "$root" update-ca-certificates >/dev/null 2>&1
    tar -C "$root" -c . | podman import - localhost/sadtalker-check/debian:bookworm-minbase \
        >/dev/null 2>&1
    rm -rf "$root"
    cat >"$WORK/base.Containerfile" <<'EOF'
FROM localhost/sadtalker-check/debian:bookworm-minbase
RUN python3 -m venv /opt/python && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin
ENV PATH=/opt/python/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
EOF
    timed base "${BUILD[@]}" -f "$WORK/base.Containerfile" -t "$BASE" "$WORK"
}

make_uv_image() {
    has_image "$UV_IMAGE" && return
    cat >"$WORK/uv.Containerfile" <<EOF
FROM $BASE
RUN pip install --no-cache-dir uv==0.5.1 && cp /opt/python/bin/uv /uv
EOF
    timed uv-image "${BUILD[@]}" -f "$WORK/uv.Containerfile" -t "$UV_IMAGE" "$WORK"
}

# A container of IMAGE, removed on exit; prints its name.
container() {
    local c
    c=$(buildah from "$1")
    echo "$c" >>"$CONTAINERS"
    echo "$c"
}

in_container() { buildah run --isolation chroot "$@"; }

dockerfile_images() {
    local args=(--build-arg "BASE_IMAGE=$BASE" --build-arg "TORCH_INDEX=$TORCH_INDEX")
    timed dockerfile "${BUILD[@]}" "${args[@]}" -t "$IMAGE" .
    timed dockerfile-baked "${BUILD[@]}" "${args[@]}" --build-arg BAKE_WEIGHTS=synthetic -t "$BAKED" .
    # The official weights cannot be fetched here: the build must stop with the one-line reason.
    if "${BUILD[@]}" "${args[@]}" --build-arg BAKE_WEIGHTS=1 -t localhost/sadtalker-flyte:check-official \
        . >"$WORK/logs/dockerfile-official.log" 2>&1; then
        say "BAKE_WEIGHTS=1 built (the official weights were reachable)"
    else
        say "BAKE_WEIGHTS=1 stops: $(grep -m1 '^error: ' "$WORK/logs/dockerfile-official.log")"
    fi
}

# A copy of the tracked tree (a git repository: the tests list tracked files) for a container.
stage_repo() {
    local repo="$WORK/repo"
    rm -rf "$repo"
    mkdir -p "$repo"
    git ls-files -z | xargs -0 cp --parents -t "$repo"
    git -C "$repo" init -q && git -C "$repo" add -A
    echo "$repo"
}

# Test tools and the repository in a throwaway container of IMAGE (never in the image). The
# ImageSpec's venv (uv's) has no pip: ensurepip gives it one, in this container only.
test_container() {
    local c
    c=$(container "$1")
    in_container --user root "$c" -- sh -c 'apt-get update -qq && \
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        espeak-ng git >/dev/null && { python -m pip --version || python -m ensurepip; } && \
        python -m pip install -q --no-cache-dir pytest pytest-timeout' \
        >"$WORK/logs/test-tools-$2.log" 2>&1
    buildah copy --chown 1000:1000 "$c" "$(stage_repo)" /home/flytekit/repo >/dev/null
    echo "$c"
}

# $1 container, $2 name, $3 pytest -k expression, $4 the weights (a directory in the image, or
# empty: the tests synthesize theirs and pass them as a workflow input, as a mounted volume);
# the pod-mode run as the image's user.
pod_mode() {
    timed "pod-mode-$2" in_container --user 1000 --env HOME=/home/flytekit \
        --env "SADTALKER_TEST_CHECKPOINTS=$4" \
        --workingdir /home/flytekit/repo "$1" -- \
        python -m pytest -q -rP -p no:cacheprovider tests/test_flyte_pod_mode.py -k "$3"
    grep -E "passed|failed" "$WORK/logs/pod-mode-$2.log" | tail -1 | tee -a "$SUMMARY"
}

# The render pod's fixed cost: importing its task module (cold, then warm: the files cached),
# and the bench's render_load stage (imports, model load, source preparation).
fixed_cost() {
    local import='import time; t = time.perf_counter(); import tasks.render_chunk; '
    import+='print(f"import tasks.render_chunk: {time.perf_counter() - t:.1f} s")'
    for run in cold warm; do
        in_container --user 1000 --workingdir /home/flytekit/repo "$1" -- python -c "$import" \
            | sed "s/\$/ ($run)/" | tee -a "$SUMMARY"
    done
    timed "stages-$2" in_container --user 1000 --env HOME=/home/flytekit \
        --workingdir /home/flytekit/repo "$1" -- \
        python bench/pipeline_stages.py --still --seconds 0.4 --checkpoints /opt/sadtalker/checkpoints
    grep -E "^  [a-z_]+ |fixed cost" "$WORK/logs/stages-$2.log" | tee -a "$SUMMARY"
}

check_dockerfile_image() {
    local c
    c=$(container "$BAKED")
    in_container "$c" -- sadtalker --help | sed -n 1,3p | tee -a "$SUMMARY"
    in_container "$c" -- sadtalker weights verify "${WEIGHT_GROUPS[@]}" | tee -a "$SUMMARY"
    c=$(test_container "$BAKED" dockerfile)
    pod_mode "$c" dockerfile "$NOT_PREMISE" /opt/sadtalker/checkpoints
    fixed_cost "$c" dockerfile
}

# flytekit's default builder runs `docker build ... CONTEXT`; a shim first on PATH (here only)
# hands it to buildah. For buildah 1.28 it rewrites two things in the generated Dockerfile:
# relative mount targets (requirements_uv.txt, in the template's WORKDIR /root) made absolute,
# and the uv cache's uses after the first made `sharing=shared` (buildah keeps the first use's
# lock, so a second locked use in one build waits forever; nothing else builds here at the same
# time), and the RUN that flytekit leaves empty for a spec without commands given `true` (sh -c
# wants an argument). deploy/imagespec_build.py prints the image.
imagespec_images() {
    mkdir -p "$WORK/bin"
    cat >"$WORK/bin/docker" <<'EOF'
#!/bin/sh
[ "$1" = build ] || { echo "docker shim (image check): only 'docker build' is mapped" >&2; exit 1; }
shift
for context; do :; done
sed -E 's#(--mount=type=bind,target=)([^/])#\1/root/\2#g' "$context/Dockerfile" \
    | awk '/id=uv/ && seen++ { sub(/sharing=locked/, "sharing=shared") }
           /target=\/usr\/bin\/uv *$/ { $0 = $0 " true" } 1' >"$context/Dockerfile.buildah"
exec buildah build --isolation chroot --layers --force-rm -f "$context/Dockerfile.buildah" "$@"
EOF
    chmod +x "$WORK/bin/docker"
    local build=(env "PATH=$PWD/$WORK/bin:$PATH" "PYTHONPATH=$PWD" FLYTE_PUSH_IMAGE_SPEC=false "$PYTHON"
                 deploy/imagespec_build.py --base "$BASE" --uv-image "$UV_IMAGE"
                 --torch-index "$TORCH_INDEX")
    timed imagespec "${build[@]}"
    SPEC_IMAGE=$(tail -1 "$WORK/logs/imagespec.log")
    timed imagespec-baked env SADTALKER_BAKE_WEIGHTS=synthetic "${build[@]}"
    SPEC_BAKED=$(tail -1 "$WORK/logs/imagespec-baked.log")
    say "ImageSpec images: $SPEC_IMAGE, $SPEC_BAKED"
}

check_imagespec_image() {
    local c
    c=$(container "$SPEC_BAKED")
    in_container "$c" -- python -m sadtalker --help | sed -n 1,3p | tee -a "$SUMMARY"
    in_container "$c" -- python -m sadtalker weights verify "${WEIGHT_GROUPS[@]}" | tee -a "$SUMMARY"
    # The unbaked image holds no project code (fast registration ships it), as the whole test
    # module asks.
    c=$(test_container "$SPEC_IMAGE" imagespec)
    pod_mode "$c" imagespec "" ""
}

sizes() {
    say "images"
    buildah images --format '{{.Name}}:{{.Tag}} {{.Size}}' | grep sadtalker | tee -a "$SUMMARY"
    for image in "$IMAGE" "${SPEC_IMAGE:-}"; do
        has_image "$image" || continue
        say "layers of $image (podman history)"
        podman history --format '{{.Size}}\t{{.CreatedBy}}' "$image" | cut -c1-150 | tee -a "$SUMMARY"
    done
}

install_tools
make_base
make_uv_image
STEPS=${*:-dockerfile imagespec}
for step in $STEPS; do
    case $step in
        dockerfile) dockerfile_images; check_dockerfile_image ;;
        imagespec) imagespec_images; check_imagespec_image ;;
        *) echo "unknown step '$step' (dockerfile, imagespec)" >&2; exit 2 ;;
    esac
done
sizes
say "image check passed ($STEPS); summary in $SUMMARY"
