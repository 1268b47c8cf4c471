"""Serving the app to browsers with textual-serve: one app process per browser tab.

`DigitsServer` is textual-serve's `Server` with what `digits serve` needs on top:

* the app runs as an argument list (no shell, so paths need no quoting and the process that
  gets stopped is the app itself), in its own session, so a Ctrl-C in the terminal reaches only
  the server, which then stops every app process it started, and kills one that does not quit;
* the page (`index.html`) has a title and takes its font from the server's static folder:
  nothing is fetched from anywhere else;
* the page's URLs are built from the request, so the page works under whatever address the
  browser used;
* the websocket that drives an app refuses other sites' pages (its Origin must be the page's
  own), and a server bound to a loopback address answers only to loopback host names, so a web
  page elsewhere cannot reach the app through the browser (DNS rebinding);
* a terminal size and a font size asked for by the browser are clamped to sane ranges;
* when an app's process ends, however it ends, its tab is told the session ended;
* on Linux, an app process is sent SIGTERM when the server dies (even by SIGKILL, which the
  server cannot clean up after), so no app outlives the server that started it.

Imported only by `digits serve`, and only when the `web` extra (textual-serve) is installed.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import ipaddress
import logging
import os
import signal
from collections.abc import Callable, Sequence
from pathlib import Path
from string import Template

from aiohttp import web
from textual_serve.app_service import AppService
from textual_serve.server import Server, to_int

log = logging.getLogger("digits.serve")

PAGE = Path(__file__).with_name("index.html")
TITLE = "digits"
MAX_COLUMNS, MAX_ROWS = 500, 200
"""Largest terminal a browser may ask for (a huge one would only exhaust the app's memory)."""
FONT_SIZES = (6, 64)
"""Font sizes (CSS pixels) a page may ask for with ?fontsize=: at 0 or 1 the page stayed at
"starting..." for ever, and a negative size garbled it; at 64 a 1120x780 window still holds
29x9 cells, room for the app to say it needs a larger terminal."""
QUIT_GRACE = 3.0
"""Seconds an app process gets to quit when asked, before it is killed."""


def is_loopback(host: str) -> bool:
    """Whether `host` (a name or an IP address, as typed) is only reachable from this machine."""
    name = host.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def host_name(host_header: str) -> str:
    """The name in an HTTP Host header, without its port ("[::1]:8000" -> "[::1]")."""
    if host_header.startswith("[") and "]" in host_header:
        return host_header[: host_header.index("]") + 1]
    if host_header.count(":") == 1:
        return host_header.rsplit(":", 1)[0]
    return host_header  # a name without a port (or a bare IPv6 address)


def _clamp(value: int, upper: int, lower: int = 1) -> int:
    return max(lower, min(int(value), upper))


def _die_with_parent(parent: int) -> Callable[[], None] | None:
    """A `preexec_fn` for the app's child process: on Linux, ask the kernel to send it SIGTERM
    when the server (pid `parent`) dies; None where there is no such thing."""
    import ctypes
    import ctypes.util
    import sys

    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1

    def arm() -> None:  # runs in the child between fork and exec
        prctl(pr_set_pdeathsig, int(signal.SIGTERM), 0, 0, 0)
        if os.getppid() != parent:  # the server died before the line above: follow it now
            os._exit(1)

    return arm


class AppProcess(AppService):
    """One app process (for one browser tab), started from an argument list, in its own session."""

    def __init__(self, argv: Sequence[str], **kwargs) -> None:
        """`argv`: the app's command line; the rest as for textual-serve's AppService."""
        super().__init__(" ".join(argv), **kwargs)
        self.argv = list(argv)

    async def _open_app_process(
        self, width: int = 80, height: int = 24
    ) -> asyncio.subprocess.Process:
        """Start the app with the web driver's environment (no shell in between)."""
        environment = self._build_environment(width=width, height=height)
        self._process = process = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=environment,
            start_new_session=True,  # a terminal's Ctrl-C goes to the server, which stops us
            preexec_fn=_die_with_parent(os.getpid()),
        )
        assert process.stdin is not None
        self._stdin = process.stdin
        return process

    async def run(self) -> None:
        """Relay the app's output to its tab until the app's process ends, then close the tab's
        connection, so the page says "Session ended" (with Restart). An app that could not
        start (its model file damaged or removed since the server started) ends without the
        exit message a quitting app sends, which left the page at "starting..." for ever."""
        try:
            await super().run()
        finally:
            with contextlib.suppress(Exception):  # the connection may be gone already
                await self.remote_close()

    async def start(self, width: int, height: int) -> None:
        """Start the app on a terminal of (clamped) `width` x `height`."""
        await super().start(_clamp(width, MAX_COLUMNS), _clamp(height, MAX_ROWS))

    async def set_terminal_size(self, width: int, height: int) -> None:
        """The browser's terminal was resized (clamped like the starting size)."""
        await super().set_terminal_size(_clamp(width, MAX_COLUMNS), _clamp(height, MAX_ROWS))

    async def shut_down(self) -> None:
        """Ask the app to quit and wait for it to exit; kill it after QUIT_GRACE seconds."""
        process = self._process
        if process is None:
            return

        async def quit_and_exit() -> None:
            await self.stop()  # sends "quit", returns once the app has closed its output
            await process.wait()

        try:
            await asyncio.wait_for(quit_and_exit(), QUIT_GRACE)
        except (asyncio.TimeoutError, OSError, RuntimeError):
            # Not quitting in time (or cannot be told to): killed.
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()


