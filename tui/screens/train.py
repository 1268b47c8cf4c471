"""The Train screen: pick a preset (or change it), train on MNIST, watch it learn, keep the model.

Layout (train.tcss): the settings form on the left; on the right Start/Cancel, a status line
(speed, elapsed, remaining), a bar for the epoch and one for the run, the live loss and the test
accuracy per epoch as curves, and a table with one row per epoch. Without MNIST the right side
shows where the app looked and offers the download instead.

Training runs in a thread worker (`@work(thread=True, exclusive=True, group="train")`). The loop
polls `should_stop` before every batch (a few ms), so Cancel, leaving the app, or a new run take
effect at once; its progress events are throttled to about ten a second (`ProgressThrottle`)
and reach the widgets only as `TrainProgress` messages. A finished run is scored on the test set
and saved atomically (`registry.save_new`) in the worker; a cancelled one saves nothing unless
the user keeps its last completed epoch (k); a diverged one saves nothing.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Button, Static
from textual.worker import get_current_worker

from network.errors import ModelError
from network.registry import path_for, save_trained, writable_models_dir
from network.report import ProgressThrottle
from network.train import train
from tui.errors import one_line_error, out_of_memory
from tui.messages import ModelSaved, RunToSave, TrainDone, TrainProgress
from tui.screens.dataset import DatasetScreen
from tui.widgets.dataset_panel import DatasetPanel
from tui.widgets.outside import shown
from tui.widgets.train_form import TrainForm
from tui.widgets.train_progress import TrainProgressView, clock

if TYPE_CHECKING:
    from network.config import TrainConfig
    from network.train import ProgressEvent

HELP = """\
Choose a preset (seed: the original 784-200-10 sigmoid network; fast: ReLU + Adam, seconds;
best: two layers of 800 with augmentation, minutes; conv: a convolutional network with
augmentation, about 12 minutes on 2 cores), change any value, and press ctrl+s or
Start. A value out of range is refused under its field with the reason. "Images" can train on
the first 5,000 or 20,000 images for a quick check; the test accuracy is always measured on all
10,000 test images. The finished model is saved under "Save as" in your models folder (the
shipped model is never touched); press a to make it the model the Paint screen uses. esc
cancels a run; k then keeps its last completed epoch. You can switch screens (and paint) while
it trains."""


class TrainScreen(DatasetScreen):
    """Train a network on MNIST with live progress; save it; make it the active model."""

    TITLE = "Train"
    MODE = "train"
    CSS_PATH = "train.tcss"
    HELP = HELP
    BINDINGS = [
        Binding("ctrl+s", "start", "Start training"),
        Binding("escape", "cancel", "Cancel training"),
        Binding("a", "activate", "Make active"),
        Binding("k", "keep", "Keep model"),
        Binding("d", "download", "Download MNIST"),
    ]

    def __init__(self) -> None:
        """No run yet."""
        super().__init__()
        self.running = False
        self._cancel = threading.Event()
        self._started = 0.0
        self.last_done: TrainDone | None = None
        self.saved_name = ""
        self._unsaved: RunToSave | None = None  # a cancelled run's last epoch
        self.worker_finished = threading.Event()  #: set when a training worker has returned
        self.worker_noticed = 0.0  #: monotonic time the worker first saw a stop request
        self.worker_stopped = 0.0  #: monotonic time the training loop returned

    def compose_body(self) -> ComposeResult:
        """Form | run: buttons, status, bars, curves, table, outcome (or the dataset panel)."""
        with Horizontal(id="train-main"):
            yield TrainForm(id="form")
            with Vertical(id="run"):
                with Horizontal(id="run-buttons"):
                    yield Button("Start ^s", id="start", variant="primary", compact=True)
                    yield Button("Cancel esc", id="cancel", variant="error", compact=True,
                                 disabled=True)
                    yield Static("Ready.", id="run-status")
                yield DatasetPanel(id="no-data")
                yield TrainProgressView(id="progress")
                yield Static("", id="outcome")

    @property
    def form(self) -> TrainForm:
        """The settings form."""
        return self.query_one(TrainForm)

    @property
    def view(self) -> TrainProgressView:
        """Bars, curves and table."""
        return self.query_one(TrainProgressView)

    @property
    def progress_events(self) -> int:
        """Progress events shown in the current (or last) run."""
        return self.view.events

    def on_mount(self) -> None:
        """Follow the dataset."""
        self.follow_dataset()

    def on_screen_resume(self) -> None:
        """Shown: make sure the dataset is loading (it is needed to train)."""
        self.app.request_dataset()

    def dataset_ready(self) -> None:
        """MNIST is loaded: say how to start (unless a run is going)."""
        if not self.running:
            self._status("Ready: ctrl+s starts training.")

    def _status(self, text: str) -> None:
        """The one-line status next to the buttons (plain text: never parsed as markup)."""
        self.query_one("#run-status", Static).update(Content(shown(text)))

    def _outcome(self, text: str, error: bool = False) -> None:
        """The result of the last run (in the error colour for a failure).

        Plain text, never parsed as markup: it carries paths and error messages."""
        outcome = self.query_one("#outcome", Static)
        outcome.update(Content(shown(text)))
        outcome.set_class(error, "-error")

    def allows(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Show each key only when it can do something."""
        if action == "start":
            return not self.running and self.app.dataset_state != "missing"
        if action == "cancel":
            return self.running
        if action == "activate":
            return bool(self.saved_name) and not self.running
        if action == "keep":
            return self._unsaved is not None and not self.running
        if action == "download":
            return self.can_download
        return True

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Start and Cancel buttons."""
        if event.button.id == "start":
            self.action_start()
        elif event.button.id == "cancel":
            self.action_cancel()

    # -- starting and stopping -------------------------------------------------------------------
    def action_start(self) -> None:
        """Check the form, then train in a worker (the form is locked meanwhile)."""
        if self.running:
            return
        data = self.app.dataset
        if self.app.dataset_state != "ready" or data is None:
            self.app.request_dataset()
            self.notify("MNIST is not loaded yet.", severity="warning")
            return
        self.form.refresh_name()
        try:
            config = self.form.config()
            name = self.form.model_name()
            writable_models_dir()  # a folder that cannot take the model fails now, not after
        except ModelError as exc:
            self._outcome(f"Not started: {exc}", error=True)
            return
        n = min(self.form.subset, len(data.train_images))
        # ~1000 samples between events; the throttle passes about ten a second.
        config = config.with_overrides(report_every=max(1, 1000 // config.batch_size))
        self.view.reset(config.epochs)
        self.running, self._unsaved, self.saved_name = True, None, ""
        self._cancel.clear()
        self._started = time.monotonic()
        self.form.set_enabled(False)
        self.query_one("#start", Button).disabled = True
        self.query_one("#cancel", Button).disabled = False
        self.view.table.focus()
        self._status(f"Training {config.preset}, {n:,} images…")
        self._outcome("")
        self.refresh_bindings()
        self._train(config, data.train_images[:n], data.train_labels[:n], data.test_images,
                    data.test_labels, name, dict(data.checksums))

    def action_cancel(self) -> None:
        """Ask the worker to stop at its next batch."""
        if self.running:
            self._cancel.set()
            self._status("Cancelling…")

    @work(thread=True, exclusive=True, group="train", exit_on_error=False)
    def _train(self, config: TrainConfig, images: np.ndarray, labels: np.ndarray,
               test_images: np.ndarray, test_labels: np.ndarray, name: str,
               checksums: dict[str, str]) -> None:
        """Train, score and save off the UI thread; talks to the screen only by messages."""
        worker = get_current_worker()
        throttle = ProgressThrottle(0.1)
        self.worker_finished.clear()
        self.worker_noticed = self.worker_stopped = 0.0

        def should_stop() -> bool:
            """Polled before every batch: Cancel, a new run or leaving the app."""
            if worker.is_cancelled or self._cancel.is_set():
                self.worker_noticed = self.worker_noticed or time.monotonic()
                return True
            return False

        def on_progress(event: ProgressEvent) -> None:
            """From the loop: pass on the throttled events as messages."""
            for passed in throttle.feed(event):
                self.post_message(TrainProgress(passed))

        done = TrainDone()
        try:
            result = train(config, images, labels, test_images, test_labels,
                           on_progress=on_progress, should_stop=should_stop)
            self.worker_stopped = time.monotonic()
            done.result, done.noticed, done.stopped = (result, self.worker_noticed,
                                                       self.worker_stopped)
            done.accuracy = result.test_accuracy
            if result.ok and not worker.is_cancelled and result.model is not None:
                done.path, done.name, done.accuracy = self._score_and_save(
                    RunToSave(result.model, config, result, name, checksums), test_images,
                    test_labels)
            elif result.cancelled and result.last_epoch_model is not None:
                done.keep = RunToSave(result.last_epoch_model, config, result, name, checksums)
        except (ModelError, OSError) as exc:
            done.error = one_line_error(exc) or str(exc)
        except MemoryError as exc:
            done.error = out_of_memory(exc)
        finally:
            self.worker_finished.set()
        self.post_message(done)

    def _score_and_save(self, run: RunToSave, test_images: np.ndarray,
                        test_labels: np.ndarray) -> tuple[Path, str, float]:
        """Score `run.model` on the test set, save it with its metadata; (path, name, accuracy).

        The name gets -2, -3... if a model of that name appeared meanwhile. Runs in a worker.
        """
        saved = save_trained(run.model, run.config, run.result, test_images, test_labels,
                             checksums=run.checksums, command="digits (Train screen)",
                             name=run.name)
        return saved.path, saved.name, saved.evaluation.accuracy

    # -- progress and outcome --------------------------------------------------------------------
    def on_train_progress(self, message: TrainProgress) -> None:
        """Bars, status line, curves; at an epoch end the table row and accuracy point."""
        self.view.show(message.event, time.monotonic() - self._started)

    def on_train_done(self, message: TrainDone) -> None:
        """Unlock the form; say what happened and what can be done next."""
        self.running = False
        self.last_done = message
        self.form.set_enabled(True)
        self.query_one("#start", Button).disabled = False
        self.query_one("#cancel", Button).disabled = True
        result = message.result
        candidate = message.keep
        if message.error or result is None:
            self._status("Failed.")
            self._outcome(f"{message.error}. Nothing was saved; your other models and settings "
                          "are untouched.", error=True)
        elif result.diverged:
            self._status("Diverged.")
            self._outcome(f"{result.message}. Nothing was saved.", error=True)
        elif result.cancelled:
            self._status("Cancelled.")
            text = f"Cancelled ({result.message}). Nothing was saved."
            if candidate is not None:
                self._unsaved = candidate
                test = f" (test {message.accuracy:.2%})" if message.accuracy is not None else ""
                text += (f" Press k to keep epoch {result.epochs_completed}{test} "
                         f"as '{candidate.name}'.")
            self._outcome(text)
        else:
            self.saved_name = message.name
            self._status(f"Done in {clock(time.monotonic() - self._started)}.")
            self._outcome(f"Saved as '{message.name}': test accuracy {message.accuracy:.2%}. "
                          "Press a to make it the active model.")
        self.refresh_bindings()

    # -- after the run ---------------------------------------------------------------------------
    def action_keep(self) -> None:
        """Save the kept model (a cancelled run's last completed epoch) in a worker."""
        data = self.app.dataset
        if self._unsaved is None or self.running or data is None:
            return
        self._status("Saving…")
        self._save_kept(self._unsaved, data.test_images, data.test_labels)

    @work(thread=True, exclusive=True, group="save", exit_on_error=False)
    def _save_kept(self, keep: RunToSave, test_images: np.ndarray,
                   test_labels: np.ndarray) -> None:
        """Score and save off the UI thread; reply with ModelSaved."""
        name = keep.name
        try:
            path, name, _ = self._score_and_save(keep, test_images, test_labels)
        except (ModelError, OSError) as exc:
            self.post_message(ModelSaved(name, None, one_line_error(exc) or str(exc)))
        else:
            self.post_message(ModelSaved(name, path))

    def on_model_saved(self, message: ModelSaved) -> None:
        """The kept model is saved (or the save failed, with the reason)."""
        self._status("")
        if message.error:
            self._outcome(f"Could not save: {message.error}. Nothing was written; your other "
                          "models and settings are untouched.", error=True)
        else:
            self._unsaved, self.saved_name = None, message.name
            self._outcome(f"Saved as '{message.name}'. Press a to make it the active model.")
        self.refresh_bindings()

    def action_activate(self) -> None:
        """Make the model just saved the active one, for every screen and the next start."""
        if not self.saved_name:
            return
        path = path_for(self.saved_name)
        try:
            self.app.make_active(self.saved_name, path)
        except (ModelError, OSError) as exc:
            self._outcome(f"'{self.saved_name}' is saved ({path}) but could not be made active: "
                          f"{one_line_error(exc) or exc}", error=True)
            return
        self._outcome(f"'{self.saved_name}' is now the active model (Paint uses it).")
        self.notify(shown(f"Active model: {self.saved_name}"), timeout=3, markup=False)

