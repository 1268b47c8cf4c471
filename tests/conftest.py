"""Shared fixtures: isolated user directories, and the real MNIST from ../shared/mnist.

Every test runs with XDG cache/data/config directories inside a temporary folder, so nothing
touches the real user's cache, models or settings. The real dataset is taken from $MNIST_DIR,
else from ../shared/mnist beside the project root. When it is absent the tests that need it are
skipped, unless DIGITS_REQUIRE_MNIST=1 (set by .ci/run), which turns that into a failure.
"""

from __future__ import annotations

import builtins
import errno
import io
import os
import shutil
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_USER_DIRS = Path(tempfile.mkdtemp(prefix="digits-tests-"))


def pytest_configure(config: pytest.Config) -> None:
    """Point the XDG user directories at a throwaway folder for the whole session."""
    for var in ("XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME"):
        os.environ[var] = str(_USER_DIRS / var.lower())
    os.environ.pop("DIGITS_MNIST_MIRRORS", None)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the throwaway user directories."""
    shutil.rmtree(_USER_DIRS, ignore_errors=True)


def _shared_mnist() -> Path | None:
    """The real MNIST folder: $MNIST_DIR, else ../shared/mnist; None if it lacks the files."""
    env = os.environ.get("MNIST_DIR")
    path = Path(env) if env else ROOT.parent / "shared" / "mnist"
    names = ("train-images-idx3-ubyte.gz", "train-images-idx3-ubyte")
    if any((path / name).exists() for name in names):
        return path.resolve()
    return None


SHARED_MNIST = _shared_mnist()


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The folder holding the real MNIST files (skips, or fails in CI, when absent)."""
    if SHARED_MNIST is None:
        message = "real MNIST not found (set MNIST_DIR or put it in ../shared/mnist)"
        if os.environ.get("DIGITS_REQUIRE_MNIST") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return SHARED_MNIST


@pytest.fixture(scope="session")
def mnist_data(mnist_dir: Path):
    """The whole real dataset, loaded and verified once per session (read-only uint8 arrays)."""
    from mnist.dataset import load_mnist

    return load_mnist(mnist_dir)


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory, monkeypatch):
    """Each test gets fresh, empty XDG cache/data/config directories."""
    base = tmp_path_factory.mktemp("user")
    for var in ("XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(var, str(base / var.lower()))


@pytest.fixture
def make_unreadable(monkeypatch):
    """A function that makes opening one path raise PermissionError, as chmod 000 would for a
    normal user (the tests run as root, where chmod 000 does not stop a read)."""

    def make(path: Path) -> None:
        target = Path(path).resolve()
        real_open = builtins.open

        def guarded(file, *args, **kwargs):
            if isinstance(file, (str, bytes, os.PathLike)) and \
                    Path(os.fsdecode(file)).resolve() == target:
                raise PermissionError(errno.EACCES, "Permission denied", os.fsdecode(file))
            return real_open(file, *args, **kwargs)

        monkeypatch.setattr(builtins, "open", guarded)
        monkeypatch.setattr(io, "open", guarded)

    return make
