"""Which failures a task retries: only those a rerun on another pod can fix."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flytekit.exceptions.user import FlyteRecoverableException

from sadtalker.errors import SadTalkerError

TRANSIENT = (OSError, MemoryError)  # storage and network I/O, a node short of memory


@contextmanager
def flyte_errors() -> Iterator[None]:
    """Make transient failures retryable; let everything else fail the task at once.

    flytekit reports an exception from task code as a non-recoverable user error with its
    message, which is right for the errors the library raises on purpose (bad input, a missing
    or damaged checkpoint) and for bugs: a rerun would fail the same way. I/O and memory
    failures are re-raised as `FlyteRecoverableException`, which spends the task's `retries`.
    """
    try:
        yield
    except SadTalkerError:
        raise
    except TRANSIENT as exc:
        raise FlyteRecoverableException(f"{type(exc).__name__}: {exc}") from exc
