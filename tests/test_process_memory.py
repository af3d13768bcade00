"""Peak resident memory, as the deck and the benchmarks report it."""

from __future__ import annotations

import json
import subprocess
import sys

MIB = 2**20

# Run in a fresh interpreter: this test process's own peak, after the suite's renders, runs to
# gigabytes, and outgrowing it would take as much memory again.
MEASURE = """
import json
import numpy as np
from sadtalker.process_memory import peak_rss_bytes, peak_rss_gib

before = peak_rss_bytes()
block = np.ones((before + 256 * 2**20) // 8)  # every page written: larger than the peak so far
size = block.nbytes
during = peak_rss_bytes()
del block
print(json.dumps({"before": before, "size": size, "during": during, "after": peak_rss_bytes(),
                  "after_gib": peak_rss_gib()}))
"""


def test_peak_covers_what_was_touched_and_stays_after_it_is_freed() -> None:
    done = subprocess.run([sys.executable, "-c", MEASURE], capture_output=True, text=True,
                          timeout=120, check=True)
    peak = json.loads(done.stdout)
    assert peak["during"] >= peak["size"] > peak["before"] > 0
    # a high-water mark stays (the kernel's per-CPU RSS counters may settle a few pages lower)
    assert peak["after"] >= peak["during"] - MIB
    assert abs(peak["after_gib"] - peak["after"] / 2**30) < 0.01
