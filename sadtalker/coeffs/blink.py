"""Random eye blinks: the blink ratio ExpNet takes per frame."""

from __future__ import annotations

import numpy as np

BLINK = np.array([0.5, 0.9, 1.0, 0.9, 0.5], dtype=np.float32)  # one blink over 5 frames (200 ms)
MIN_BLINK_FRAMES = 21  # shorter clips get no blink
MIN_GAP = 10  # frames before a blink, at least ...
MAX_GAP = 70  # ... and below this (and below half the clip)


def blink_ratios(num_frames: int, rng: np.random.Generator) -> np.ndarray:
    """(T, 1) float32 ratios: blinks placed one after another with random gaps.

    SadTalker draws each gap from [10, min(T // 2, 70)), an empty range when T = 21 (it
    crashes there); the upper bound is raised to 11 so that such a clip gets one blink at 10.
    """
    ratios = np.zeros((num_frames, 1), dtype=np.float32)
    if num_frames < MIN_BLINK_FRAMES:
        return ratios
    low = min(MIN_GAP, num_frames)
    high = max(min(num_frames // 2, MAX_GAP), low + 1)
    frame = 0
    while True:
        start = frame + int(rng.integers(low, high))
        if start + len(BLINK) > num_frames - 1:
            return ratios
        ratios[start:start + len(BLINK), 0] = BLINK
        frame = start + len(BLINK)
