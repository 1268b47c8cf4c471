"""Helpers the TUI tests share: waiting for the app, and mouse events as a terminal sends them."""

from __future__ import annotations

import time

from textual import events


async def wait_for(pilot, condition, timeout: float = 60.0) -> None:
    """Let the app run until `condition()` holds (the timeout only guards against a hang)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        await pilot.pause(0.02)


def mouse_event(kind: type[events.MouseEvent], x: int, y: int, button: int = 1
                ) -> events.MouseEvent:
    """A mouse event at terminal cell (x, y), as the driver builds it from terminal input."""
    return kind(None, x, y, 0, 0, button, False, False, False, screen_x=x, screen_y=y)


async def drag_to(pilot, widget, offset: tuple[int, int], button: int = 1) -> None:
    """Move the pointer to `offset` in `widget` with `button` held, as a terminal reports a drag.

    (Pilot's `hover` reports a motion with no button held: a button released, to the canvas.)
    """
    await pilot._post_mouse_events([events.MouseMove], widget, offset, button=button)
