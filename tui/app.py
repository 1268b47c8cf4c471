"""The digits Textual app (a minimal shell until the Paint screen lands)."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Footer, Header, Static


class DigitsApp(App[None]):
    """Paint a digit and watch the network recognize it."""

    TITLE = "digits"

    def compose(self) -> ComposeResult:
        """Header, a welcome line, and the key bindings in the footer."""
        yield Header()
        yield Static("digits: the Paint screen is on its way. Press ctrl+q to quit.")
        yield Footer()


def run(model: str | None = None, data_dir: str | None = None) -> int:
    """Run the app until the user quits; returns the exit status."""
    DigitsApp().run()
    return 0
