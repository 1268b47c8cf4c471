"""Running `digits serve` as a user does (a subprocess), and watching the processes it starts.

`start_serve(ARGS)` starts the server (tests pass `--port 0`: a free port, which the server
prints) and waits for its address; the `serve` fixture (conftest.py) also stops it after the
test with SIGINT, as Ctrl-C would. The test modules skip themselves without the `web` extra
(textual-serve).
"""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

URL_LINE = re.compile(r"serving the app on (http://\S+/)")


@dataclass
class Served:
    """A running `digits serve`: its process, its page's URL, and what it printed."""

    process: subprocess.Popen
    url: str
    output: list[str] = field(default_factory=list)

    @property
    def origin(self) -> str:
        """scheme://host:port of the page."""
        return self.url.rstrip("/")

    def interrupt(self, timeout: float = 20) -> int:
        """Ctrl-C: SIGINT to the server, then wait for it to exit; its exit status."""
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=timeout)


def digits_serve_command(*args: str) -> list[str]:
    """`digits serve ARGS`, run by this Python."""
    return [sys.executable, "-m", "tui.cli", "serve", *args]


def start_serve(*args: str, timeout: float = 60) -> Served:
    """Start `digits serve ARGS` and wait for the line giving its address."""
    process = subprocess.Popen(
        digits_serve_command(*args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # our own Ctrl-C (SIGINT to the group) must not reach it
    )
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.2)
        if ready:
            line = process.stdout.readline()
            if line:
                lines.append(line)
                match = URL_LINE.search(line)
                if match:
                    return Served(process, match.group(1), lines)
        if process.poll() is not None:
            break
    process.kill()
    _, err = process.communicate()
    raise AssertionError(f"digits serve did not start: {''.join(lines)}{err}")


def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name, or None if the process is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def alive(pid: int) -> bool:
    """Whether the process exists and is not a zombie (dead, waiting to be reaped)."""
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z"


def _live_with(field: int, value: int) -> list[int]:
    """Live processes whose /proc stat field number `field` (after the name) equals `value`."""
    found = []
    for name in os.listdir("/proc"):
        fields = _stat(int(name)) if name.isdigit() else None
        if fields is not None and fields[0] != "Z" and int(fields[field]) == value:
            found.append(int(name))
    return found


def children(pid: int) -> list[int]:
    """Live processes whose parent is `pid`."""
    return _live_with(1, pid)


def in_session(sid: int) -> list[int]:
    """Live processes in session `sid` (an app process and anything it may have started)."""
    return _live_with(3, sid)


def command_line(pid: int) -> list[str]:
    """The argument list of a process."""
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")[:-1]


def wait_until(condition: Callable[[], object], timeout: float, what: str) -> object:
    """Poll `condition` every 50 ms until it is truthy; fail naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)
