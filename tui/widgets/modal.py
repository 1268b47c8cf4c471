"""Screens that close once: the dialogs, the help screen and the command palette.

In Textual 8.2 `Screen.dismiss` pops whatever screen is on top, not the one it is called on, and
runs the result callback again. Two events queued behind each other -- a double click on a
dialog's button, a click then enter, a double click on the command palette's background, on a
busy machine or a fast hand -- dismissed a screen twice: the second call closed the screen under
it, ran the dialog's action a second time, or, with no screen left to pop, raised
ScreenStackError and took the app down (found by tests/tui/test_fuzz.py). `DismissOnce` makes a
second dismissal of a screen that is no longer on top do nothing.
"""

from __future__ import annotations

from typing import Any

from textual.await_complete import AwaitComplete
from textual.command import CommandPalette as TextualPalette
from textual.events import Click

__all__ = ["DismissOnce", "CommandPalette"]


class DismissOnce:
    """Mixin for a `Screen` subclass (put it first): `dismiss` works only while it is on top."""

    def dismiss(self, result: Any = None) -> AwaitComplete:
        """Close this screen with `result`, unless it is not the current screen (then nothing)."""
        if self.app.screen is not self:  # type: ignore[attr-defined]
            return AwaitComplete.nothing()
        return super().dismiss(result)  # type: ignore[misc]


class CommandPalette(DismissOnce, TextualPalette):
    """Textual's command palette, closed at most once."""

    def _on_click(self, event: Click) -> None:  # type: ignore[override]
        """A click on the background closes the palette, if it is still open."""
        if self.app.screen is self:
            super()._on_click(event)
