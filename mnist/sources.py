"""Where the MNIST files come from, in order.

1. an explicit directory (`--data-dir`): if given, it is the only place looked at;
2. the `MNIST_DIR` environment variable;
3. the user cache directory (platformdirs' user cache path for `digits`, under `mnist/`);
4. a download into that cache (see `mnist.download`), only when the caller allows it.

A directory is used when it holds all four files (under any accepted name). This module only
looks; it never reads file contents (see `mnist.dataset` for loading and verifying).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from mnist.errors import MnistError
from mnist.files import FILES, MnistFile, find_file

APP_NAME = "digits"
ENV_VAR = "MNIST_DIR"


def cache_dir() -> Path:
    """The user cache directory for MNIST, e.g. ~/.cache/digits/mnist on Linux (not created)."""
    return platformdirs.user_cache_path(APP_NAME) / "mnist"


@dataclass(frozen=True)
class Candidate:
    """A directory that may hold MNIST, why it is looked at, and which files it holds."""

    directory: Path
    origin: str  # "--data-dir", "MNIST_DIR" or "cache"
    found: dict[str, Path]  # canonical name -> path present on disk

    @property
    def complete(self) -> bool:
        """True when all four files are present (not yet verified)."""
        return len(self.found) == len(FILES)

    @property
    def missing(self) -> list[MnistFile]:
        """The canonical files not present in this directory."""
        return [spec for spec in FILES if spec.name not in self.found]


def _candidate(directory: Path, origin: str) -> Candidate:
    """Look into `directory` (which may not exist) for the four files."""
    directory = directory.expanduser()
    found: dict[str, Path] = {}
    if directory.is_dir():
        for spec in FILES:
            path = find_file(directory, spec)
            if path is not None:
                found[spec.name] = path
    return Candidate(directory, origin, found)


def candidates(data_dir: str | os.PathLike[str] | None = None) -> list[Candidate]:
    """Every place looked at, in order. With `data_dir`, that is the only one."""
    if data_dir is not None:
        path = Path(data_dir)
        if path.exists() and not path.is_dir():
            raise MnistError(f"--data-dir {path}: is not a directory")
        return [_candidate(path, "--data-dir")]
    result = []
    env = os.environ.get(ENV_VAR)
    if env:
        result.append(_candidate(Path(env), ENV_VAR))
    result.append(_candidate(cache_dir(), "cache"))
    return result


def locate(data_dir: str | os.PathLike[str] | None = None) -> Candidate | None:
    """The first candidate holding all four files, or None when none does."""
    for candidate in candidates(data_dir):
        if candidate.complete:
            return candidate
    return None


def describe_places(looked: list[Candidate]) -> str:
    """Where MNIST was looked for and what each place lacks, on one line."""
    return "; ".join(
        f"{c.origin} {c.directory} (missing {', '.join(s.gz_name for s in c.missing)})"
        if c.found
        else f"{c.origin} {c.directory} (not a folder)"
        if c.directory.exists() and not c.directory.is_dir()
        else f"{c.origin} {c.directory} (no MNIST files)"
        for c in looked
    )


def describe_missing(looked: list[Candidate]) -> str:
    """One line telling which files are missing, where they were looked for, and what to do."""
    places = describe_places(looked)
    return (
        f"MNIST not found: looked in {places}. Run `digits data download`, or set "
        f"{ENV_VAR} to a folder holding the four files (train-images-idx3-ubyte.gz, "
        "train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz)"
    )
