"""Pieces every subcommand shares: the one-line-error parser, error mapping, version report."""

from __future__ import annotations

import argparse
import errno
import importlib.metadata
import platform
import sys
from pathlib import Path
from typing import NoReturn

DISTRIBUTION = "digits-tui"


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (no usage dump) and exit with status 2."""

    def error(self, message: str) -> NoReturn:
        """Print `digits ...: error: message (see --help)` and exit 2."""
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def one_line_error(exc: BaseException) -> str | None:
    """The one-line message for an error a user can cause, or None for a bug (re-raised).

    Covers the data layer's MnistError, the network's ModelError, and operating-system errors
    (a full disk, a permission problem, a missing file).
    """
    from mnist.errors import MnistError

    errors_module = sys.modules.get("network.errors")
    if isinstance(exc, MnistError):
        return str(exc)
    if errors_module is not None and isinstance(exc, errors_module.ModelError):
        return str(exc)
    if isinstance(exc, OSError):
        if exc.errno == errno.ENOSPC:
            return f"no space left on device{f' ({exc.filename})' if exc.filename else ''}"
        reason = exc.strerror or str(exc)
        return f"{exc.filename}: {reason}" if exc.filename else reason
    return None


def _version_of(name: str) -> str:
    """Installed version of a distribution, or 'not installed'."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _package_dir(name: str) -> str:
    """Where a top-level package is imported from (found without importing it)."""
    import importlib.util

    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return "not found"
    return str(Path(next(iter(spec.submodule_search_locations))))


def version_report() -> str:
    """The `digits --version` text: version, where tui/network/mnist come from, library versions.

    `tui`, `network` and `mnist` are generic names that other distributions use too; showing
    where each was imported from makes a clash easy to see.
    """
    lines = [f"digits {_version_of(DISTRIBUTION)}"]
    for package in ("tui", "network", "mnist"):
        lines.append(f"  {package:<8} {_package_dir(package)}")
    libs = ", ".join(
        f"{lib} {_version_of(lib)}" for lib in ("textual", "numpy", "scipy", "rich", "platformdirs")
    )
    lines.append(f"  python {platform.python_version()}, {libs}")
    return "\n".join(lines)
