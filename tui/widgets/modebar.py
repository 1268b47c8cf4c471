"""The bar at the top of every screen: the app's name and its screens, each clickable.

    ✎ digits   F2 Paint   F3 Train   F4 Evaluate   F5 Models   F6 Drawings           F1 help

The current screen is highlighted. It replaces Textual's Header, so the Footer has room for the
current screen's own keys even at 80 columns.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

SCREENS = (("paint", "F2", "Paint"), ("train", "F3", "Train"), ("evaluate", "F4", "Evaluate"),
           ("models", "F5", "Models"), ("drawings", "F6", "Drawings"))


class ModeBar(Horizontal):
    """One line: title, the screens (click or function key), and a hint on the right."""

    DEFAULT_CSS = """
    ModeBar {
        height: 1;
        background: $panel;
        color: $text;
    }
    ModeBar > #modebar-modes {
        width: 1fr;
    }
    ModeBar > #modebar-hint {
        width: auto;
        color: $text-muted;
        padding-right: 1;
    }
    """

    def __init__(self, current: str) -> None:
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        """The modes on the left, the help hint on the right."""
        parts = [" [b]✎ digits[/b] "]
        for mode, key, title in SCREENS:
            label = f" {key} {title} "
            if mode == self.current:
                parts.append(f"[reverse]{label}[/reverse]")
            else:
                parts.append(f"[@click=app.switch_mode('{mode}')]{label}[/]")
        yield Static(" ".join(parts), id="modebar-modes", markup=True)
        yield Static("F1 help", id="modebar-hint")
