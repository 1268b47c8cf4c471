"""`Dropdown`: Textual's `Select`, with its list safe to page through before it is laid out.

Textual 8.2's `OptionList._move_page` looks the highlighted option up in a line map that is
only filled in when the list is first laid out. A page-down or page-up that reaches a dropdown
in the same frame as the click that opened it (a fast user, a busy machine, a queued key)
raised KeyError and took the whole app down. Here such a key waits for the layout: it does
nothing until the list has lines. Everything else is `Select` unchanged (its messages, CSS type
and queries all match `Select`).
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Select
from textual.widgets._select import SelectCurrent, SelectOverlay

__all__ = ["Dropdown"]


class _Overlay(SelectOverlay):
    """The dropdown's option list, ignoring page moves until it has been laid out."""

    def _move_page(self, direction: int) -> None:
        """Move the highlight a page up (-1) or down (1), once the lines exist."""
        highlighted = self.highlighted or 0
        if not self._lines or highlighted not in self._index_to_line:
            return
        super()._move_page(direction)


class Dropdown(Select):
    """A `Select` whose overlay survives page keys pressed before its first layout."""

    def compose(self) -> ComposeResult:
        """The current value and the (safe) overlay, as `Select.compose` builds them."""
        yield SelectCurrent(self.prompt)
        yield _Overlay(type_to_search=self._type_to_search).data_bind(compact=Select.compact)
