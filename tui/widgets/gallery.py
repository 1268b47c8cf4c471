"""`MistakeGallery`: the misclassified images after the one the browser shows, as many as fit.

On a tall or wide terminal the Evaluate screen has room below its matrix and browser; the
gallery fills it with thumbnails (each 28x28 in 28x14 half-block cells, with a caption line
"#625 6→4 54%") of the mistakes that follow the browser's current one, in the browser's filtered
order. A click on a thumbnail posts `MistakeGallery.Chosen` with its place in that order. It is
one Line API widget, and it draws nothing where not even one thumbnail fits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from mnist import SIDE
from tui.widgets.preview import GreyPaletteMixin, image_strip

THUMB_W, THUMB_H = SIDE, SIDE // 2  #: a thumbnail's image, in cells
GAP_W, GAP_H = 2, 1  #: blank columns between thumbnails, blank rows between their rows
CELL_W, CELL_H = THUMB_W + GAP_W, THUMB_H + 1 + GAP_H  #: one thumbnail with caption and gaps


@dataclass(frozen=True)
class Thumb:
    """One thumbnail: its place in the filtered list, its image and its caption."""

    position: int
    image: np.ndarray  #: (28, 28) uint8
    caption: str


class MistakeGallery(GreyPaletteMixin, Widget):
    """Thumbnails of upcoming mistakes; `show(thumbs)` sets them, clicks post `Chosen`."""

    DEFAULT_CSS = """
    MistakeGallery {
        width: 1fr;
        height: 1fr;
        padding: 0 1;
    }
    MistakeGallery > .gallery--paper {
        background: $surface;
        color: $foreground;
    }
    MistakeGallery > .gallery--caption {
        color: $text-muted;
    }
    """
    COMPONENT_CLASSES = {"gallery--paper", "gallery--caption"}

    @dataclass
    class Chosen(Message):
        """A thumbnail was clicked: `position` in the browser's filtered list."""

        position: int

    @dataclass
    class Resized(Message):
        """The gallery's size changed: the number of thumbnails that fit may have too."""

        gallery: MistakeGallery

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        """No thumbnails until `show`."""
        super().__init__(id=id, classes=classes)
        self._thumbs: list[Thumb] = []

    @property
    def capacity(self) -> int:
        """How many thumbnails fit in the widget's current size (0 when none does)."""
        return self.columns * self.rows

    @property
    def columns(self) -> int:
        """Thumbnails per row."""
        return max(0, (self.size.width + GAP_W) // CELL_W)

    @property
    def rows(self) -> int:
        """Rows of thumbnails."""
        return max(0, (self.size.height + GAP_H) // CELL_H)

    @property
    def thumbs(self) -> list[Thumb]:
        """The thumbnails given to `show` (more than fit is fine)."""
        return list(self._thumbs)

    def show(self, thumbs: list[Thumb]) -> None:
        """Draw these thumbnails, in order, as many as fit."""
        self._thumbs = list(thumbs)
        self.refresh()

    def on_resize(self, event: events.Resize) -> None:
        """A new size fits another number of thumbnails: tell the screen to fill it."""
        self.post_message(self.Resized(self))


    def thumb_at(self, x: int, y: int) -> Thumb | None:
        """The thumbnail under content offset (x, y), or None."""
        col, dx = divmod(x, CELL_W)
        row, dy = divmod(y, CELL_H)
        if dx >= THUMB_W or dy > THUMB_H or col >= self.columns or row >= self.rows:
            return None
        k = row * self.columns + col
        return self._thumbs[k] if k < len(self._thumbs) else None

    def on_click(self, event: events.Click) -> None:
        """Choose the clicked thumbnail."""
        offset = event.get_content_offset(self)
        thumb = self.thumb_at(offset.x, offset.y) if offset is not None else None
        if thumb is not None:
            event.stop()
            self.post_message(self.Chosen(thumb.position))

    def render_line(self, y: int) -> Strip:
        """Row `y`: the image rows, caption or gap of each thumbnail in that row."""
        width = self.size.width
        row, line = divmod(y, CELL_H)
        cols = self.columns
        if line > THUMB_H or row >= self.rows:
            return Strip.blank(width)
        palette = self.grey_palette("gallery--paper")
        caption_style = self.get_component_rich_style("gallery--caption")
        gap = Strip([Segment(" " * GAP_W)], GAP_W)
        parts: list[Strip] = []
        for col in range(cols):
            k = row * cols + col
            if k >= len(self._thumbs):
                break
            thumb = self._thumbs[k]
            if line < THUMB_H:
                part = image_strip(palette, thumb.image, line, compact=True)
            else:
                text = thumb.caption[:THUMB_W].ljust(THUMB_W)
                part = Strip([Segment(text, caption_style or Style())], THUMB_W)
            parts.extend([part, gap])
        if not parts:
            return Strip.blank(width)
        return Strip.join(parts).adjust_cell_length(width)
