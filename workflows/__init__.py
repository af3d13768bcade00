"""The workflows and launch plans; importing this package is what registration does.

It loads every module of the library first. Fast registration with `--copy auto` (what
`pyflyte run --remote` does) ships only the modules loaded at registration, and the library
loads some lazily (face detection, GFPGAN, reference videos); loading them all here makes the
shipped code the whole library, whichever command registers it. Pods import only the task
modules, so their start-up does not pay for this.
"""

import importlib
import pkgutil

import sadtalker


def load_library() -> None:
    """Import every module of `sadtalker` but its `__main__` (which runs the CLI)."""
    for module in pkgutil.walk_packages(sadtalker.__path__, f"{sadtalker.__name__}."):
        if not module.name.endswith(".__main__"):
            importlib.import_module(module.name)


load_library()
