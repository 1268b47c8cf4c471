"""`MistakeBrowser`: the misclassified test images, one at a time, filterable by digit.

It shows the current image (a `Preview`, 28x28 in 28x14 cells), what it is and what the model
said ("true 4, predicted 9 (87%)"), its index in the test set and its place in the filtered list.
Two compact selects filter by true and by predicted digit; `step`, `cycle_true`,
`cycle_predicted` and `clear_filters` are what the Evaluate screen's keys call. The filtering
itself is `network.report.mistake_indices`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Label, Select, Static

from network.evaluate import Evaluation
from network.report import mistake_indices
from tui.widgets.dropdown import Dropdown
from tui.widgets.preview import Preview

ANY = -1
"""Select value meaning 'any digit'."""


class MistakeBrowser(Vertical):
    """Browse an evaluation's misclassified images (test images (N, 28, 28) uint8)."""

    DEFAULT_CSS = """
    MistakeBrowser {
        width: 30;
        height: auto;
    }
    MistakeBrowser > Horizontal {
        height: 1;
        width: 30;
    }
    MistakeBrowser Label {
        color: $text-muted;
        width: auto;
        padding-right: 1;
    }
    MistakeBrowser Select {
        width: 1fr;
    }
    MistakeBrowser #mistake-caption {
        height: 2;
        width: 30;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        """Empty until `set_data`."""
        super().__init__(id=id)
        self.evaluation: Evaluation | None = None
        self.images: np.ndarray | None = None
        self.true_filter: int | None = None
        self.predicted_filter: int | None = None
        self.shown = np.zeros(0, dtype=np.int64)  #: (M,) test indices passing the filters
        self.position = 0

    def compose(self) -> ComposeResult:
        """Filters, the image, the caption."""
        digits = [("any", ANY)] + [(str(d), d) for d in range(10)]
        with Horizontal():
            yield Label("true")
            yield Dropdown(digits, value=ANY, allow_blank=False, compact=True, id="filter-true")
            yield Label(" said")
            yield Dropdown(digits, value=ANY, allow_blank=False, compact=True, id="filter-pred")
        yield Preview(title="misclassified", id="mistake-image")
        yield Static("", id="mistake-caption")

    def set_data(self, evaluation: Evaluation, images: np.ndarray | None) -> None:
        """Browse `evaluation`'s mistakes among `images` (N, 28, 28); the filters stay."""
        self.evaluation, self.images = evaluation, images
        self._apply(keep=False)

    @property
    def current(self) -> int | None:
        """Test-set index of the image shown, or None."""
        return int(self.shown[self.position]) if self.shown.size else None

    def describe(self, index: int) -> str:
        """'true 4, predicted 9 (87%)' for a test-set index."""
        ev = self.evaluation
        return (f"true {int(ev.labels[index])}, predicted {int(ev.predictions[index])} "
                f"({float(ev.confidences[index]):.0%})")

    def _apply(self, keep: bool = True) -> None:
        """Recompute the filtered list (staying on the same image if it is still in it)."""
        before = self.current if keep else None
        if self.evaluation is None:
            self.shown = np.zeros(0, dtype=np.int64)
        else:
            self.shown = mistake_indices(self.evaluation, self.true_filter, self.predicted_filter)
        hits = np.flatnonzero(self.shown == before) if before is not None else []
        self.position = int(hits[0]) if len(hits) else 0
        self._show()

    @dataclass
    class Moved(Message):
        """The image shown or the filtered list changed."""

        browser: MistakeBrowser

    def _show(self) -> None:
        """Image and caption for the current position."""
        self.post_message(self.Moved(self))
        preview = self.query_one(Preview)
        caption = self.query_one("#mistake-caption", Static)
        index = self.current
        if index is None or self.images is None:
            preview.set_image(None)
            preview.border_title = "misclassified"
            caption.update("No mistakes to show." if self.evaluation is not None and
                           (self.true_filter is not None or self.predicted_filter is not None)
                           else "No evaluation yet." if self.evaluation is None
                           else "No mistakes at all!")
            return
        preview.set_image(self.images[index])
        preview.border_title = f"{self.position + 1} of {self.shown.size}"
        caption.update(f"[b]{self.describe(index)}[/b]\ntest image #{index} · o opens it")

    def go_to(self, position: int) -> None:
        """Show the image at `position` in the filtered list."""
        if 0 <= position < self.shown.size:
            self.position = position
            self._show()

    def upcoming(self, count: int) -> list[int]:
        """Positions of up to `count` images after the current one, wrapping, never itself."""
        m = self.shown.size
        return [(self.position + i) % m for i in range(1, min(count, max(m - 1, 0)) + 1)]

    def step(self, delta: int) -> None:
        """Next (+1) or previous (-1) image, wrapping around."""
        if self.shown.size:
            self.position = (self.position + delta) % self.shown.size
            self._show()

    def _set_filters(self, true: int | None, predicted: int | None) -> None:
        """Set both filters (and the selects) and refilter."""
        self.true_filter, self.predicted_filter = true, predicted
        with self.prevent(Select.Changed):
            self.query_one("#filter-true", Select).value = ANY if true is None else true
            self.query_one("#filter-pred", Select).value = ANY if predicted is None else predicted
        self._apply()

    @staticmethod
    def _cycle(value: int | None, step: int) -> int | None:
        """any -> 0 -> 1 ... -> 9 -> any (or backwards)."""
        order: list[int | None] = [None, *range(10)]
        return order[(order.index(value) + step) % len(order)]

    def cycle_true(self, step: int = 1) -> None:
        """Filter by the next (or previous) true digit."""
        self._set_filters(self._cycle(self.true_filter, step), self.predicted_filter)

    def cycle_predicted(self, step: int = 1) -> None:
        """Filter by the next (or previous) predicted digit."""
        self._set_filters(self.true_filter, self._cycle(self.predicted_filter, step))

    def select_pair(self, true: int | None, predicted: int | None) -> None:
        """Filter by a (true, predicted) pair; None for any."""
        self._set_filters(true, predicted)

    def clear_filters(self) -> None:
        """Show every mistake."""
        self._set_filters(None, None)

    def on_select_changed(self, event: Select.Changed) -> None:
        """A filter select changed."""
        event.stop()
        value = None if event.value == ANY else int(event.value)  # type: ignore[arg-type]
        if event.select.id == "filter-true":
            self.true_filter = value
        else:
            self.predicted_filter = value
        self._apply()
