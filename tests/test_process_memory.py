"""Peak resident memory, as the deck and the benchmarks report it."""

from __future__ import annotations

import numpy as np

from sadtalker.process_memory import peak_rss_bytes, peak_rss_gib

MIB = 2**20


def test_peak_covers_what_was_touched_and_stays_after_it_is_freed() -> None:
    before = peak_rss_bytes()
    block = np.ones((before + 256 * MIB) // 8)  # every page written: larger than the peak so far
    size = block.nbytes
    during = peak_rss_bytes()
    del block
    assert during >= size > before
    # a high-water mark stays (the kernel's per-CPU RSS counters may settle a few pages lower)
    assert peak_rss_bytes() >= during - MIB
    assert abs(peak_rss_gib() - peak_rss_bytes() / 2**30) < 0.01
