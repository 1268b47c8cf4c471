"""`ConfusionMatrix`: a 10x10 confusion matrix as a grid of counts shaded by size.

Rows are the true digit, columns the predicted one. The diagonal (correct) cells are shaded
towards the theme's success colour, the others towards its error colour; `network.report.
shade_levels` says how strongly (diagonal and confusions scaled separately). Zero cells show a
faint dot. Clicking a cell posts `ConfusionMatrix.CellSelected(true, predicted)`. `cell` is the
width of a cell: one column more than the longest count has digits (at least `MIN_CELL`), so
there is always a blank between two counts: 5 for MNIST's test set, whose digits have up to
1,135 images each.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.color import Color
from textual.geometry import Size
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from network.report import shade_levels

MIN_CELL = 5
"""Fewest columns per cell: counts of up to four digits, right-aligned, after a blank column."""
GUTTER = 3
"""Columns of the row labels ('4 │')."""
LEVELS = 5


class ConfusionMatrix(Widget):
    """(K, K) counts, rows true and columns predicted, with a header row of predicted digits."""

    DEFAULT_CSS = """
    ConfusionMatrix {
        width: auto;
        height: auto;
        border: round $primary-muted;
        border-title-color: $text-muted;
        border-subtitle-color: $text-muted;
    }
    ConfusionMatrix > .confusion--paper {
        background: $surface;
        color: $foreground;
    }
    ConfusionMatrix > .confusion--correct {
        background: $success;
    }
    ConfusionMatrix > .confusion--wrong {
        background: $error;
    }
    ConfusionMatrix > .confusion--label {
        color: $text-muted;
    }
    """
    COMPONENT_CLASSES = {"confusion--paper", "confusion--correct", "confusion--wrong",
                         "confusion--label"}

    @dataclass
    class CellSelected(Message):
        """A cell was clicked: show the images of `true` predicted as `predicted`."""

        true: int
        predicted: int

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        """An empty matrix until `set_matrix`."""
        super().__init__(id=id, classes=classes)
        self.border_title = "confusion: rows true, columns predicted"
        self._counts = np.zeros((10, 10), dtype=np.int64)
        self._levels = np.zeros((10, 10), dtype=np.int64)
        self._empty = True
        self.cell = MIN_CELL

    @property
    def counts(self) -> np.ndarray:
        """The (K, K) counts shown (a copy)."""
        return self._counts.copy()

    def set_matrix(self, confusion: np.ndarray | None) -> None:
        """Show a (K, K) confusion matrix (None: an empty grid)."""
        if confusion is None:
            self._counts = np.zeros((10, 10), dtype=np.int64)
            self._empty = True
        else:
            self._counts = np.asarray(confusion, dtype=np.int64)
            self._empty = False
        self.cell = max(MIN_CELL, len(str(int(self._counts.max(initial=0)))) + 1)
        self._levels = shade_levels(self._counts, LEVELS)
        self.refresh(layout=True)

    def get_content_width(self, container: Size, viewport: Size) -> int:
        """Row labels plus K cells."""
        return GUTTER + self.cell * self._counts.shape[1]

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        """A header row plus K rows."""
        return 1 + self._counts.shape[0]

    def _style(self, true: int, pred: int) -> Style:
        """Background shaded by the cell's level, text in a contrasting colour.

        ANSI themes' colours are the terminal's and cannot be blended (Textual's blend of
        two gives the second: every cell, zeros too, was in the full success or error colour,
        and the zeros' dots in their own background's colour): there a zero is on the paper,
        its dot dim, and any other count in the full colour."""
        paper = self.get_component_styles("confusion--paper")
        group = "confusion--correct" if true == pred else "confusion--wrong"
        full = self.get_component_styles(group).background
        level = int(self._levels[true, pred])
        ansi = paper.background.ansi is not None or full.ansi is not None
        if ansi and not level:
            return Style(bgcolor=paper.background.rich_color, color=paper.color.rich_color,
                         dim=True)
        back: Color = full if ansi else paper.background.blend(full, level / (LEVELS - 1) * 0.85)
        text = back.get_contrast_text(0.9) if level else paper.color.blend(back, 0.6)
        return Style(bgcolor=back.rich_color, color=text.rich_color,
                     bold=true == pred and level > 0)

    def render_line(self, y: int) -> Strip:
        """Row `y`: the header of predicted digits, then one row per true digit."""
        k = self._counts.shape[0]
        label = self.get_component_rich_style("confusion--label")
        width = GUTTER + self.cell * k
        if y == 0:
            head = " " * GUTTER + "".join(str(p).rjust(self.cell) for p in range(k))
            return Strip([Segment(head, label)]).adjust_cell_length(self.size.width)
        true = y - 1
        if not 0 <= true < k:
            return Strip.blank(self.size.width)
        segments = [Segment(f"{true} │".ljust(GUTTER), label)]
        for pred in range(k):
            count = int(self._counts[true, pred])
            text = "" if self._empty else (str(count) if count else "·")
            segments.append(Segment(text.rjust(self.cell), self._style(true, pred)))
        return Strip(segments, width).adjust_cell_length(self.size.width)

    def on_click(self, event: events.Click) -> None:
        """A click on a cell selects that (true, predicted) pair."""
        offset = event.get_content_offset(self)
        if offset is None or offset.y < 1 or offset.x < GUTTER:
            return
        true, pred = offset.y - 1, (offset.x - GUTTER) // self.cell
        k = self._counts.shape[0]
        if 0 <= true < k and 0 <= pred < k and not self._empty:
            self.post_message(self.CellSelected(true, pred))
