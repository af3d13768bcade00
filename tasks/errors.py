"""Turning library errors into Flyte's user (final) vs recoverable (retried) errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flytekit.exceptions.user import FlyteRecoverableException

from sadtalker.errors import InputError


@contextmanager
def flyte_errors() -> Iterator[None]:
    """Let bad input fail the task at once; make every other failure retryable.

    flytekit reports any exception from task code as a non-recoverable user error, so an
    `InputError` passes through unchanged while anything else (I/O, a lost download, memory)
    is re-raised as `FlyteRecoverableException`, which spends the task's `retries`.
    """
    try:
        yield
    except InputError:
        raise
    except Exception as exc:
        raise FlyteRecoverableException(f"{type(exc).__name__}: {exc}") from exc
