from __future__ import annotations

import io
import logging
import sys

import pytest

from sadtalker.progress_log import ProgressLog, frame_progress

LOGGER = logging.getLogger("tests.progress_log")


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_one_line_per_interval_and_one_at_the_end(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    progress = ProgressLog("render_chunk[3]", 10, LOGGER, every=30.0, clock=clock)
    caplog.set_level(logging.INFO, LOGGER.name)
    for seconds in (8.0, 8.0, 8.0, 8.0, 8.0):  # a batch of 2 frames every 8 s
        clock.now += seconds
        progress(2)
    assert caplog.messages == [
        "render_chunk[3]: 8/10 frames, 4.00 s each, ~8 s left",  # 32 s after the start
        "render_chunk[3]: 10/10 frames in 40 s (4.00 s each)",
    ]


def test_the_interval_counts_from_the_last_line(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    progress = ProgressLog("stitch", 100, LOGGER, unit="segments", every=10.0, clock=clock)
    caplog.set_level(logging.INFO, LOGGER.name)
    for _ in range(7):  # one segment every 6 s: lines at 12, 24 and 36 s
        clock.now += 6.0
        progress(1)
    assert caplog.messages == ["stitch: 2/100 segments, 6.00 s each, ~588 s left",
                               "stitch: 4/100 segments, 6.00 s each, ~576 s left",
                               "stitch: 6/100 segments, 6.00 s each, ~564 s left"]


def test_a_terminal_gets_a_bar_and_anything_else_log_lines(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    caplog.set_level(logging.INFO, LOGGER.name)
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with frame_progress("render", 4, LOGGER) as progress:
        progress(2)
        progress(2)
    assert "render: 100%" in terminal.getvalue() and "4/4" in terminal.getvalue()
    assert caplog.messages == []

    piped = io.StringIO()
    monkeypatch.setattr(sys, "stderr", piped)
    with frame_progress("render", 4, LOGGER) as progress:
        progress(4)
    assert piped.getvalue() == ""
    monkeypatch.setattr(sys, "stderr", None)  # a process started without one
    with frame_progress("render", 4, LOGGER) as progress:
        progress(4)
    assert len(caplog.messages) == 2
    assert all(line.startswith("render: 4/4 frames in ") for line in caplog.messages)
