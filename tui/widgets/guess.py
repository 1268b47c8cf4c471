"""The Paint screen's guess: one digit in Textual's 3x3 glyphs, in a box of fixed size.

Textual's `Digits.update` lays the whole screen out again whenever the text's width changes,
which it does each time the guess appears or goes ("" is 0 columns, a digit 3). The guess is
one digit or nothing in a 3-column box (`width: 3`), so its size never changes and an update
repaints just the box: a layout of the Paint screen took 18 ms of a frame in a fast drag.
"""

from __future__ import annotations

from textual.widgets import Digits


class GuessDigit(Digits):
    """A single digit (or nothing) in Digits' 3x3 glyphs; updating it never lays out."""

    DEFAULT_CSS = """
    GuessDigit {
        width: 3;
    }
    """

    def update(self, value: str) -> None:
        """Show `value`: one digit, or "" for none."""
        if not isinstance(value, str) or len(value) > 1:
            raise ValueError(f"a guess is one digit or empty, got {value!r}")
        if value != self.value:
            self._value = value
            self.refresh()
