"""The Paint screen's guess: one digit in Textual's 3x3 glyphs, in a box of fixed size, and the
confidence text beside it.

Textual's `Digits.update` lays the whole screen out again whenever the text's width changes,
which it does each time the guess appears or goes ("" is 0 columns, a digit 3). The guess is
one digit or nothing in a 3-column box (`width: 3`), so its size never changes and an update
repaints just the box: a layout of the Paint screen took 18 ms of a frame in a fast drag.

The confidence text changes with nearly every recognition during a drag. As a plain `Static`,
each change repainted all its rows through Textual's styles cache (0.8 ms a frame).
`ConfidenceText` lays the new text out once, keeps a row's strip when it did not change, and
repaints only the rows that did. Textual's own layout (`Visual.to_strips`: wrapping, alignment,
a style with its offsets for each run) still took 0.6-0.9 ms of a frame for two short lines,
so text whose lines fit the width is laid out here, cell for cell as Textual does it, with the
styles kept (`_direct_rows`); anything else (a line to wrap, other alignments, a selection)
takes Textual's path.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style as RichStyle
from textual.content import Content
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.style import Style
from textual.visual import Visual, VisualType, visualize
from textual.widget import Widget
from textual.widgets import Digits, Static

from tui.widgets.lines import DirectLines
from tui.widgets.repaint import repaint

_PADDING = object()  # the key of the padding's style among ConfidenceText's kept styles


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
            repaint(self, *([Region(0, 0, *size)] if size.area else []))

    def _restyled(self) -> None:
        """Styles, size or selection may have changed: draw the digits anew."""
        super()._restyled()
        self._glyphs = None

    def on_mount(self) -> None:
        """Draw every digit's rows once the screen is up (`prepare`)."""
        self.call_after_refresh(self.prepare)

    def prepare(self) -> None:
        """Draw the ten digits' rows now, while nothing else is going on: Textual draws a
        glyph in about 1 ms, which made the frame where a digit was first guessed one of a
        drag's longest (four of the six longest frames of a 500-event drag)."""
        if self.line_size.area:
            for digit in "0123456789":
                self._rows(digit)

    def _rows(self, value: str) -> list[Strip]:
        """`value`'s rows at the current size and styles, as `Digits` draws them; kept."""
        size = self.line_size
        if self._glyphs is None:
            self._glyphs = {}
        rows = self._glyphs.get((value, size))
        if rows is None:
            shown, self._value = self._value, value
            try:  # Digits' own rendering, as `Widget.render_line` does it, for `value`
                visual = visualize(self, self.render(), markup=self._render_markup)
            finally:
                self._value = shown
            rows = Visual.to_strips(self, visual, size.width, size.height, self.visual_style)
            self._glyphs[(value, size)] = rows
        return rows

    def render_line(self, y: int) -> Strip:
        """Row `y` of the digit shown."""
        rows = self._rows(self._value)
        if 0 <= y < len(rows):
            return rows[y]
        return Strip.blank(self.line_size.width, self.visual_style.rich_style)


class ConfidenceText(DirectLines, Static):
    """A `Static` whose `update(..., layout=False)` repaints only the rows that changed."""

    _rows: list[Strip] | None = None  # the rows laid out for _rows_key
    _rows_key: tuple[object, ...] | None = None  # (id of the visual, size)
    _rows_visual: Visual | None = None  # that visual (kept, so that its id stays its own)
    _quiet = False  # inside `update`: Static's full refresh is not wanted
    _run_styles: dict[tuple[object, int, int], RichStyle] | None = None  # see `_direct_rows`

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
        self._run_styles = None

    def _lay_out(self) -> list[Strip]:
        """The rows for the current text, size and style; a row equal to the one shown before
        stays the same object (so its finished line is kept)."""
        size = self.line_size
        visual: Visual = self.visual
        key = (id(visual), size)
        if self._rows is not None and self._rows_key == key:
            return self._rows
        rows = self._direct_rows(visual, size)
        if rows is None:
            rows = Visual.to_strips(self, visual, size.width, size.height, self.visual_style)
        before = self._rows
        if before is not None and self._rows_key is not None:
            rows = [old if y < len(before) and (old := before[y]) == row else row
                    for y, row in enumerate(rows)]
        self._rows, self._rows_key, self._rows_visual = rows, key, visual
        return rows

    def _direct_rows(self, visual: Visual, size: Size) -> list[Strip] | None:
        """The rows `Visual.to_strips` lays `visual` out in, for `Content` whose lines all fit
        the width, with left-aligned text and no selection; None for anything else.

        Each run of text gets the style Textual gives it (the widget's style, plus the span's,
        with the run's offset for selection); those styles are kept per span style and offset.
        """
        styles = self.styles
        width, height = size
        if (not isinstance(visual, Content) or not width or self.text_selection is not None
                or styles.text_align not in ("left", "start") or styles.line_pad
                or styles.content_align_horizontal != "left"):
            return None
        text = visual.plain
        if not text.isascii() or "\t" in text:  # a cell per character
            return None
        lines = text.split("\n")
        if any(len(line) > width or line[-1:] == " " for line in lines):
            return None  # wrapped, or trailing spaces Textual's wrap may drop
        spans = sorted(visual._spans)
        breaks = []  # where each line starts
        start = 0
        for line in lines:
            breaks.append(start)
            start += len(line) + 1
        for span in spans:
            if span.end <= span.start:
                return None
            first = next(y for y, at in enumerate(breaks) if span.start < at + len(lines[y]) + 1)
            if span.end > breaks[first] + len(lines[first]):
                return None  # runs over a line's end
        if any(a.end > b.start for a, b in zip(spans, spans[1:], strict=False)):
            return None  # nested or overlapping spans
        if self._run_styles is None:
            self._run_styles = {}
        kept = self._run_styles
        base = self.visual_style
        rows = []
        for y, line in enumerate(lines[:height]):
            line_start = breaks[y]
            runs: list[tuple[int, int, object]] = []  # (start, end, span style) in the line
            x = 0
            for span in spans:
                a, b = span.start - line_start, span.end - line_start
                if b <= 0 or a >= len(line):
                    continue
                if a > x:
                    runs.append((x, a, None))
                runs.append((a, b, span.style))
                x = b
            if x < len(line):
                runs.append((x, len(line), None))
            segments = []
            for a, b, span_style in runs:
                style = kept.get((span_style, a, y))
                if style is None:
                    parts = [base] if span_style is None else [base, self._get_style(span_style)]
                    style = (base + Style.combine(parts)).rich_style_with_offset(a, y)
                    kept[(span_style, a, y)] = style
                segments.append(Segment(line[a:b], style))
            rows.append(Strip(segments, len(line)))
        if styles.content_align == ("left", "top"):
            return rows
        pad_style = kept.get((_PADDING, 0, 0))
        if pad_style is None:
            pad_style = kept[(_PADDING, 0, 0)] = (base + Style(reverse=False)).rich_style
        return list(Strip.align(rows, pad_style, width, height, "left",
                                styles.content_align_vertical))

    def render_line(self, y: int) -> Strip:
        """Row `y` of the laid-out text (blank below it)."""
        rows = self._lay_out()
        if 0 <= y < len(rows):
            return rows[y]
        return Strip.blank(self.line_size.width, self.visual_style.rich_style)
