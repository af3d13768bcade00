"""Storing the final video from inside its task, so the report can link the stored copy.

flytekit uploads a returned file only after the task has returned, to a path it picks then;
the deck is written before that. Uploading it here instead gives the deck the real location,
and the task returns that remote file (flytekit does not upload a remote path again).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flytekit import FlyteContextManager

LINK_SECONDS = 7 * 24 * 3600  # the longest an S3 presigned URL may last


@dataclass(frozen=True)
class Published:
    """Where a file is stored, and the link a browser opens it by."""

    uri: str  # in the task's raw output location (s3://, gs://, ... or a local path)
    link: str  # a signed https URL where the store signs (S3, GCS, Azure), else the URI


def publish(path: Path) -> Published:
    """Upload `path` to the task's raw output location now; its URI and a browser link."""
    access = FlyteContextManager.current_context().file_access
    uri = str(access.put_raw_data(str(path)))
    try:
        link = access.get_filesystem_for_path(uri).sign(uri, expiration=LINK_SECONDS)
    except NotImplementedError:  # a local file system: the file itself opens
        link = uri if "://" in uri else Path(uri).as_uri()
    return Published(uri, link)
