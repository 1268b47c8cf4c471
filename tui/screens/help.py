"""The help screen (`?` / F1): every key binding of the screen it was opened from, and the app's."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from tui.widgets.modal import DismissOnce


def bindings_table(screen: Screen, title: str) -> Table:
    """A table of the bindings active on `screen`: key, what it does, where it comes from."""
    table = Table(title=title, expand=True, show_edge=False, header_style="bold")
    table.add_column("key", no_wrap=True)
    table.add_column("action")
    seen: set[tuple[str, str]] = set()
    for active in screen.active_bindings.values():
        binding = active.binding
        if not binding.description or binding.system:
            continue
        display = screen.app.get_key_display(binding)
        row = (display, binding.description)
        if row in seen:
            continue
        seen.add(row)
        table.add_row(Text(display, style="bold"), binding.description)
    return table


class HelpScreen(DismissOnce, ModalScreen[None]):
    """A modal listing the key bindings of the screen underneath; any of esc, q, ? closes it."""

    BINDINGS = [
        Binding("escape,q,question_mark,f1", "close", "Close help"),
    ]

    def __init__(self, screen: Screen, extra: str = "") -> None:
        super().__init__()
        self._target = screen
        self._extra = extra

    def compose(self) -> ComposeResult:
        """The bindings table and any extra notes from the screen."""
        title = f"Keys on the {getattr(self._target, 'TITLE', None) or 'current'} screen"
        with VerticalScroll(id="help-box"):
            yield Static(bindings_table(self._target, title))
            if self._extra:
                yield Static(self._extra, id="help-extra")
            yield Static("Press esc to close. ctrl+p opens the command palette.", id="help-hint")

    def action_close(self) -> None:
        """Close the help screen."""
        self.dismiss(None)
