"""Keep freed memory in the process for reuse, where the C library allows it (glibc).

The renderer allocates and frees tens of large activation buffers per frame. glibc serves each
buffer above its mmap threshold from a fresh mmap and unmaps it on free, so every frame pays
page faults and kernel zeroing for all of them again; kept in the heap, the same pages serve
the next frame (the README's renderer tables show the gain, "with freed memory kept"). Only
rendering processes switch it on, once their networks are loaded (`pipeline.ChunkRenderer.load`:
the CLI and the render pods), so that loading's transient buffers are not kept too.
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
