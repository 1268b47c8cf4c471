"""`TrainProgressView`: what a training run shows while it goes.

A status line (speed, elapsed, remaining), a bar for the current epoch and one for the whole
run, the loss (a point per progress event, log scale) and the test accuracy (a point per epoch)
as curves, and a table with a row per epoch: loss, train accuracy, test accuracy, seconds.
`show(event, wall_seconds)` takes one `network.train.ProgressEvent`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Label, ProgressBar, Static

from network.report import remaining_seconds
from tui.widgets.plot import Plot

if TYPE_CHECKING:
    from network.train import ProgressEvent

COLUMNS = ("epoch", "loss", "train acc", "test acc", "sec")


def clock(seconds: float | None) -> str:
    """'1:05' (or '1:02:03'; '–' for unknown)."""
    if seconds is None:
        return "–"
    s = int(round(seconds))
    if s >= 3600:
        return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"
    return f"{s // 60}:{s % 60:02d}"


class TrainProgressView(Vertical):
    """Bars, curves and the per-epoch table of one training run."""

    DEFAULT_CSS = """
    TrainProgressView {
        height: 1fr;
    }
    TrainProgressView > #stats {
        height: 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    TrainProgressView > .bar-row {
        height: 1;
    }
    TrainProgressView > .bar-row > Label {
        width: 9;
        color: $text-muted;
    }
    TrainProgressView > .bar-row > ProgressBar {
        width: 1fr;
    }
    TrainProgressView > .bar-row Bar {
        width: 1fr;
    }
    TrainProgressView > #curves {
        height: 7;
    }
    TrainProgressView > #curves > Plot {
        width: 1fr;
        height: 100%;
    }
    TrainProgressView > #history {
        height: 1fr;
        min-height: 4;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        """An empty view."""
        super().__init__(id=id)
        self.events = 0  #: progress events shown in this run
        self._elapsed = 0.0  # training seconds at the end of the previous epoch

    def compose(self) -> ComposeResult:
        """Status line, two bars, two curves, the table."""
        yield Static("", id="stats")
        with Horizontal(classes="bar-row"):
            yield Label("epoch", id="epoch-label")
            yield ProgressBar(total=1, id="epoch-bar", show_eta=False)
        with Horizontal(classes="bar-row"):
            yield Label("run")
            yield ProgressBar(total=1, id="run-bar", show_eta=False)
        with Horizontal(id="curves"):
            yield Plot("loss", id="loss-plot", fmt="{:.2g}", log=True, empty="loss per step")
            yield Plot("test accuracy", id="acc-plot", fmt="{:.1%}", empty="per epoch",
                       bounds=(0.0, 1.0))
        yield DataTable(id="history", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        """The table's columns."""
        table = self.query_one("#history", DataTable)
        for label in COLUMNS:
            table.add_column(label, key=label)

    @property
    def table(self) -> DataTable:
        """The per-epoch table."""
        return self.query_one("#history", DataTable)

    def reset(self, epochs: int) -> None:
        """Empty bars, curves and table for a new run of `epochs` epochs."""
        self.query_one("#epoch-bar", ProgressBar).update(total=None, progress=0)
        self.query_one("#run-bar", ProgressBar).update(total=None, progress=0)
        for plot in self.query(Plot):
            plot.clear()
        self.query_one("#loss-plot", Plot).border_title = "loss"
        self.query_one("#acc-plot", Plot).border_title = "test accuracy"
        self.table.clear()
        self.query_one("#stats", Static).update(f"0 of {epochs} epochs")
        self._elapsed = 0.0
        self.events = 0

    def show(self, e: ProgressEvent, wall: float) -> None:
        """Show one ProgressEvent `e`; `wall` is the run's wall-clock seconds so far."""
        self.events += 1
        done, total = (e.epoch - 1) * e.batches + e.batch, e.batches * e.epochs
        self.query_one("#epoch-bar", ProgressBar).update(total=e.batches, progress=e.batch)
        self.query_one("#run-bar", ProgressBar).update(total=total, progress=done)
        self.query_one("#epoch-label", Label).update(f"epoch {e.epoch}")
        left = remaining_seconds(wall, done, total)
        self.query_one("#stats", Static).update(
            f"{e.samples_per_second:,.0f} img/s · elapsed {clock(wall)} · left {clock(left)}")
        if e.kind == "batch":
            loss = self.query_one("#loss-plot", Plot)
            loss.append(e.loss)
            loss.border_title = f"loss {e.loss:.4f}"
            return
        seconds, self._elapsed = e.elapsed - self._elapsed, e.elapsed
        test = e.test_accuracy
        if test is not None:
            acc = self.query_one("#acc-plot", Plot)
            acc.append(test)
            acc.border_title = f"test {test:.2%}"
        self.table.add_row(
            str(e.epoch), f"{e.loss:.4f}", f"{e.train_accuracy:.2%}",
            "–" if test is None else f"{test:.2%}", f"{seconds:.1f}", key=str(e.epoch))