class DigitsServer(Server):
    """textual-serve's server for the digits app (see the module docstring)."""

    def __init__(
        self,
        app_argv: Sequence[str],
        host: str,
        port: int,
        on_started: Callable[[int], None] | None = None,
    ) -> None:
        """Serve `app_argv` (one process per tab) on host:port; `on_started(port)` once bound."""
        super().__init__(" ".join(app_argv), host=host, port=port, title=TITLE)
        self.app_argv = list(app_argv)
        self.loopback_only = is_loopback(host)
        self.on_started = on_started
        self.apps: set[AppProcess] = set()
        self._page = Template(PAGE.read_text(encoding="utf-8"))

    # -- the web application ---------------------------------------------------------------------
    async def _make_app(self) -> web.Application:
        """Routes: the page, the websocket, downloads and textual-serve's static files."""
        app = web.Application(middlewares=[self._check_host])
        app.add_routes(
            [
                web.get("/", self.handle_index, name="index"),
                web.get("/ws", self.handle_websocket, name="websocket"),
                web.get("/download/{key}", self.handle_download, name="download"),
                web.static("/static", self.statics_path, name="static"),
            ]
        )
        app.on_shutdown.append(self.on_shutdown)
        return app

    @web.middleware
    async def _check_host(self, request: web.Request, handler):
        """Bound to loopback: answer only requests addressed to a loopback name (DNS rebinding)."""
        if self.loopback_only and not is_loopback(host_name(request.host)):
            raise web.HTTPForbidden(text="digits serve: this server answers only on loopback")
        return await handler(request)

    async def handle_index(self, request: web.Request) -> web.Response:
        """The page, with URLs on the address the browser used."""
        scheme = "wss" if request.scheme == "https" else "ws"
        page = self._page.substitute(
            title=html.escape(TITLE),
            static="/static/",
            websocket_url=html.escape(f"{scheme}://{request.host}/ws"),
            font_size=_clamp(to_int(request.query.get("fontsize", "16"), 16),
                             FONT_SIZES[1], FONT_SIZES[0]),
        )
        return web.Response(text=page, content_type="text/html")

    async def handle_websocket(self, request: web.Request) -> web.StreamResponse:
        """A browser tab connected: run one app process for it until either side closes."""
        origin = request.headers.get("Origin")
        if origin is not None and origin != f"{request.scheme}://{request.host}":
            raise web.HTTPForbidden(text="digits serve: websocket from another site refused")
        websocket = web.WebSocketResponse(heartbeat=15)
        width = to_int(request.query.get("width", "80"), 80)
        height = to_int(request.query.get("height", "24"), 24)
        app: AppProcess | None = None
        try:
            await websocket.prepare(request)
            app = AppProcess(
                self.app_argv,
                write_bytes=websocket.send_bytes,
                write_str=websocket.send_str,
                close=websocket.close,
                download_manager=self.download_manager,
            )
            self.apps.add(app)
            await app.start(width, height)
            await self._process_messages(websocket, app)
        except asyncio.CancelledError:
            await websocket.close()
        except Exception:  # noqa: BLE001 - one bad session must not stop the server
            log.exception("app session failed")
        finally:
            if app is not None:
                await app.shut_down()
                self.apps.discard(app)
        return websocket

    async def on_shutdown(self, app: web.Application) -> None:
        """The server is stopping: stop every app process (killing those that do not quit)."""
        await asyncio.gather(*(service.shut_down() for service in list(self.apps)))

    # -- running -------------------------------------------------------------------------------
    async def run(self) -> None:
        """Serve until SIGINT, SIGTERM or SIGHUP, then stop every app process.

        A port that cannot be bound raises the OSError (EADDRINUSE...) before anything is served.
        """
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        signals = [signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)]
        handled = []
        for signum in filter(None, signals):
            with contextlib.suppress(NotImplementedError):  # no signal handlers on Windows
                loop.add_signal_handler(signum, stop.set)
                handled.append(signum)
        runner = web.AppRunner(
            await self._make_app(), handle_signals=False, access_log=None, shutdown_timeout=5
        )
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port)
            await site.start()
            port = runner.addresses[0][1] if runner.addresses else self.port
            if self.on_started is not None:
                self.on_started(port)
            await stop.wait()
        finally:
            await runner.cleanup()
            for signum in handled:
                loop.remove_signal_handler(signum)

    def serve(self, debug: bool = False) -> None:
        """Run the server in a new event loop until it is stopped."""
        asyncio.run(self.run())
