"""Only transient failures are retryable; library errors and bugs fail at once."""

from __future__ import annotations

import pytest
from flytekit.exceptions.user import FlyteRecoverableException

from sadtalker.errors import AudioError, CheckpointError
from tasks.errors import flyte_errors


@pytest.mark.parametrize("error", [AudioError("the speech is silent: record it again"),
                                   CheckpointError("missing file mapping.pth"),
                                   TypeError("a bug"), KeyError("a bug")])
def test_library_errors_and_bugs_are_final(error: Exception) -> None:
    with pytest.raises(type(error)) as caught, flyte_errors():
        raise error
    assert caught.value is error


@pytest.mark.parametrize("error", [OSError("disk full"), ConnectionResetError("peer"),
                                   TimeoutError("read timed out"), MemoryError()])
def test_transient_errors_are_retryable(error: Exception) -> None:
    with pytest.raises(FlyteRecoverableException) as caught, flyte_errors():
        raise error
    assert caught.value.__cause__ is error
    assert type(error).__name__ in str(caught.value)
