"""The one exception type of the network layer.

Raised for unreadable, damaged or foreign model files, invalid training configurations and
diverging training runs. The message fits on one line; the CLI prints it and exits with status 2.
"""

from __future__ import annotations


class ModelError(Exception):
    """A user-facing, one-line error from the network layer."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))
