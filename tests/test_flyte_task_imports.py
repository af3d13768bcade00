"""What a pod loads before its task runs: the light tasks start without torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# The tasks that check inputs, decode audio, plan or join files: none runs a network.
LIGHT_TASKS = ("tasks.ingest", "tasks.audio_to_mel", "tasks.plan_chunks", "tasks.stitch")


def test_the_light_tasks_import_without_torch() -> None:
    """Importing torch costs a pod about a second (more with its dependants), on every pod on
    the clip's critical path."""
    check = f"import sys\nfor m in {LIGHT_TASKS!r}: __import__(m)\nprint('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", check], cwd=REPO, capture_output=True,
                          text=True, timeout=120, check=True)
    assert done.stdout.strip() == "False"
