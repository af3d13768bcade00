"""Check-only: build the tasks' ImageSpec with flytekit's default builder, no registry needed.

The spec is `tasks.config.IMAGE_SPEC` (with `$SADTALKER_BAKE_WEIGHTS` as set) with what only
this machine needs changed: a local base (`--base`, whose /usr/bin/python3 is Python 3.11; the
builder's venv is made from it, as for `python_exec` bases, instead of conda-forge's Python), a
local image holding /uv (`--uv-image`), the torch index (`--torch-index`, empty: PyPI) and no
push. The builder runs `docker build`; deploy/image_check.sh puts a buildah shim first on PATH.
Prints the built image's name last.

    FLYTE_PUSH_IMAGE_SPEC=false python deploy/imagespec_build.py --base IMAGE --uv-image IMAGE
"""

from __future__ import annotations

import argparse
import dataclasses

from flytekit.image_spec.default_builder import DefaultImageBuilder

from tasks.config import IMAGE_SPEC


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="local base image (Debian, python3 3.11)")
    parser.add_argument("--uv-image", required=True, help="local image with the uv binary at /uv")
    parser.add_argument("--torch-index", default="", help="extra index for torch; empty: PyPI")
    args = parser.parse_args()

    spec = dataclasses.replace(
        IMAGE_SPEC,
        registry="localhost",
        base_image=args.base,
        python_exec="/usr/bin/python3",
        pip_extra_index_url=[args.torch_index] if args.torch_index else None,
        # the micromamba stage is only read for a CA bundle, which the base has
        builder_config={"uv_image": args.uv_image, "micromamba_image": args.base},
    )
    DefaultImageBuilder().build_image(spec)
    print(spec.image_name())


if __name__ == "__main__":
    main()
