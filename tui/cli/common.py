"""Pieces every subcommand shares: the one-line-error parser, the version report, the model and
data loaders with their progress display. Error mapping lives in `tui.errors`."""

from __future__ import annotations

import argparse
import importlib.util
import platform
import sys
from pathlib import Path
from typing import NoReturn

DISTRIBUTION = "digits-tui"


def not_empty(text: str) -> str:
    """argparse type of every text option and argument: an empty string is refused (as a path
    it would mean the current folder, as a name the default: `--out ''` trained for minutes
    and only then failed to save)."""
    if not text:
        raise argparse.ArgumentTypeError("must not be empty")
    return text


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (no usage dump) and exit with status 2, and
    whose text options and arguments refuse an empty value (`not_empty`)."""

    def add_argument(self, *args, **kwargs):  # noqa: D102 - see the class docstring
        if kwargs.get("action") is None and kwargs.get("type") is None:
            kwargs["type"] = not_empty
        return super().add_argument(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        """Print `digits ...: error: message (see --help)` and exit 2."""
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def _version_of(name: str) -> str:
    """Installed version of a distribution, or 'not installed'."""
    import importlib.metadata  # here: the app's start-up builds the parser, never needs it

    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _package_dir(name: str) -> str:
    """Where a top-level package is imported from (found without importing it)."""
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


def in_markup(text: object) -> str:
    """Outside text (a file name, a path, an error naming one) for a rich markup string: its
    control characters written as escapes (`mnist.fileio.printable`), its markup escaped."""
    from rich.markup import escape

    from mnist.fileio import printable

    return escape(printable(str(text)))


def strict_json(value: object) -> str:
    """`value` as one line of strict JSON: no NaN or infinity (ValueError), and every string
    valid Unicode. A file name that is not UTF-8 reaches Python with its bytes as lone
    surrogates (U+DC80-U+DCFF), and hostile metadata may hold lone surrogates too;
    `json.dumps` writes them as \\udcXX escapes, which strict parsers refuse. Here such a
    byte is written as the text \\xNN (as Python's `backslashreplace` shows undecodable
    bytes), any other lone surrogate as U+FFFD."""
    import json

    return json.dumps(_valid_unicode(value), allow_nan=False)


def _valid_unicode(value: object) -> object:
    """`value` with the lone surrogates of its strings (dict keys too) replaced, see
    `strict_json`."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "".join(
                ch if not 0xD800 <= ord(ch) <= 0xDFFF
                else f"\\x{ord(ch) - 0xDC00:02x}" if 0xDC80 <= ord(ch) <= 0xDCFF
                else "\ufffd"
                for ch in value)
        return value
    if isinstance(value, dict):
        return {_valid_unicode(k): _valid_unicode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_valid_unicode(v) for v in value]
    return value


def stdout_console(**options):
    """A rich Console on stdout that ends the command as `print` does when the reader of a pipe
    goes away (`digits eval | head`): main() takes the BrokenPipeError to exit 0 (rich's own
    answer was exit 1, so `set -o pipefail` scripts failed on `digits eval` but not on
    `digits predict`)."""
    import os

    from rich.console import Console

    class PipeConsole(Console):
        def on_broken_pipe(self) -> None:
            self.quiet = True
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing more to say
            raise BrokenPipeError

    return PipeConsole(**options)


def load_model_for_cli(path: str | None):
    """The model a command works on: `path` if given, else the active one, else the shipped.

    Prints a fallback notice (an active model that no longer loads) on stderr. Returns
    (model, path). A given file that does not load raises the network's one-line ModelError.
    """
    from network.registry import startup_model

    model, where, notice = startup_model(path)
    if notice:
        print(f"digits: {notice}", file=sys.stderr)
    return model, where


class ModelLoading:
    """`network.registry.startup_model(path)` running in a thread from the moment it is made.

    The app's start-up imports Textual and builds the app meanwhile: reading and inflating the
    model's arrays releases the GIL for much of its time (measured: the shipped model takes
    60-100 ms to load, most of which then overlaps the imports). `result()` waits for it and
    returns (model, path, notice), or raises what loading raised (a ModelError for a file that
    does not load), in the calling thread.
    """

    def __init__(self, path: str | None) -> None:
        import threading

        self._path = path
        self._result: tuple | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._load, name="digits-model", daemon=True)
        self._thread.start()

    def _load(self) -> None:
        try:
            from network.registry import startup_model

            self._result = startup_model(self._path)
        except BaseException as exc:  # noqa: BLE001 - handed to the thread that asks
            self._error = exc

    def result(self) -> tuple:
        """(model, path, notice) once loaded; re-raises a loading error here."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result


def load_data_for_cli(data_dir: str | None):
    """MNIST for train/eval: found as usual, else downloaded into the cache with progress bars."""
    from mnist.dataset import load_mnist

    with download_progress() as on_progress:
        return load_mnist(data_dir, download_missing=True, on_progress=on_progress)


class download_progress:  # noqa: N801 - used as a context manager, named like one
    """A rich progress display for `mnist.download` events, shown only if a download starts."""

    def __init__(self) -> None:
        from rich.console import Console

        self.console = Console(stderr=True)
        self.progress = None
        self.tasks: dict[str, object] = {}

    def __enter__(self):
        return self.on_progress

    def __exit__(self, *exc_info: object) -> None:
        if self.progress is not None:
            self.progress.stop()

    def _start(self) -> None:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self.progress = Progress(
            TextColumn("{task.description:<28}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=self.console,
        )
        self.progress.start()

    def on_progress(self, event) -> None:
        """Turn one DownloadProgress event into bar updates and messages."""
        if event.state == "present" or (self.progress is None and event.state != "start"):
            return  # a mirror that failed before sending anything: no empty display left behind
        if self.progress is None:
            self._start()
        progress, task = self.progress, self.tasks.get(event.file)
        if event.state == "start":
            if task is None:
                self.tasks[event.file] = progress.add_task(event.file, total=event.total)
            else:
                progress.reset(task, total=event.total)
        elif event.state == "progress" and task is not None:
            progress.update(task, completed=event.done)
        elif event.state == "failed" and task is not None:
            progress.update(task, description=f"{event.file} [yellow]retrying")
        elif event.state == "done" and task is not None:
            progress.update(task, description=f"{event.file} [green]verified")
