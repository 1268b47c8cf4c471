"""Ten labelled bars, one per digit, with the network's probability for each.

`Probabilities.show(probs)` takes the (10,) probabilities (any sequence of floats) or None for
"no guess" (empty bars, dashes). The most likely digit's row is highlighted. Bars use eighth
blocks, so a probability moves the bar's end by an eighth of a cell. With room for it (19 rows or
more) the rows are spaced by a blank line. Colours come from component classes (theme variables).

While a digit is drawn the probabilities change many times a second, mostly in a few rows: `show`
repaints only the rows whose text or bar changed, and each row's strip is kept until it does
(and, finished for the screen, by `DirectLines`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.geometry import Region, Size
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from tui.widgets.lines import DirectLines
from tui.widgets.repaint import repaint

N_CLASSES = 10
_EIGHTHS = " ▏▎▍▌▋▊▉"
_LABEL_WIDTH = 2  # "7 "
_VALUE_WIDTH = 7  # " 100.0%"


def bar_cells(fraction: float, width: int) -> tuple[int, str]:
    """(full cells, partial-cell glyph or "") for a bar of `fraction` (0..1) in `width` cells."""
    eighths = round(min(max(fraction, 0.0), 1.0) * width * 8)
    full, rest = divmod(eighths, 8)
    return full, _EIGHTHS[rest] if rest and full < width else ""


class Probabilities(DirectLines, Widget):
    """Bars for the ten digits; `show(probs)` updates them, `show(None)` empties them."""

    DEFAULT_CSS = """
    Probabilities {
        width: 1fr;
        min-width: 18;
        height: auto;
    }
    Probabilities > .probabilities--label {
        color: $text-muted;
    }
    Probabilities > .probabilities--bar {
        color: $primary;
        background: $boost;
    }
    Probabilities > .probabilities--top {
        color: $text-accent;
        background: $boost;
        text-style: bold;
    }
    """
    COMPONENT_CLASSES = {"probabilities--label", "probabilities--bar", "probabilities--top"}

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        """Start with no guess."""
        super().__init__(id=id, classes=classes)
        self._probs: tuple[float, ...] | None = None
        self._top: int | None = None
        # row: (size, the probabilities it was checked against, its strip, its key)
        self._strips: dict[int, tuple[Size, object, Strip, tuple[object, ...]]] = {}
        self._styles: tuple[Style, ...] | None = None  # see `_row_styles`
        self._keys: tuple[int, list[tuple[object, ...]]] = (-1, [])  # (width, each row's key)

    @property
    def probabilities(self) -> tuple[float, ...] | None:
        """The ten probabilities shown, or None when there is no guess."""
        return self._probs

    @property
    def top(self) -> int | None:
        """The highlighted (most likely) digit, or None."""
        return self._top

    def show(self, probs: Sequence[float] | None) -> None:
        """Show these ten probabilities (None: no guess); repaint the rows that change."""
        if probs is None:
            value = None
        elif isinstance(probs, np.ndarray):
            value = tuple(probs.tolist())
        else:
            value = tuple(float(p) for p in probs)
        if value is not None and len(value) != N_CLASSES:
            raise ValueError(f"expected {N_CLASSES} probabilities, got {len(value)}")
        if value == self._probs:
            return
        width = self.line_size.width
        kept_width, before = self._keys  # what the rows show, worked out by the last show
        if kept_width != width:
            before = [self._row_key(digit, width) for digit in range(N_CLASSES)]
        self._probs = value
        self._top = None if value is None else max(range(N_CLASSES), key=value.__getitem__)
        after = [self._row_key(digit, width) for digit in range(N_CLASSES)]
        self._keys = (width, after)  # what render_line will draw, worked out once
        rows = [digit for digit in range(N_CLASSES) if after[digit] != before[digit]]
        if rows and width:  # just those rows: the rows between them stay as they are
            spacing = self._spacing()
            repaint(self, *(Region(0, digit * spacing, width, 1) for digit in rows))
        elif rows:
            self.refresh()

    def _row_key(self, digit: int, width: int) -> tuple[object, ...]:
        """What row `digit` shows at this width: (top?, full cells, partial glyph, value)."""
        top = digit == self._top
        if self._probs is None:
            return (top,)
        p = self._probs[digit]
        return (top, *bar_cells(p, max(width - _LABEL_WIDTH - _VALUE_WIDTH, 1)),
                f" {p * 100:5.1f}%")

    def notify_style_update(self) -> None:
        """Theme or CSS changed: new styles, every row drawn again."""
        super().notify_style_update()
        self._styles = None
        self._strips.clear()

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        """One row per digit."""
        return N_CLASSES

    def _spacing(self) -> int:
        """Rows per digit: 2 when there is room for a blank line between bars, else 1."""
        return 2 if self.line_size.height >= 2 * N_CLASSES - 1 else 1

    @dataclass
    class Chosen(Message):
        """A digit's bar was clicked."""

        digit: int

    def digit_at(self, y: int) -> int | None:
        """The digit whose bar is on row `y`, or None for a spacer row."""
        digit, gap = divmod(y, self._spacing())
        return digit if not gap and 0 <= digit < N_CLASSES else None

    def on_click(self, event: events.Click) -> None:
        """A click on a bar posts `Chosen` with its digit."""
        offset = event.get_content_offset(self)
        digit = self.digit_at(offset.y) if offset is not None else None
        if digit is not None:
            event.stop()
            self.post_message(self.Chosen(digit))

    def render_line(self, y: int) -> Strip:
        """Row `y`: the label, the bar and the percentage of one digit (or a spacer row)."""
        size = self.line_size
        width = size.width
        cached = self._strips.get(y)
        if cached is not None and cached[0] == size and cached[1] is self._probs:
            return cached[2]  # nothing shown on this row changed since it was drawn
        spacing = self._spacing()
        digit, gap = divmod(y, spacing)
        if gap or digit >= N_CLASSES:
            return Strip.blank(width)
        keys = self._keys
        key = (width, spacing,
               keys[1][digit] if keys[0] == width else self._row_key(digit, width))
        if cached is not None and cached[3] == key:
            strip = cached[2]
        else:
            strip = self._render_row(digit, width)
        self._strips[y] = (size, self._probs, strip, key)
        return strip

    def _row_styles(self) -> tuple[Style, ...]:
        """(label, bar, track, top label, top bar, top track, top value): the styles of a row,
        worked out once per style update."""
        if self._styles is None:
            label = self.get_component_rich_style("probabilities--label")
            bar = self.get_component_rich_style("probabilities--bar")
            top_bar = self.get_component_rich_style("probabilities--top")
            top_label = label + Style(bold=True)
            self._styles = (label, bar, Style(bgcolor=bar.bgcolor), top_label, top_bar,
                            Style(bgcolor=top_bar.bgcolor), top_label + Style(color=top_bar.color))
        return self._styles

    def _render_row(self, digit: int, width: int) -> Strip:
        """The strip of `digit`'s row: label, bar and percentage."""
        label, bar, track, top_label, top_bar, top_track, top_value = self._row_styles()
        text = value_style = label
        if digit == self._top:
            text, bar, track, value_style = top_label, top_bar, top_track, top_value
        bar_width = max(width - _LABEL_WIDTH - _VALUE_WIDTH, 1)
        if self._probs is None:
            value = "     - "
            segments = [Segment(" " * bar_width, track)]
        else:
            _, full, partial, value = self._row_key(digit, width)
            rest = bar_width - full - len(partial)
            segments = [
                Segment("█" * full, bar),
                Segment(partial, bar),
                Segment(" " * rest, track),
            ]
        line = [Segment(f"{digit} ", text), *segments, Segment(value, value_style)]
        length = _LABEL_WIDTH + bar_width + len(value)  # a cell per character
        strip = Strip(line, length)
        return strip if length == width else strip.adjust_cell_length(width)
