"""This process's peak resident memory: the figure a pod's memory request has to cover."""

from __future__ import annotations

import resource
import sys
from pathlib import Path

PROC_STATUS = Path("/proc/self/status")


def peak_rss_bytes() -> int:
    """Peak resident set size of this process since it started.

    Linux: VmHWM from /proc (getrusage's ru_maxrss would count a forked child's parent's peak
    as the child's). Elsewhere: ru_maxrss, in bytes on macOS and KiB on the BSDs.
    """
    if PROC_STATUS.exists():
        for line in PROC_STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024  # "VmHWM:  123456 kB"
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def peak_rss_gib() -> float:
    """`peak_rss_bytes` in GiB."""
    return peak_rss_bytes() / 2**30
