"""`digits serve` without a browser: options, errors, its page, its app processes, Ctrl-C.

Browser tabs are played by websocket clients (aiohttp, which textual-serve brings): the server
starts one app process per websocket, exactly as for a tab.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

pytest.importorskip("textual_serve", reason="textual-serve is not installed (the 'web' extra)")

import aiohttp  # noqa: E402 - textual-serve's dependency, only there with it
from serve_helpers import (  # noqa: E402
    alive,
    children,
    command_line,
    digits_serve_command,
    in_session,
    wait_until,
)

from tui.cli import build_parser, main  # noqa: E402


def _fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    """GET `url`: (status, body text)."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")


async def _open_tab(origin: str, headers: dict[str, str] | None = None):
    """Connect to the app's websocket as a tab would, and wait for the app's first screen."""
    session = aiohttp.ClientSession()
    websocket = await session.ws_connect(
        f"{origin.replace('http', 'ws', 1)}/ws?width=100&height=30", headers=headers
    )
    while True:
        message = await asyncio.wait_for(websocket.receive(), 60)
        if message.type == aiohttp.WSMsgType.BINARY and len(message.data) > 100:
            return session, websocket  # the app drew its screen
        assert message.type in (aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT), message


def test_defaults_are_loopback_and_port_8000():
    args = build_parser().parse_args(["serve"])
    assert (args.host, args.port, args.open) == (None, 8000, False)
    from tui.cli.serve import DEFAULT_HOST

    assert DEFAULT_HOST == "127.0.0.1"


def test_the_page_has_its_title_and_only_local_resources(serve):
    served = serve("--port", "0")
    assert served.url.startswith("http://127.0.0.1:")
    status, page = _fetch(served.url)
    assert status == 200
    assert "<title>digits</title>" in page
    # Every resource the page names is on the server (relative) or inline (data:).
    for url in re.findall(r'(?:src|href)="([^"]*)"', page):
        assert url.startswith(("/", "data:")), url
    # The only absolute URL is the app's websocket, on the server.
    absolute = re.findall(r"[a-z]+://[^\s\"'<>)]+", page)
    assert absolute == [f"{served.origin.replace('http', 'ws', 1)}/ws"]
    # The font the page asks for is served.
    font = re.search(r'url\("(/static/fonts/[^"]+)"\)', page).group(1)
    status, _ = _fetch(served.origin + font)
    assert status == 200


def test_a_font_size_the_page_cannot_show_is_clamped(serve):
    """?fontsize=0 or 1 left the page at "starting..." for ever; 400 made a 2x1 terminal."""
    served = serve("--port", "0")
    for asked, given in [("0", 6), ("1", 6), ("-5", 6), ("12", 12), ("400", 64), ("x", 16)]:
        status, page = _fetch(f"{served.url}?fontsize={asked}")
        assert status == 200 and f'data-font-size="{given}"' in page, asked


def test_other_host_names_and_other_sites_websockets_are_refused(serve):
    served = serve("--port", "0")
    port = served.url.rsplit(":", 1)[1].strip("/")
    # DNS rebinding: a page on another name that resolves to 127.0.0.1.
    status, _ = _fetch(served.url, {"Host": f"attacker.example:{port}"})
    assert status == 403
    assert _fetch(served.url, {"Host": f"localhost:{port}"})[0] == 200

    async def handshake(origin: str) -> int:
        async with aiohttp.ClientSession() as session:
            try:
                websocket = await session.ws_connect(
                    f"ws://127.0.0.1:{port}/ws", headers={"Origin": origin}
                )
            except aiohttp.WSServerHandshakeError as error:
                return error.status
            await websocket.close()
            return 101

    assert asyncio.run(handshake("http://attacker.example")) == 403
    assert asyncio.run(handshake(served.origin)) == 101


def test_each_tab_gets_its_own_app_and_ctrl_c_leaves_no_process(serve, tmp_path, mnist_dir):
    from network.store import shipped_model_path

    model = tmp_path / "model.npz"
    model.write_bytes(shipped_model_path().read_bytes())
    served = serve("--port", "0", "--model", str(model), "--data-dir", str(mnist_dir))
    server = served.process.pid

    async def tabs_then_ctrl_c() -> tuple[dict[int, list[str]], int, int]:
        first, second = [await _open_tab(served.origin) for _ in range(2)]
        apps = {pid: command_line(pid) for pid in children(server)}  # both tabs open
        # Closing a tab ends its app; the other one runs on.
        await first[1].close()
        await first[0].close()
        await asyncio.to_thread(wait_until, lambda: len(children(server)) == 1, 15, "an exit")
        (running,) = children(server)
        # Ctrl-C with a tab open: the server stops its app, then exits.
        status = await asyncio.to_thread(served.interrupt)
        await second[0].close()
        return apps, running, status

    apps, running, status = asyncio.run(tabs_then_ctrl_c())
    assert len(apps) == 2  # one app process per tab, each with the server's options
    for argv in apps.values():
        assert argv[argv.index("--model") + 1] == str(model)
        assert argv[argv.index("--data-dir") + 1] == str(mnist_dir)
    assert running in apps
    assert status == 0
    assert not any(alive(pid) for pid in apps)  # no orphan
    assert in_session(running) == []  # nor anything the app might have started
    assert "Traceback" not in served.process.stderr.read()


