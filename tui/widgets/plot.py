"""`Plot`: a small line chart of one series, drawn with braille dots (2x4 dots per cell).

The Train screen shows the live loss and the test accuracy per epoch with it. Values are only
scaled to dot positions: x spreads the points over the plot's width (several points landing in
one dot column draw the span between them), y maps the value range (or a fixed one) to the dot
rows. A gutter on the left shows the top and bottom of the range.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

_BITS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))
"""Braille dot bits by (row 0..3 within the cell, column 0..1 within the cell)."""
_BRAILLE = 0x2800


def braille_rows(columns: list[tuple[int, int] | None], height: int) -> list[str]:
    """Text rows of a braille chart.

    Args:
        columns: for each dot column (two per cell), the (top, bottom) dot rows to fill, with
            0 at the top and 4 * height - 1 at the bottom, or None to leave it empty.
        height: rows of cells.

    Returns:
        `height` strings of `ceil(len(columns) / 2)` braille characters.
    """
    width = (len(columns) + 1) // 2
    cells = [[0] * width for _ in range(height)]
    for x, span in enumerate(columns):
        if span is None:
            continue
        top, bottom = sorted(span)
        for dot in range(max(top, 0), min(bottom, 4 * height - 1) + 1):
            cells[dot // 4][x // 2] |= _BITS[dot % 4][x % 2]
    return ["".join(chr(_BRAILLE + bits) for bits in row) for row in cells]


class Plot(Widget):
    """A braille line chart of a series of numbers; `set_values`/`append` to change it.

    `low`/`high` fix the vertical range (e.g. 0..1 for an accuracy); by default it follows the
    data. With `log`, the rows are spaced by the logarithm of the value (for a loss, which
    falls by orders of magnitude); values <= 0 are then skipped, as are non-finite ones.
    """

    DEFAULT_CSS = """
    Plot {
        height: 6;
        border: round $primary-muted;
        border-title-color: $text-muted;
        border-title-align: left;
    }
    Plot > .plot--line {
        color: $accent;
    }
    Plot > .plot--axis {
        color: $text-muted;
    }
    """
    COMPONENT_CLASSES = {"plot--line", "plot--axis"}

    def __init__(
        self,
        title: str = "",
        *,
        fmt: str = "{:.3g}",
        low: float | None = None,
        high: float | None = None,
        empty: str = "",
        log: bool = False,
        bounds: tuple[float, float] | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """A plot with a border title, value format for the gutter, optional fixed range, and
        optional bounds no value can pass (an accuracy lies in 0..1), which the axis keeps to."""
        super().__init__(id=id, classes=classes)
        self.border_title = title
        self.fmt = fmt
        self.low, self.high = low, high
        self.empty = empty
        self.log_scale = log
        self.bounds = bounds
        self._values: list[float] = []
        self._cache: tuple[tuple[int, int, int], list[Strip]] | None = None
        self._version = 0

    @property
    def values(self) -> list[float]:
        """The plotted values (a copy)."""
        return list(self._values)

    def set_values(self, values: Iterable[float]) -> None:
        """Replace the series (non-finite values are dropped)."""
        self._values = [float(v) for v in values if self._plottable(v)]
        self._changed()

    def _plottable(self, value: float) -> bool:
        """Finite, and positive on a log scale."""
        return math.isfinite(value) and (value > 0 or not self.log_scale)

    def append(self, value: float) -> None:
        """Add one value at the right."""
        if self._plottable(value):
            self._values.append(float(value))
            self._changed()

    def clear(self) -> None:
        """Remove every value."""
        self.set_values([])

    def _changed(self) -> None:
        """Draw again."""
        self._version += 1
        self.refresh()

    def value_range(self) -> tuple[float, float]:
        """(bottom, top) of the vertical axis, in values."""
        data = self._values or [1.0, 10.0]
        low = min(data) if self.low is None else self.low
        high = max(data) if self.high is None else self.high
        if high <= low:
            pad = abs(high) * 0.05 or 0.5
            low, high = (low / 1.1, high * 1.1) if self.log_scale else (low - pad, high + pad)
            if self.bounds is not None:  # the padding stays within what a value can be
                low, high = max(low, self.bounds[0]), min(high, self.bounds[1])
        return low, high

    def _scale(self, value: float) -> float:
        """Where a value sits on the vertical axis (its log10 for a log plot)."""
        return math.log10(value) if self.log_scale else value

    def _columns(self, dots_x: int, dots_y: int, low: float, high: float
                 ) -> list[tuple[int, int] | None]:
        """(top, bottom) dot rows per dot column: the series scaled and joined point to point."""
        values = self._values
        columns: list[tuple[int, int] | None] = [None] * dots_x
        if not values or dots_x <= 0:
            return columns

        low, high = self._scale(low), self._scale(high)

        def row(v: float) -> int:
            """The dot row of a value (0 at the top)."""
            frac = (min(max(self._scale(v), low), high) - low) / (high - low)
            return round((1.0 - frac) * (dots_y - 1))

        def mark(x: int, top: int, bottom: int) -> None:
            """Fill dot rows top..bottom of column x (merged with what is there)."""
            old = columns[x]
            if old is not None:
                top, bottom = min(top, old[0]), max(bottom, old[1])
            columns[x] = (min(top, bottom), max(top, bottom))

        n = len(values)
        xs = [0] * n if n == 1 else [round(i * (dots_x - 1) / (n - 1)) for i in range(n)]
        rows = [row(v) for v in values]
        mark(xs[0], rows[0], rows[0])
        for i in range(1, n):
            x0, x1, r0, r1 = xs[i - 1], xs[i], rows[i - 1], rows[i]
            for x in range(x0, x1 + 1):  # the straight line between two points, column by column
                t0 = (x - x0 - 0.5) / max(x1 - x0, 1)
                t1 = (x - x0 + 0.5) / max(x1 - x0, 1)
                a = r0 + (r1 - r0) * min(max(t0, 0.0), 1.0)
                b = r0 + (r1 - r0) * min(max(t1, 0.0), 1.0)
                mark(x, round(a), round(b))
        return columns

    def _render_all(self, width: int, height: int) -> list[Strip]:
        """Every row of the plot for a content area of width x height cells."""
        axis = self.get_component_rich_style("plot--axis")
        line = self.get_component_rich_style("plot--line")
        low, high = self.value_range()
        labels = [self.fmt.format(high), self.fmt.format(low)] if self._values else ["", ""]
        gutter = min(max(len(s) for s in labels) + 1, max(width - 2, 0))
        plot_w = width - gutter
        columns = self._columns(2 * plot_w, 4 * height, low, high)
        text_rows = braille_rows(columns, height)
        strips = []
        for y in range(height):
            label = labels[0] if y == 0 else labels[1] if y == height - 1 else ""
            segments = []
            if gutter:
                segments.append(Segment(label[: gutter - 1].rjust(gutter - 1) + "│", axis))
            body = text_rows[y]
            if not self._values and y == height // 2 and self.empty:
                body = self.empty[:plot_w].center(plot_w)
                segments.append(Segment(body, axis))
            else:
                segments.append(Segment(body, line))
            strips.append(Strip(segments).adjust_cell_length(width))
        return strips

    def render_line(self, y: int) -> Strip:
        """Row `y` of the chart."""
        width, height = self.size
        key = (width, height, self._version)
        if self._cache is None or self._cache[0] != key:
            self._cache = (key, self._render_all(width, height) if width and height else [])
        strips = self._cache[1]
        return strips[y] if 0 <= y < len(strips) else Strip.blank(width, Style())

    def notify_style_update(self) -> None:
        """Theme change: draw again with the new colours."""
        super().notify_style_update()
        self._cache = None
