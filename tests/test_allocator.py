"""Freed memory kept in the heap while rendering, and glibc's defaults restored after."""

from __future__ import annotations

from pathlib import Path

import pytest

from sadtalker.allocator import retain_freed_memory

BLOCK = 256 << 20  # far above glibc's mmap threshold


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def rss_kept_after_free() -> float:
    """MiB still resident after allocating, touching and freeing one large block."""
    before = rss_mib()
    block = bytearray(BLOCK)  # zero-filled: every page touched
    del block
    return rss_mib() - before


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_large_blocks_stay_in_the_heap_only_while_switched_on():
    try:
        assert retain_freed_memory() is True
        kept = rss_kept_after_free()
    finally:
        assert retain_freed_memory(False) is True
    assert kept > 0.9 * BLOCK / 2**20  # reusable by the next frame without page faults
    assert rss_kept_after_free() < 0.1 * BLOCK / 2**20  # defaults: handed back at once
