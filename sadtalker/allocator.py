"""Keep freed memory in the process for reuse, where the C library allows it (glibc).

The renderer allocates and frees tens of large activation buffers per frame (up to ~70 MB at
256). glibc serves each from a fresh mmap and returns it on free, so every frame pays page
faults and kernel zeroing for hundreds of MB; keeping freed memory in the heap instead cuts
the public code's fp32 path from 4.57 to 3.09 s/frame (bench/render_speed.py) and a GFPGAN
render pod from 4.78 to 3.35 s/frame (bench/pipeline_stages.py). Only rendering processes
switch it on, once their networks are loaded (`pipeline.ChunkRenderer.load`: the CLI and the
render pods).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)

M_TRIM_THRESHOLD = -1  # glibc mallopt parameters (malloc.h)
M_MMAP_MAX = -4
GLIBC_MMAP_MAX_DEFAULT = 65536
GLIBC_TRIM_THRESHOLD_DEFAULT = 128 * 1024
TRIM_THRESHOLD = 2**31 - 1  # (mallopt takes a C int) keep up to 2 GiB of freed heap top


def _mallopt(parameter: int, value: int) -> bool:
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    libc = ctypes.CDLL(name)
    return hasattr(libc, "mallopt") and bool(libc.mallopt(parameter, value))


def retain_freed_memory(enabled: bool = True) -> bool:
    """Serve large allocations from the heap and keep freed ones (or restore glibc's
    defaults); False where the C library has no mallopt (then nothing changes)."""
    if enabled:
        done = _mallopt(M_MMAP_MAX, 0) and _mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    else:
        done = (_mallopt(M_MMAP_MAX, GLIBC_MMAP_MAX_DEFAULT)
                and _mallopt(M_TRIM_THRESHOLD, GLIBC_TRIM_THRESHOLD_DEFAULT))
    log.debug("retain freed memory %s: %s", "on" if enabled else "off", done)
    return done
