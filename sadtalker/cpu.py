"""The CPU's instruction-set class: which numeric paths it computes natively.

Render pods land on whatever nodes a cluster has. bf16 convolutions are fast only where the CPU
has AVX-512 BF16 or AMX; elsewhere oneDNN has no bf16 kernels (some operators have none at all,
others fall back to scalar loops). The class decides what `precision=auto` picks, what an
explicit `bf16` is refused on, and which measured costs apply (`sadtalker.cost`).
"""

from __future__ import annotations

import functools
from enum import Enum
from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")
# The /proc/cpuinfo flags that set a class, printed by the benchmarks beside their figures.
CLASS_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_tile")


class CpuClass(str, Enum):
    """CPU classes with different fastest paths, fastest first."""

    AVX512_BF16 = "avx512_bf16"  # AVX-512 with BF16 or AMX (Sapphire Rapids, Zen 4+)
    AVX512 = "avx512"  # AVX-512 without BF16 (Skylake-SP, Cascade Lake, Ice Lake)
    AVX2 = "avx2"  # AVX2 + FMA, no AVX-512 (Zen 2/3, Haswell to Coffee Lake)

    @property
    def native_bf16(self) -> bool:
        """Whether bf16 convolutions run in hardware here."""
        return self is CpuClass.AVX512_BF16


# The environment that makes a process on an AVX-512 machine run the AVX2 class's code: torch's
# and oneDNN's kernels held to AVX2, numba compiling for haswell (numba adds the host's own
# features, AVX-512 included, to a named CPU unless the features are given: here none beyond
# haswell's). MKL's matrix products already run AVX2 code on AMD CPUs.
AVX2_EMULATION = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2",
                  "NUMBA_CPU_NAME": "haswell", "NUMBA_CPU_FEATURES": ""}


@functools.cache
def cpu_class() -> CpuClass:
    """This machine's class, as torch's kernels see it (decided once per process).

    The CPU's features, capped by the vector width ATen dispatches to: in a process started
    with `AVX2_EMULATION` an AVX-512 machine runs, and is treated as, the AVX2 class.
    """
    import torch  # deferred: the light Flyte tasks read options without loading torch

    if torch.backends.cpu.get_cpu_capability() != "AVX512":
        return CpuClass.AVX2
    if torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported():
        return CpuClass.AVX512_BF16
    if torch.cpu._is_avx512_supported():
        return CpuClass.AVX512
    return CpuClass.AVX2


def class_flags() -> list[str]:
    """The flags of `CLASS_FLAGS` this CPU reports (empty where /proc/cpuinfo is absent)."""
    if not CPUINFO.exists():
        return []
    for line in CPUINFO.read_text().splitlines():
        if line.startswith("flags"):
            present = set(line.split(":", 1)[1].split())
            return [flag for flag in CLASS_FLAGS if flag in present]
    return []


def describe() -> str:
    """One line naming the class and its flags, e.g. for benchmark output and logs."""
    import torch

    flags = " ".join(class_flags()) or "flags unknown"
    return (f"CPU class {cpu_class().value} ({flags}; torch dispatches "
            f"{torch.backends.cpu.get_cpu_capability()})")
