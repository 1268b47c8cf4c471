"""The `digits` command: starts the TUI, or runs a subcommand (`digits data ...`, ...).

Heavy imports (Textual, the network) happen inside the subcommand that needs them, so
`digits --version` and `digits data status` start fast; starting the app imports no subcommand
at all (its options alone are parsed first, `app_arguments`). Every error a user can cause is
printed as one line on stderr with exit status 2; Ctrl-C exits with 130; neither prints a
traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from tui import startup
from tui.cli import common

#: Subcommand modules of tui.cli: each has register(subparsers) that adds its parser(s) and sets
#: `func`. Imported only when the full parser is built.
SUBCOMMANDS = ("train", "evaluate", "predict", "data", "drawings", "teach", "serve")


def add_app_options(parser: argparse.ArgumentParser) -> None:
    """The options of `digits` itself (the app), before any subcommand."""
    parser.add_argument(
        "--version", action="store_true", help="print the version and where each package lives"
    )
    parser.add_argument(
        "--model", metavar="PATH", help="start the app on this model file (.npz) instead"
    )
    parser.add_argument(
        "--data-dir", metavar="DIR", help="folder with the four MNIST files (else MNIST_DIR, cache)"
    )


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser: global options for the TUI, and every subcommand."""
    import importlib

    parser = common.Parser(
        prog="digits",
        description=(
            "Paint a handwritten digit on a 28x28 grid and watch a NumPy neural network "
            "recognize it live; train that network on MNIST. With no command, starts the app."
        ),
        epilog="Run `digits COMMAND --help` for a command's options.",
    )
    add_app_options(parser)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=common.Parser)
    for name in SUBCOMMANDS:
        importlib.import_module(f"tui.cli.{name}").register(sub)
    return parser


def app_arguments(argv: Sequence[str]) -> argparse.Namespace | None:
    """`argv` parsed as the app's own options, if that is all it holds (else None: a
    subcommand, --help, or something to report, for the full parser).

    Starting the app then imports none of the subcommands' modules and builds none of their
    parsers (importing them and building their parsers measured 40-50 ms of CPU time
    before the first frame). An error in the app's
    options (`--model` without a path) is reported as the full parser reports it.
    """
    parser = common.Parser(prog="digits", add_help=False, exit_on_error=False)
    add_app_options(parser)
    try:
        args, rest = parser.parse_known_args(argv)
    except argparse.ArgumentError:  # e.g. `digits eval --model ''`: the full parser says it
        return None
    return None if rest else args


def run_app(args: argparse.Namespace) -> int:
    """Start the Textual app (imported only now: it is the slow import), loading the model in a
    thread meanwhile; NumPy's BLAS threads and the garbage collector held until the first frame
    (`tui.startup`)."""
    startup.hold()
    try:
        loading = common.ModelLoading(args.model)
        from tui.app import run

        startup.numpy_loaded()  # tui.app imports NumPy
        return run(data_dir=args.data_dir, loading=loading)  # `loading` has args.model
    finally:
        startup.release()  # done after the first frame, unless the app stopped before it


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `digits` console script; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = app_arguments(argv) or build_parser().parse_args(argv)
    try:
        if args.version:
            print(common.version_report())
            return 0
        func = getattr(args, "func", None)
        return func(args) if func is not None else run_app(args)
    except KeyboardInterrupt:
        print("digits: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # noqa: BLE001 - every user-facing error becomes one line
        from tui.errors import one_line_error

        message = one_line_error(exc)
        if message is None:
            raise
        from mnist.fileio import printable

        print(f"digits: error: {printable(message)}", file=sys.stderr)  # one line, always
        return 2


if __name__ == "__main__":
    sys.exit(main())
