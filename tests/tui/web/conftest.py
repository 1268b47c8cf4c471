"""The `serve` fixture: `digits serve` subprocesses, each stopped (SIGINT) after its test."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable, Iterator

import pytest
from serve_helpers import Served, alive, children, start_serve


@pytest.fixture
def serve() -> Iterator[Callable[..., Served]]:
    """A factory starting `digits serve ARGS`; every server started is stopped afterwards."""
    started: list[Served] = []

    def start(*args: str) -> Served:
        served = start_serve(*args)
        started.append(served)
        return served

    yield start
    for served in started:
        apps = children(served.process.pid)
        if served.process.poll() is None:
            try:
                served.interrupt()
            except subprocess.TimeoutExpired:
                served.process.kill()
                served.process.wait()
        for pid in apps:  # the server stops them; a failed test must not leave them behind
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
