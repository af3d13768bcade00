"""Progress of long work as log lines, for output read as a log, not watched on a terminal.

A render pod spends minutes on its chunk; its log (what a cluster's log links show) would say
nothing in between. A progress bar redraws one line, which a log collector keeps as hundreds;
this writes one line every so often and one at the end, each with the rate and the time left.
`frame_progress` keeps the bar for a terminal and uses these lines elsewhere.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tqdm import tqdm

LOG_EVERY_SECONDS = 30.0


class ProgressLog:
    """Counts finished items (call it with each batch's count) and logs at most one line per
    `every` seconds, plus one when all `total` are done."""

    def __init__(self, what: str, total: int, logger: logging.Logger, unit: str = "frames",
                 every: float = LOG_EVERY_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.what, self.total, self.logger, self.unit, self.every = what, total, logger, unit, every
        self.clock = clock
        self.done = 0
        self.started = self.logged = clock()

    def __call__(self, finished: int) -> None:
        self.done += finished
        now = self.clock()
        elapsed = now - self.started
        per_item = elapsed / self.done if self.done else 0.0
        if self.done >= self.total:
            self.logger.info("%s: %d/%d %s in %.0f s (%.2f s each)", self.what, self.done,
                             self.total, self.unit, elapsed, per_item)
        elif now - self.logged >= self.every:
            self.logger.info("%s: %d/%d %s, %.2f s each, ~%.0f s left", self.what, self.done,
                             self.total, self.unit, per_item, per_item * (self.total - self.done))
        else:
            return
        self.logged = now


@contextmanager
def frame_progress(what: str, total: int,
                   logger: logging.Logger) -> Iterator[Callable[[int], None]]:
    """A counter of finished frames: a bar where stderr is a terminal, else `ProgressLog`'s
    lines (a command run by a scheduler, its stderr kept as a log)."""
    if sys.stderr is not None and sys.stderr.isatty():
        with tqdm(total=total, unit="frame", desc=what) as bar:
            yield bar.update
    else:
        yield ProgressLog(what, total, logger)
