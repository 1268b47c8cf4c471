"""The Evaluate screen: a model's accuracy on the 10,000 MNIST test images, and its mistakes.

Layout (evaluate.tcss): a model chooser with a progress bar on top; then the accuracy (large)
over the confusion matrix, the misclassified-image browser, and per-digit precision, recall and
F1 with the most confused pairs. Side by side from 120 columns; below 120 the per-digit table
sits under the others, and below `STACK_BELOW` columns the browser too (the body scrolls, and
follows the browser when its keys are used).

Evaluation runs in a thread worker (group "evaluate", exclusive: choosing another model cancels
the running one) through `network.report.evaluate_with_progress`, which is
`network.evaluate.evaluate` -- the function `digits eval` uses -- reporting per chunk, so the
numbers are the ones `digits eval` prints for the same model.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from rich.table import Table
from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Digits, Label, ProgressBar, Select, Static
from textual.worker import get_current_worker

from network.errors import ModelError
from network.registry import existing_path, list_models, name_of
from network.report import EvaluationCancelled, confused_pairs, evaluate_with_progress
from network.store import load_model
from tui.messages import EvalDone, EvalProgress
from tui.screens.dataset import DatasetScreen
from tui.widgets.confusion import ConfusionMatrix
from tui.widgets.dataset_panel import DatasetPanel
from tui.widgets.dropdown import Dropdown
from tui.widgets.gallery import MistakeGallery, Thumb
from tui.widgets.mistakes import MistakeBrowser
from tui.widgets.outside import shown

if TYPE_CHECKING:
    from network.evaluate import Evaluation
    from network.model import Model

STACK_BELOW = 88
"""Narrower terminals put the browser under the matrix: the matrix (55 columns with the blank
between four-digit counts), the browser (30) and the gaps (3) need 88 side by side."""
ACTIVE = "@active"
"""Chooser value for 'the app's active model'."""
HELP = """\
The chosen model (the active one unless you pick another with m) is scored on the 10,000 MNIST
test images, exactly as `digits eval` does. The matrix counts, for each true digit (row), what
the model said (column); click a cell to browse those mistakes. The browser shows one
misclassified image at a time: n / b (or the arrows) move, t and p filter by true and by
predicted digit (T and P go backwards), x clears the filters, o opens the image on the Paint
screen, where you can edit it and watch the prediction change. In a terminal at least 120
columns wide and 40 rows tall, the mistakes that follow are shown below as thumbnails; click one
to browse from there."""


