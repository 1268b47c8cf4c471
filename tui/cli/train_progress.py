"""The live display of `digits train`: an epoch bar, a run bar, and one line per epoch."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

if TYPE_CHECKING:
    from network.train import ProgressEvent


class TrainDisplay:
    """Turns the training loop's ProgressEvents into rich progress bars and epoch lines."""

    def __init__(self, console: Console, epochs: int) -> None:
        self.console = console
        self.epochs = epochs
        self.progress = Progress(
            TextColumn("{task.description:<10}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:>12}"),
            TextColumn("{task.fields[loss]:>12}"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=console,
        )
        self.epoch_task: TaskID | None = None
        self.run_task: TaskID | None = None

    def __enter__(self) -> TrainDisplay:
        self.progress.start()
        self.epoch_task = self.progress.add_task("epoch 1", total=None, rate="", loss="")
        self.run_task = self.progress.add_task("run", total=None, rate="", loss="")
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.progress.stop()

    def update(self, event: ProgressEvent) -> None:
        """Called by the training loop (same thread) with a `network.train.ProgressEvent`."""
        total_batches = event.batches * event.epochs
        done = (event.epoch - 1) * event.batches + event.batch
        fields = {"rate": f"{event.samples_per_second:,.0f}/s", "loss": f"loss {event.loss:.4f}"}
        self.progress.update(
            self.epoch_task,
            description=f"epoch {event.epoch}",
            total=event.batches,
            completed=event.batch,
            **fields,
        )
        self.progress.update(self.run_task, total=total_batches, completed=done, **fields)
        if event.kind == "epoch":
            test = f"{event.test_accuracy:.2%}" if event.test_accuracy is not None else "-"
            self.progress.console.print(
                f"epoch {event.epoch:>3}/{event.epochs}  loss {event.loss:.4f}  "
                f"train {event.train_accuracy:.2%}  test {test}  "
                f"{event.samples_per_second:,.0f} samples/s"
            )
            if event.epoch < event.epochs:
                self.progress.reset(self.epoch_task, description=f"epoch {event.epoch + 1}")
