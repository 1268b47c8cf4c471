"""The `digits` command: starts the TUI, or runs a subcommand (`digits data ...`, ...).

Heavy imports (Textual, the network) happen inside the subcommand that needs them, so
`digits --version` and `digits data status` start fast. Every error a user can cause is printed
as one line on stderr with exit status 2; Ctrl-C exits with 130; neither prints a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from tui import blas
from tui.cli import common, data, drawings, evaluate, predict, serve, teach, train
from tui.errors import one_line_error

# Subcommand modules: each has register(subparsers) that adds its parser(s) and sets `func`.
SUBCOMMANDS = (train, evaluate, predict, data, drawings, teach, serve)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser: global options for the TUI, and every subcommand."""
    parser = common.Parser(
        prog="digits",
        description=(
            "Paint a handwritten digit on a 28x28 grid and watch a NumPy neural network "
            "recognize it live; train that network on MNIST. With no command, starts the app."
        ),
        epilog="Run `digits COMMAND --help` for a command's options.",
    )
    parser.add_argument(
        "--version", action="store_true", help="print the version and where each package lives"
    )
    parser.add_argument(
        "--model", metavar="PATH", help="start the app on this model file (.npz) instead"
    )
    parser.add_argument(
        "--data-dir", metavar="DIR", help="folder with the four MNIST files (else MNIST_DIR, cache)"
    )
    sub = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=common.Parser)
    for module in SUBCOMMANDS:
        module.register(sub)
    return parser


def run_app(args: argparse.Namespace) -> int:
    """Start the Textual app (imported only now: it is the slow import), loading the model in a
    thread meanwhile; NumPy's BLAS has one thread until the first frame (`tui.blas`)."""
    blas.hold_one_thread()
    loading = common.ModelLoading(args.model)
    from tui.app import run

    blas.numpy_loaded()  # tui.app imports NumPy
    return run(data_dir=args.data_dir, loading=loading)  # `loading` has args.model


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `digits` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
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
        message = one_line_error(exc)
        if message is None:
            raise
        from mnist.fileio import printable

        print(f"digits: error: {printable(message)}", file=sys.stderr)  # one line, always
        return 2


if __name__ == "__main__":
    sys.exit(main())
