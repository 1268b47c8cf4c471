"""`digits data status | verify | download`: where MNIST is, whether it is intact, fetching it."""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

# The modules these commands use are imported by each command: `digits` with no command (the
# app) builds this parser too, and must not wait for the downloader and its HTTP stack.


def register(sub: argparse._SubParsersAction) -> None:
    """Add `digits data` and its three subcommands."""
    data = sub.add_parser(
        "data",
        help="find, verify or download the MNIST dataset",
        description=(
            "MNIST is looked for in --data-dir if given, else in $MNIST_DIR, else in the user "
            "cache (see `digits data status`); `digits data download` fetches it into the cache."
        ),
    )
    data.set_defaults(func=lambda args: data.error("choose a data command"))
    commands = data.add_subparsers(title="commands", metavar="COMMAND", parser_class=type(data))

    status = commands.add_parser(
        "status",
        help="where the data is looked for, which files are present and verified",
        description="Show every place MNIST is looked for, in order, and verify what is found.",
    )
    status.add_argument("--data-dir", metavar="DIR", help="look only in this folder")
    status.set_defaults(func=run_status)

    verify = commands.add_parser(
        "verify",
        help="check the four files' SHA-256; exit 0 only if all verify",
        description=(
            "Read the four MNIST files and check shape and SHA-256 of their decompressed content."
            " Exits 0 only if all four verify, 2 otherwise."
        ),
    )
    verify.add_argument("--data-dir", metavar="DIR", help="verify this folder")
    verify.set_defaults(func=run_verify)

    fetch = commands.add_parser(
        "download",
        help="download the four files into the user cache, verified",
        description=(
            "Download missing or damaged MNIST files over HTTPS from public mirrors (trying the "
            "next on any failure), verify each, then move it into place. Good files are kept."
        ),
    )
    fetch.add_argument("--dir", metavar="DIR", help="download into DIR, not the cache")
    fetch.add_argument(
        "--timeout", type=_seconds, default=30.0, metavar="SECONDS",
        help="network timeout per read, 0 < SECONDS <= 3600 (30)"
    )
    fetch.set_defaults(func=run_download)


def _seconds(text: str) -> float:
    """Parse --timeout: a finite number of seconds in (0, 3600] (argparse makes it one line)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value <= 3600:  # also refuses NaN, inf and 1e400 (which float() makes inf)
        raise argparse.ArgumentTypeError(f"expected seconds in (0, 3600], got {text!r}")
    return value


def _verify_dir(found: dict[str, Path]) -> list[tuple[str, Path | None, str | None]]:
    """Verify each canonical file present in `found`: (name, path, error or None)."""
    from mnist.errors import MnistError
    from mnist.files import FILES, load_verified

    results = []
    for spec in FILES:
        path = found.get(spec.name)
        if path is None:
            results.append((spec.gz_name, None, "missing"))
            continue
        try:
            load_verified(path, spec)
            results.append((spec.gz_name, path, None))
        except MnistError as exc:
            results.append((spec.gz_name, path, str(exc)))
    return results


def run_status(args: argparse.Namespace) -> int:
    """Print each place looked at, in order, with each file's state; exit 0."""
    from rich.table import Table

    from mnist.sources import ENV_VAR, candidates
    from tui.cli.common import in_markup, stdout_console

    console = stdout_console(soft_wrap=True)
    looked = candidates(args.data_dir)
    chosen = next((c for c in looked if c.complete), None)
    if args.data_dir is None and not os.environ.get(ENV_VAR):
        console.print(f"[bold]{ENV_VAR}[/]: not set")
    for candidate in looked:
        mark = "  [green]<- used[/]" if candidate is chosen else ""
        folder = candidate.directory
        exists = "" if folder.is_dir() else (
            " (not a folder)" if folder.exists() else " (does not exist)")
        console.print(f"[bold]{candidate.origin}[/]: {in_markup(folder)}{exists}{mark}")
        if not candidate.found:
            continue
        table = Table(show_header=False, box=None, padding=(0, 2))
        for name, path, error in _verify_dir(candidate.found):
            shown = name if path is None or path.name == name else f"{name} (as {path.name})"
            state = "[green]verified[/]" if error is None else f"[red]{in_markup(error)}[/]"
            table.add_row(in_markup(shown), state)
        console.print(table)
    if chosen is None:
        console.print("No complete dataset found. Run `digits data download` or set MNIST_DIR.")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    """Verify the four files; print one line per file; exit 0 only if all four verify."""
    from mnist.fileio import printable
    from mnist.files import FILES
    from mnist.sources import candidates

    looked = candidates(args.data_dir)
    target = next((c for c in looked if c.complete), looked[0])
    results = _verify_dir(target.found)
    for name, path, error in results:
        state = "ok  " if error is None else "FAIL"
        print(f"{state}  {printable(str(path or target.directory / name))}")
    failed = [(name, error) for name, _, error in results if error is not None]
    if not failed:
        return 0
    first_name, first_error = failed[0]
    detail = first_error if first_error != "missing" else f"{first_name} is missing"
    more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
    print(
        f"digits: error: {len(failed)} of {len(FILES)} files failed in "
        f"{printable(str(target.directory))}: "
        f"{printable(detail)}{more}",
        file=sys.stderr,
    )
    return 2


def run_download(args: argparse.Namespace) -> int:
    """Download what is missing or damaged, with a rich progress bar per file."""
    from rich.console import Console

    from mnist.download import download
    from tui.cli.common import download_progress, in_markup

    with download_progress() as on_progress:
        target = download(
            Path(args.dir) if args.dir else None, timeout=args.timeout, on_progress=on_progress
        )
    Console(stderr=True).print(f"MNIST is complete and verified in {in_markup(target)}")
    return 0
