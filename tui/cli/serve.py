"""`digits serve`: the app in a web browser, one app process per browser tab (textual-serve).

Needs the `web` extra (`pip install 'digits-tui[web]'`); without it, says so in one line.
Binds to 127.0.0.1:8000 unless told otherwise. There is no authentication: an address other
than a loopback one lets anyone who can reach it use the app and the models folder, so it needs
an explicit `--host` and gets a warning. Ctrl-C stops the server and every app process.
"""

from __future__ import annotations

import argparse
import errno
import socket
import sys
from pathlib import Path

from tui.errors import UsageError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def _port(text: str) -> int:
    """argparse type: a TCP port, 0..65535 (0: any free port)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port must be an integer in 0..65535, got {text!r}")
    return value


def open_in_browser(url: str) -> None:
    """`--open`: show `url` in the default web browser, or say in one line that none could be
    started (no browser installed, no display), so the page is opened by hand."""
    import webbrowser

    try:
        opened = webbrowser.open(url)
    except webbrowser.Error:
        opened = False
    if not opened:
        print(f"digits serve: found no web browser to open; open {url} in one",
              file=sys.stderr, flush=True)


def register(sub: argparse._SubParsersAction) -> None:
    """Add `digits serve`."""
    parser = sub.add_parser(
        "serve",
        help="serve the app to web browsers (one app per browser tab)",
        description=(
            "Serve the app to web browsers through textual-serve: every browser tab gets its own "
            "app process with these options. No authentication: keep the default loopback "
            "address unless everyone who can reach the address you give may use the app."
        ),
    )
    parser.add_argument(
        "--host",
        type=str,  # not common.not_empty: run() explains how to listen on every interface
        metavar="HOST",
        help=f"address to listen on (default {DEFAULT_HOST}, this machine only)",
    )
    parser.add_argument(
        "--port",
        type=_port,
        default=DEFAULT_PORT,
        metavar="PORT",
        help=f"TCP port (default {DEFAULT_PORT}; 0 picks a free one)",
    )
    parser.add_argument("--model", metavar="PATH", help="start every app on this model file")
    parser.add_argument(
        "--data-dir", metavar="DIR", help="folder with the four MNIST files (else MNIST_DIR, cache)"
    )
    parser.add_argument("--open", action="store_true", help="open the page in the default browser")
    parser.set_defaults(func=run)


def app_command(model: str | None, data_dir: str | None) -> list[str]:
    """The command line of one app process: this Python running `digits` with these options."""
    argv = [sys.executable, "-m", "tui.cli"]
    if model is not None:
        argv += ["--model", str(Path(model).resolve())]
    if data_dir is not None:
        argv += ["--data-dir", str(Path(data_dir).resolve())]
    return argv


def page_url(host: str, port: int) -> str:
    """The address to open: a wildcard address (all interfaces) is opened on loopback."""
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}/"


def run(args: argparse.Namespace) -> int:
    """Check the options, then serve until Ctrl-C."""
    try:
        from tui.web.server import DigitsServer, is_loopback
    except ImportError as exc:
        missing = (exc.name or "textual_serve").split(".")[0]
        raise UsageError(
            f"digits serve needs the 'web' extra ({missing} is not installed): "
            "pip install 'digits-tui[web]'"
        ) from None

    host = DEFAULT_HOST if args.host is None else args.host.strip()
    if not host:
        raise UsageError("--host must not be empty (to listen on every interface: --host 0.0.0.0)")
    if args.model is not None:  # a bad model is refused here, not in every browser tab
        from network.store import load_model

        load_model(Path(args.model))
    if not is_loopback(host):
        print(
            f"digits serve: warning: listening on {host}, which is not a loopback address. "
            "There is no authentication: anyone who can reach it can use the app and its "
            "models folder (train, rename and delete models).",
            file=sys.stderr,
            flush=True,
        )

    def started(port: int) -> None:
        url = page_url(host, port)
        print(
            f"digits serve: serving the app on {url} (each browser tab gets its own app); "
            "ctrl+c stops it",
            flush=True,
        )
        if args.open:
            import threading

            threading.Thread(target=open_in_browser, args=(url,), daemon=True).start()

    server = DigitsServer(app_command(args.model, args.data_dir), host, args.port, started)
    try:
        server.serve()
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise UsageError(
                f"port {args.port} is already in use on {host}: choose another with --port"
            ) from None
        if exc.errno == errno.EADDRNOTAVAIL or isinstance(exc, socket.gaierror):
            raise UsageError(f"cannot listen on {host}: {exc.strerror or exc}") from None
        raise
    print("digits serve: stopped", file=sys.stderr)
    return 0
