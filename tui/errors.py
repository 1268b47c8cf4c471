"""Errors a user can cause, as one line: shared by the `digits` command and the app's screens."""

from __future__ import annotations

import errno

from mnist.errors import MnistError


class UsageError(Exception):
    """A combination of options that does not make sense; printed as one line, exit 2."""


def one_line_error(exc: BaseException) -> str | None:
    """The one-line message for an error a user can cause, or None for a bug (re-raised).

    Covers the data layer's MnistError, the network's ModelError, and operating-system errors
    (a full disk, a permission problem, a missing file).
    """
    from network.errors import ModelError  # here, so `digits --version` never imports network/

    if isinstance(exc, (MnistError, UsageError, ModelError)):
        return str(exc)
    if isinstance(exc, OSError):
        if exc.errno == errno.ENOSPC:
            return f"no space left on device{f' ({exc.filename})' if exc.filename else ''}"
        reason = exc.strerror or str(exc)
        return f"{exc.filename}: {reason}" if exc.filename else reason
    return None


def out_of_memory(exc: MemoryError) -> str:
    """One line for a MemoryError while building or training: how much, and what to change."""
    asked = str(exc).split(" for an array")[0].replace("Unable to allocate ", "").replace(". ", " ")
    amount = f" (NumPy asked for {asked} more)" if str(exc).startswith("Unable") else ""
    return (f"out of memory while building or training the network{amount}; use a smaller "
            "--hidden or --batch-size")
