"""Library errors become final user errors; anything else becomes a retryable one."""

from __future__ import annotations

import pytest
from flytekit.exceptions.user import FlyteRecoverableException

from sadtalker.errors import AudioError, CheckpointError
from tasks.errors import flyte_errors


def test_input_error_is_final() -> None:
    with pytest.raises(AudioError, match="silent"), flyte_errors():
        raise AudioError("the speech is silent: record it again")


@pytest.mark.parametrize("error", [OSError("disk full"), CheckpointError("truncated file")])
def test_other_errors_are_retryable(error: Exception) -> None:
    with pytest.raises(FlyteRecoverableException) as caught, flyte_errors():
        raise error
    assert caught.value.__cause__ is error
    assert type(error).__name__ in str(caught.value)