def test_an_app_that_cannot_start_ends_its_tab(serve, tmp_path):
    """The model file damaged after the server checked it: the tab's app exits at once, and the
    tab is told (the page then says "Session ended"); it was left at "starting..." for ever."""
    import shutil

    from network.store import shipped_model_path

    model = tmp_path / "model.npz"
    shutil.copyfile(shipped_model_path().with_name("conv.npz"), model)
    served = serve("--port", "0", "--model", str(model))
    model.write_text("no longer a model\n")

    async def open_tab() -> aiohttp.WSMessage:
        async with aiohttp.ClientSession() as session:
            url = f"{served.origin.replace('http', 'ws', 1)}/ws?width=100&height=30"
            async with session.ws_connect(url) as websocket:
                while True:
                    message = await asyncio.wait_for(websocket.receive(), 60)
                    if message.type not in (aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT):
                        return message

    assert asyncio.run(open_tab()).type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    wait_until(lambda: not children(served.process.pid), 15, "the app's exit")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal: Linux")
def test_an_app_does_not_outlive_a_killed_server(serve, mnist_dir):
    served = serve("--port", "0", "--data-dir", str(mnist_dir))

    apps: list[int] = []

    async def open_then_kill() -> None:
        session, websocket = await _open_tab(served.origin)
        apps.extend(children(served.process.pid))
        served.process.kill()  # SIGKILL: the server cannot stop its apps itself
        served.process.wait()
        try:
            await asyncio.to_thread(wait_until, lambda: not any(map(alive, apps)), 30,
                                    "the app's exit")
        finally:
            await websocket.close()
            await session.close()

    try:
        asyncio.run(open_then_kill())
        assert len(apps) == 1 and in_session(apps[0]) == []
    finally:
        for pid in filter(alive, apps):  # an orphan must not outlive a failed test
            os.kill(pid, signal.SIGKILL)


def test_port_in_use_is_one_line_naming_it(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            digits_serve_command("--port", str(port)), capture_output=True, text=True, timeout=60
        )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert str(port) in lines[0] and "--port" in lines[0] and "in use" in lines[0]


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--port", "70000"], "port must be an integer in 0..65535"),
        (["--port", "http"], "port must be an integer in 0..65535"),
        (["--host", ""], "--host must not be empty"),
        (["--model", "/nonexistent/model.npz"], "model.npz"),
    ],
)
def test_bad_options_are_one_line(args, fragment):
    result = subprocess.run(
        digits_serve_command("--port", "0", *args), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert fragment in result.stderr and "Traceback" not in result.stderr


def test_non_loopback_address_warns_and_serves(serve):
    served = serve("--host", "0.0.0.0", "--port", "0")
    port = served.url.rsplit(":", 1)[1].strip("/")
    assert _fetch(f"http://127.0.0.1:{port}/")[0] == 200
    assert served.interrupt() == 0
    warning = served.process.stderr.read()
    assert "not a loopback address" in warning
    assert "anyone who can reach it can use the app and its models folder" in warning


def test_open_opens_the_page_in_the_default_browser(serve, tmp_path, monkeypatch):
    opened = tmp_path / "opened"
    browser = tmp_path / "browser.py"
    browser.write_text(
        f"import sys, pathlib; pathlib.Path({str(opened)!r}).write_text(sys.argv[1])"
    )
    monkeypatch.setenv("BROWSER", f"{sys.executable} {browser} %s")
    served = serve("--port", "0", "--open")
    wait_until(opened.exists, 15, "the browser to be started")
    assert opened.read_text() == served.url


def test_open_without_a_browser_says_to_open_the_page_by_hand(monkeypatch, capsys):
    """With no browser to start (none installed, no display), `--open` said nothing: the user
    waited for a page that never came."""
    import webbrowser

    from tui.cli.serve import open_in_browser

    monkeypatch.setattr(webbrowser, "open", lambda url: False)
    open_in_browser("http://127.0.0.1:8000/")
    assert capsys.readouterr().err == ("digits serve: found no web browser to open; open "
                                       "http://127.0.0.1:8000/ in one\n")

    def refuse(url):
        raise webbrowser.Error("could not locate runnable browser")

    monkeypatch.setattr(webbrowser, "open", refuse)
    open_in_browser("http://127.0.0.1:8000/")
    assert capsys.readouterr().err.startswith("digits serve: found no web browser")


def test_without_the_web_extra_says_how_to_get_it(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "textual_serve", None)  # as if not installed
    monkeypatch.delitem(sys.modules, "tui.web.server", raising=False)
    assert main(["serve"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0
    assert "pip install 'digits-tui[web]'" in error


def test_loopback_names():
    from tui.web.server import host_name, is_loopback

    for host in ("127.0.0.1", "127.3.2.1", "localhost", "::1", "[::1]", "app.localhost"):
        assert is_loopback(host), host
    for host in ("0.0.0.0", "::", "192.168.1.5", "example.com", "localhost.example.com"):
        assert not is_loopback(host), host
    assert host_name("[::1]:8000") == "[::1]"
    assert host_name("localhost:8000") == "localhost"
    assert host_name("example.com") == "example.com"
