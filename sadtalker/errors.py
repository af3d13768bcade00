"""The exceptions the library raises on purpose.

Every error a user can cause is an ``InputError``: its message says what was wrong and what to
do, and the CLI prints it as one line. The Flyte tasks fail at once on any of these (a rerun
would fail the same way) and retry only I/O and memory failures.
"""


class SadTalkerError(Exception):
    """Base class of every error raised on purpose by this package."""


class InputError(SadTalkerError, ValueError):
    """A user-supplied input or option is unusable; retrying will not help."""


class OptionError(InputError):
    """An option is out of range or unknown."""


class ImageError(InputError):
    """The portrait (or reference video) cannot be read or is unusable."""


class AudioError(InputError):
    """The speech clip cannot be read, is empty, silent or too long."""


class NoFaceError(InputError):
    """No face was found where one is required."""


class LandmarksError(InputError):
    """Given landmarks have the wrong shape or lie outside the image."""


class CheckpointError(SadTalkerError):
    """A checkpoint file is missing, corrupt, or has the wrong layout."""