class EvaluateScreen(DatasetScreen):
    """Scores a model on the test set: accuracy, confusion, per-digit scores, mistakes."""

    TITLE = "Evaluate"
    MODE = "evaluate"
    CSS_PATH = "evaluate.tcss"
    HELP = HELP
    AUTO_FOCUS = ""
    BINDINGS = [
        Binding("o,enter", "open", "Open on Paint"),
        Binding("right,n", "step(1)", "Next image"),
        Binding("left,b", "step(-1)", "Previous image", show=False),
        Binding("t", "true_digit(1)", "True digit"),
        Binding("p", "predicted_digit(1)", "Predicted digit"),
        Binding("shift+t", "true_digit(-1)", "Previous true digit", show=False),
        Binding("shift+p", "predicted_digit(-1)", "Previous predicted digit", show=False),
        Binding("x", "clear_filters", "Clear filters", show=False),
        Binding("m", "choose_model", "Choose model", show=False),
        Binding("e", "evaluate", "Evaluate again", show=False),
        Binding("escape", "cancel", "Cancel evaluation", show=False),
        Binding("d", "download", "Download MNIST"),
    ]

    def __init__(self) -> None:
        """Nothing evaluated yet."""
        super().__init__()
        self.evaluation: Evaluation | None = None
        self.evaluated_name = ""
        self.seconds = 0.0
        self._token = 0
        self._done_key: tuple[str, str] | None = None
        self._pending_key: tuple[str, str] | None = None

    def compose_body(self) -> ComposeResult:
        """Chooser and progress; accuracy and matrix | mistakes | per-digit scores and pairs."""
        with Horizontal(id="eval-top"):
            yield Label("Model", id="model-label")
            yield Dropdown([], prompt="model", allow_blank=True, compact=True, id="model-select")
            yield ProgressBar(total=1, show_eta=False, id="eval-bar")
            yield Static("", id="eval-status")
        yield DatasetPanel(id="no-data")
        with VerticalScroll(id="eval-scroll"):
            with Container(id="eval-grid"):
                with Vertical(id="eval-summary"):
                    with Horizontal(id="accuracy-row"):
                        yield Digits("", id="accuracy")
                        yield Static("", id="accuracy-note")
                    yield ConfusionMatrix(id="confusion")
                yield MistakeBrowser(id="mistakes")
                with Vertical(id="eval-details"):
                    yield Static("", id="per-digit")
                    yield Static("", id="pairs")
        yield MistakeGallery(id="gallery")

    @property
    def browser(self) -> MistakeBrowser:
        """The misclassified-image browser."""
        return self.query_one(MistakeBrowser)

    def on_resize(self, event: events.Resize) -> None:
        """Fit the matrix to the new width."""
        self._fit(event.size.width)

    def _fit(self, width: int) -> None:
        """The browser under the matrix when the two do not fit side by side."""
        self.set_class(width < STACK_BELOW, "-stacked")

    def on_mount(self) -> None:
        """Follow the active model and the dataset."""
        self._fit(self.app.size.width)
        self.follow_dataset()
        self.watch(self.app, "model_id", lambda _: self._fill_chooser(), init=False)

    def on_screen_resume(self) -> None:
        """Shown: refresh the model list, load MNIST if needed, evaluate if out of date."""
        self._fill_chooser()
        self.app.request_dataset()
        self._maybe_evaluate()

    def _fill_chooser(self) -> None:
        """The active model first, then every saved model (and the shipped one)."""
        select = self.query_one("#model-select", Select)
        current = select.value if select.value != Select.NULL else ACTIVE
        # Model names are outside text: Text, never parsed as markup.
        options: list[tuple[Text, str]] = [
            (Text(shown(f"active: {name_of(self.app.model_path)}")), ACTIVE)]
        for entry in list_models():
            acc = f" · {entry.test_accuracy:.2%}" if entry.test_accuracy is not None else ""
            note = " (unreadable)" if entry.error else acc
            options.append((Text(shown(f"{entry.name}{note}")), entry.name))
        with self.prevent(Select.Changed):
            select.set_options(options)
            select.value = current if current in [v for _, v in options] else ACTIVE
        if self.is_current:
            self._maybe_evaluate()

    def _target(self) -> tuple[str, str]:
        """(choice, identity) of what should be shown: the active model's id or a file path."""
        choice = self.query_one("#model-select", Select).value
        if choice in (ACTIVE, Select.NULL):
            return ACTIVE, str(self.app.model_id)
        # existing_path: a listed file may have any name
        return str(choice), str(existing_path(str(choice)))

    def dataset_ready(self) -> None:
        """MNIST is loaded: evaluate (if this screen is shown)."""
        if self.is_current:
            self._maybe_evaluate()

    def _status(self, text: str) -> None:
        """The line next to the progress bar (plain text: it names models, and errors)."""
        self.query_one("#eval-status", Static).update(Content(shown(text)))

    def on_select_changed(self, event: Select.Changed) -> None:
        """Another model chosen: evaluate it."""
        if event.select.id == "model-select":
            self._maybe_evaluate()

    # -- evaluating ------------------------------------------------------------------------------
    def _maybe_evaluate(self, force: bool = False) -> None:
        """Start an evaluation unless the one shown (or running) is of the chosen model."""
        if self.app.dataset_state != "ready" or self.app.dataset is None:
            return
        key = self._target()
        if not force and key in (self._done_key, self._pending_key):
            return
        self._token += 1
        self._pending_key = key
        choice, identity = key
        model = self.app.model if choice == ACTIVE else None
        name = name_of(self.app.model_path) if choice == ACTIVE else choice
        self.query_one("#eval-bar", ProgressBar).update(total=1, progress=0)
        self._status(f"Evaluating {name}…")
        data = self.app.dataset
        self._evaluate(self._token, name, model, Path(identity), data.test_images,
                       data.test_labels)

    @work(thread=True, exclusive=True, group="evaluate", exit_on_error=False)
    def _evaluate(self, token: int, name: str, model: Model | None, path: Path,
                  images: np.ndarray, labels: np.ndarray) -> None:
        """Load (if needed) and score the model off the UI thread; reply by messages."""
        worker = get_current_worker()
        started = time.perf_counter()
        try:
            model = model if model is not None else load_model(path)
            evaluation = evaluate_with_progress(
                model, images, labels,
                on_progress=lambda done, total: self.post_message(EvalProgress(done, total, token)),
                should_stop=lambda: worker.is_cancelled)
        except EvaluationCancelled:
            self.post_message(EvalDone(token, name=name, cancelled=True))
        except (ModelError, OSError) as exc:
            self.post_message(EvalDone(token, name=name, error=str(exc)))
        else:
            self.post_message(EvalDone(token, evaluation, name,
                                       seconds=time.perf_counter() - started))

    def on_eval_progress(self, message: EvalProgress) -> None:
        """Move the bar."""
        if message.token == self._token:
            self.query_one("#eval-bar", ProgressBar).update(total=message.total,
                                                            progress=message.done)

    def on_eval_done(self, message: EvalDone) -> None:
        """Show the scores of the newest request (older ones are ignored)."""
        if message.token != self._token:
            return
        key, self._pending_key = self._pending_key, None
        if message.cancelled:
            self._status(f"Evaluation of {message.name} cancelled.")
            return
        if message.error:
            self._done_key = key
            self._status(f"Cannot evaluate {message.name}: {message.error}")
            return
        self._done_key = key
        self.evaluation, self.evaluated_name, self.seconds = (message.evaluation, message.name,
                                                              message.seconds)
        self._status(f"{message.name}: {message.evaluation.n:,} test images in "
                     f"{message.seconds:.2f} s")
        self._show(message.evaluation)
        self.refresh_bindings()

    def _show(self, ev: Evaluation) -> None:
        """Accuracy, matrix, per-digit table, pairs, mistakes."""
        self.query_one("#accuracy", Digits).update(f"{ev.accuracy * 100:.2f}")
        wrong = int(ev.misclassified.size)
        self.query_one("#accuracy-note", Static).update(
            f"% accuracy\n{ev.n - wrong:,} of {ev.n:,} right\n{wrong:,} mistakes")
        self.query_one(ConfusionMatrix).set_matrix(ev.confusion)
        table = Table(title="per digit", expand=False, box=None, padding=(0, 1), pad_edge=False,
                      collapse_padding=True, header_style="bold", title_style="dim",
                      title_justify="left")
        for column in ("digit", "prec", "recall", "F1", "n"):
            table.add_column(column, justify="right")
        support = ev.confusion.sum(axis=1)
        for d in range(ev.confusion.shape[0]):
            table.add_row(str(d), f"{ev.precision[d]:.1%}", f"{ev.recall[d]:.1%}",
                          f"{ev.f1[d]:.1%}", str(int(support[d])))
        self.query_one("#per-digit", Static).update(table)
        pairs = confused_pairs(ev.confusion, 5)
        lines = [f"  {t} → {p}: {n}" for t, p, n in pairs] or ["  none"]
        self.query_one("#pairs", Static).update("[dim]most confused (true → said)[/]\n"
                                                + "\n".join(lines))
        self.browser.set_data(ev, self.app.dataset.test_images)

    # -- actions ---------------------------------------------------------------------------------
    def action_step(self, delta: int) -> None:
        """Next or previous mistake."""
        self.browser.step(delta)
        self.browser.scroll_visible()

    def action_true_digit(self, step: int) -> None:
        """Cycle the true-digit filter."""
        self.browser.cycle_true(step)
        self.browser.scroll_visible()

    def action_predicted_digit(self, step: int) -> None:
        """Cycle the predicted-digit filter."""
        self.browser.cycle_predicted(step)
        self.browser.scroll_visible()

    def action_clear_filters(self) -> None:
        """Show every mistake."""
        self.browser.clear_filters()
        self.browser.scroll_visible()

    def on_confusion_matrix_cell_selected(self, message: ConfusionMatrix.CellSelected) -> None:
        """A clicked cell filters the browser (a diagonal cell: that true digit's mistakes)."""
        predicted = None if message.true == message.predicted else message.predicted
        self.browser.select_pair(message.true, predicted)

    # -- the gallery of upcoming mistakes ------------------------------------------------------
    def _fill_gallery(self) -> None:
        """Thumbnails of the mistakes after the browser's current one, as many as fit."""
        gallery = self.query_one(MistakeGallery)
        browser = self.browser
        images = self.app.dataset.test_images if self.app.dataset is not None else None
        ev = browser.evaluation
        if images is None or ev is None:
            gallery.show([])
            return
        thumbs = []
        for position in browser.upcoming(gallery.capacity):
            index = int(browser.shown[position])
            caption = (f"#{index} {int(ev.labels[index])}→{int(ev.predictions[index])} "
                       f"{float(ev.confidences[index]):.0%}")
            thumbs.append(Thumb(position, images[index], caption))
        gallery.show(thumbs)

    def on_mistake_browser_moved(self, message: MistakeBrowser.Moved) -> None:
        """The browser moved or refiltered: the gallery follows."""
        self._fill_gallery()

    def on_mistake_gallery_resized(self, message: MistakeGallery.Resized) -> None:
        """More or fewer thumbnails fit now."""
        self._fill_gallery()

    def on_mistake_gallery_chosen(self, message: MistakeGallery.Chosen) -> None:
        """A thumbnail clicked: the browser shows it."""
        self.browser.go_to(message.position)

    def action_open(self) -> None:
        """Put the image shown on the Paint screen's canvas and go there."""
        index = self.browser.current
        if index is None or self.app.dataset is None:
            self.notify("No misclassified image to open.", timeout=3)
            return
        caption = f"MNIST test #{index}: {self.browser.describe(index)}"
        self.app.open_on_paint(self.app.dataset.test_images[index], caption)

    def allows(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Browser keys once there is an evaluation; the download only without MNIST."""
        if action == "download":
            return self.can_download
        if action in ("open", "step", "true_digit", "predicted_digit", "clear_filters"):
            return self.evaluation is not None
        return True

    def choose(self, name: str) -> None:
        """Choose a saved model (or ACTIVE) by name and evaluate it."""
        self._fill_chooser()
        self.query_one("#model-select", Select).value = name
        self._maybe_evaluate()

    def action_choose_model(self) -> None:
        """Open the model chooser."""
        select = self.query_one("#model-select", Select)
        select.focus()
        select.action_show_overlay()

    def action_evaluate(self) -> None:
        """Evaluate the chosen model again."""
        self._maybe_evaluate(force=True)

    def action_cancel(self) -> None:
        """Stop a running evaluation."""
        if self._pending_key is not None:
            self.workers.cancel_group(self, "evaluate")

