"""What every screen of the app shares: header, footer, and the too-small-terminal message.

A screen subclasses `DigitsScreen` and implements `compose_body()`. The app sets breakpoint
classes on each screen (`-narrow`/`-short` below 80x24); app.tcss then hides the body and shows
`TooSmall`, which says what size is needed, and the layout comes back when the terminal grows.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Container
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Static

from tui.widgets.modebar import ModeBar

MIN_WIDTH = 80
MIN_HEIGHT = 24


class TooSmall(Static):
    """Shown instead of a screen's body when the terminal is below the minimum size."""

    def on_mount(self) -> None:
        """Fill in the message for the current size."""
        self._update_message()

    def on_resize(self) -> None:
        """Keep the message in step with the terminal's size."""
        self._update_message()

    def _update_message(self) -> None:
        width, height = self.app.size
        self.update(
            f"Terminal too small: {width}x{height}.\n"
            f"digits needs at least {MIN_WIDTH}x{MIN_HEIGHT}; please enlarge the window."
        )


class DigitsScreen(Screen[None]):
    """Base screen: the mode bar, the screen's body (`compose_body`), a footer with the keys."""

    MODE = ""
    """The app mode this screen is the base of ("paint", "train", ...), highlighted in the bar."""

    def compose(self) -> ComposeResult:
        """Mode bar, body, too-small message, footer."""
        yield ModeBar(self.MODE or self.app.current_mode)
        with Container(id="body"):
            yield from self.compose_body()
        yield TooSmall(id="too-small")
        yield Footer()

    def compose_body(self) -> ComposeResult:
        """The screen's own widgets (override)."""
        yield from ()

    @property
    def body(self) -> Widget:
        """The container holding this screen's own widgets."""
        return self.query_one("#body")
