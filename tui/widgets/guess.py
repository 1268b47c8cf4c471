"""The Paint screen's guess: one digit in Textual's 3x3 glyphs, in a box of fixed size, and the
confidence text beside it.

Textual's `Digits.update` lays the whole screen out again whenever the text's width changes,
which it does each time the guess appears or goes ("" is 0 columns, a digit 3). The guess is
one digit or nothing in a 3-column box (`width: 3`), so its size never changes and an update
repaints just the box: a layout of the Paint screen took 18 ms of a frame in a fast drag.

The confidence text changes with nearly every recognition during a drag. As a plain `Static`,
each change repainted all its rows through Textual's styles cache (0.8 ms a frame).
`ConfidenceText` lays the new text out once (Textual's own `Visual.to_strips`, so it looks the
same), keeps a row's strip when it did not change, and repaints only the rows that did.
"""

from __future__ import annotations

from textual.geometry import Region, Size
from textual.strip import Strip
from textual.visual import Visual, VisualType
from textual.widget import Widget
from textual.widgets import Digits, Static

from tui.widgets.lines import DirectLines
from tui.widgets.repaint import repaint


class GuessDigit(DirectLines, Digits):
    """A single digit (or nothing) in Digits' 3x3 glyphs; updating it never lays out, and each
    digit's rows are drawn once (per size and style) and kept."""

    DEFAULT_CSS = """
    GuessDigit {
        width: 3;
    }
    """
    _glyphs: dict[tuple[str, Size], list[Strip]] | None = None  # rows by (digit, size)

    def update(self, value: str) -> None:
        """Show `value`: one digit, or "" for none."""
        if not isinstance(value, str) or len(value) > 1:
            raise ValueError(f"a guess is one digit or empty, got {value!r}")
        if value != self.value:
            self._value = value
            size = self.line_size
            self._layout_cache.clear()  # Digits' visual for the old value
            repaint(self, *([Region(0, 0, *size)] if size.area else []))

    def _restyled(self) -> None:
        """Styles, size or selection may have changed: draw the digits anew."""
        super()._restyled()
        self._glyphs = None

    def render_line(self, y: int) -> Strip:
        """Row `y` of the digit shown, drawn by `Digits` the first time it is shown."""
        size = self.line_size
        if self._glyphs is None:
            self._glyphs = {}
        rows = self._glyphs.get((self._value, size))
        if rows is None:
            rows = self._glyphs[(self._value, size)] = [
                super(GuessDigit, self).render_line(row) for row in range(size.height)]
        if 0 <= y < len(rows):
            return rows[y]
        return Strip.blank(size.width, self.visual_style.rich_style)


class ConfidenceText(DirectLines, Static):
    """A `Static` whose `update(..., layout=False)` repaints only the rows that changed."""

    _rows: list[Strip] | None = None  # the rows laid out for _rows_key
    _rows_key: tuple[object, ...] | None = None  # (id of the visual, size)
    _rows_visual: Visual | None = None  # that visual (kept, so that its id stays its own)
    _quiet = False  # inside `update`: Static's full refresh is not wanted

    def __init__(self, content: VisualType = "", *, id: str | None = None) -> None:
        """A Static showing `content`; its text has no links, so Textual's link styling (a
        fifth of the time to lay the text out) is off."""
        super().__init__(content, id=id)
        self.set_reactive(Widget.auto_links, False)

    def update(self, content: VisualType = "", *, layout: bool = True) -> None:
        """Show `content` (markup as for a `Static`). With `layout=False` (the widget's size
        does not depend on it) only the rows whose strips change are repainted."""
        if layout or not self.is_mounted or not self.line_size.area:
            super().update(content, layout=layout)
            return
        self._quiet = True
        try:
            super().update(content, layout=False)
        finally:
            self._quiet = False
        before = self._rows
        rows = self._lay_out()
        changed = [y for y, row in enumerate(rows)
                   if before is None or y >= len(before) or before[y] != row]
        if changed:
            width = self.line_size.width
            repaint(self, *(Region(0, y, width, 1) for y in changed))

    def refresh(self, *regions, **kwargs):  # type: ignore[no-untyped-def]
        """Textual's refresh, except inside `update`."""
        if self._quiet:
            return self
        return super().refresh(*regions, **kwargs)

    def _restyled(self) -> None:
        """Styles, size or selection may have changed: lay the text out again."""
        super()._restyled()
        self._rows_key = None

    def _lay_out(self) -> list[Strip]:
        """The rows for the current text, size and style; a row equal to the one shown before
        stays the same object (so its finished line is kept)."""
        size = self.line_size
        visual: Visual = self.visual
        key = (id(visual), size)
        if self._rows is not None and self._rows_key == key:
            return self._rows
        rows = Visual.to_strips(self, visual, size.width, size.height, self.visual_style)
        before = self._rows
        if before is not None and self._rows_key is not None:
            rows = [old if y < len(before) and (old := before[y]) == row else row
                    for y, row in enumerate(rows)]
        self._rows, self._rows_key, self._rows_visual = rows, key, visual
        return rows

    def render_line(self, y: int) -> Strip:
        """Row `y` of the laid-out text (blank below it)."""
        rows = self._lay_out()
        if 0 <= y < len(rows):
            return rows[y]
        return Strip.blank(self.line_size.width, self.visual_style.rich_style)
