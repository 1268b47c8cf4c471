"""The one exception type of the data layer.

Every failure in `mnist/` (a missing, truncated or corrupt file, a checksum mismatch, a failed
download, an unreadable image) is raised as `MnistError` with a message that fits on one line and
says what to do. The CLI prints that line and exits with status 2.
"""

from __future__ import annotations


class MnistError(Exception):
    """A user-facing, one-line error from the data layer."""

    def __init__(self, message: str) -> None:
        # Keep the message on one line, whatever the caller passed in.
        super().__init__(" ".join(str(message).split()))
