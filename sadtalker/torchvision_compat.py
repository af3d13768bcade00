"""Lets basicsr 1.4.2 (and so gfpgan) import with a current torchvision.

basicsr imports ``rgb_to_grayscale`` from ``torchvision.transforms.functional_tensor``, a
private module torchvision removed in 0.17; basicsr is no longer maintained. Rather than fork
it, we register a module under the old name that hands on the public function, once, before
anything imports gfpgan or basicsr.
"""

from __future__ import annotations

import sys
import types

LEGACY_MODULE = "torchvision.transforms.functional_tensor"


def install() -> None:
    """Register the legacy module name if this torchvision no longer has it (idempotent)."""
    if LEGACY_MODULE in sys.modules:
        return
    try:
        import torchvision.transforms.functional_tensor  # noqa: F401  (old torchvision: nothing to do)
    except ImportError:
        from torchvision.transforms import functional

        shim = types.ModuleType(LEGACY_MODULE, "forwards to torchvision.transforms.functional")
        shim.rgb_to_grayscale = functional.rgb_to_grayscale  # type: ignore[attr-defined]
        sys.modules[LEGACY_MODULE] = shim
