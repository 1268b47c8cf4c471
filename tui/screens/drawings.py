"""The Drawings screen (F6): the drawings you kept on the Paint screen, and Teach.

Layout (drawings.tcss): a summary line; on the left a table with a row per digit (how many are
kept, the share of them the active model reads right, and its confusion row: what it reads them
as, in percent once a count reaches 100), under it the outcome of the last Teach; on the right
the chosen drawing, large, with what is known about it, and thumbnails of the other drawings of
that digit (as on the Evaluate screen). Up/down choose the digit, left/right (or a click on a
thumbnail) the drawing.

Teach fine-tunes the active model on MNIST mixed with the drawings (`network.teach`) in a thread
worker, with the Train screen's live progress view, and cancels with esc. The taught model is
saved under a new name (the active model is never overwritten); `a` makes it active. The table
on the left compares the model before and after on the held-out drawings and on MNIST.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Static
from textual.worker import Worker, WorkerState, get_current_worker

from network.errors import ModelError
from network.report import ProgressThrottle
from tui.errors import one_line_error
from tui.messages import TrainProgress, _Posted
from tui.screens.base import DigitsScreen
from tui.widgets.dialogs import ConfirmDialog, NameDialog
from tui.widgets.gallery import MistakeGallery, Thumb
from tui.widgets.outside import shown_in_markup
from tui.widgets.preview import Preview
from tui.widgets.train_progress import TrainProgressView, clock

if TYPE_CHECKING:
    from tui.app import DigitsApp

HELP = """\
Keep drawings on the Paint screen (enter keeps the guess; t then a digit, or a click on a bar,
keeps the digit you name). Here up/down choose a digit and left/right one of its drawings (or
click a thumbnail). o opens it on the Paint canvas, l gives it another label, d deletes it,
D deletes every drawing of the digit (each after a confirmation).

Teach (ctrl+t) fine-tunes the active model on MNIST mixed with your drawings, oversampled and
augmented, and saves the result as a new model (the active one is not changed; a makes the new
one active). A fifth of each digit's drawings is held out of training: the table compares the
model before and after on those, and on the 10,000 MNIST test images. esc cancels."""

COLUMNS = ("digit", "kept", "read", *(str(d) for d in range(10)))
#: Up to this many drawings are scored with the active model at once, on the UI thread (about
#: 0.2 s: scoring 1,000 took 1.1 s on a 2-core machine); more are scored in a worker, so that
#: showing the screen, a change or a new model never stops the keys for a second or more.
SCORE_AT_ONCE = 200


@dataclass(eq=False)
class TeachDone(_Posted):
    """The Teach worker finished; `outcome` is a network.teach.TeachOutcome (None if it could
    not start), `name` the saved model's (empty if nothing was saved), `error` one line."""

    outcome: Any = None
    name: str = ""
    error: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _cell(count: int, total: int, percent: bool) -> str:
    """A confusion cell: "·" for none, else the count, or its share of `total` in percent
    ("<1" below one, never "100" unless it is all of them)."""
    if count == 0:
        return "·"
    if not percent:
        return str(count)
    if count == total:
        return "100"
    share = 100 * count // total
    return str(share) if share else "<1"


@dataclass(eq=False)
class DrawingsScored(_Posted):
    """The scoring worker read `drawings` with the active model: `evaluation` (a
    network.evaluate.Evaluation), or `error` (one line)."""

    drawings: Any = None
    evaluation: Any = None
    error: str = ""


class DrawingsScreen(DigitsScreen):
    """Your kept drawings per digit, how the active model reads them, and Teach."""

    TITLE = "Drawings"
    MODE = "drawings"
    CSS_PATH = "drawings.tcss"
    HELP = HELP
    BINDINGS = [
        Binding("left", "step(-1)", "Previous", priority=True, show=False),
        Binding("right", "step(1)", "Next", priority=True, show=False),
        Binding("o", "open", "Open on Paint"),
        Binding("l", "relabel", "Relabel"),
        Binding("d,delete", "delete", "Delete"),
        Binding("D", "delete_digit", "Delete digit"),
        Binding("ctrl+t", "teach", "Teach"),
        Binding("escape", "cancel", "Cancel teach"),
        Binding("a", "activate", "Make active"),
    ]

    def __init__(self) -> None:
        """Nothing loaded until the screen is shown."""
        super().__init__()
        self.drawings: Any = None  #: network.drawings.DrawingSet, or None when unreadable
        self.evaluation: Any = None  #: the active model on the drawings
        self.digit = 0
        self.selected = 0  #: place of the chosen drawing among those of `digit`
        self.teaching = False
        self.taught_name = ""
        self._taught_summary = ""  #: the last Teach's before/after table and where it was saved
        self.last_done: TeachDone | None = None
        self._cancel = threading.Event()
        self._started = 0.0
        self.teach_config: Any = None  #: a network.teach.TeachConfig; None: the defaults
        self._percent = False  #: the table's readings are shares of each digit, not counts

    @property
    def digits_app(self) -> DigitsApp:
        """The app, typed."""
        return cast("DigitsApp", self.app)

    def compose_body(self) -> ComposeResult:
        """Summary | table and outcome | chosen drawing and thumbnails."""
        yield Static("", id="drawings-summary")
        with Horizontal(id="drawings-main"):
            with Vertical(id="drawings-left"):
                yield DataTable(id="digits-table", cursor_type="row", zebra_stripes=True,
                                cell_padding=0)
                yield TrainProgressView(id="teach-progress")
                yield Static("", id="teach-outcome")
            with Vertical(id="drawings-right"):
                yield Preview(title="drawing", id="drawing-preview")
                yield Static("", id="drawing-caption")
                yield MistakeGallery(id="drawings-gallery")

    @property
    def table(self) -> DataTable:
        """The table of digits."""
        return self.query_one("#digits-table", DataTable)

    def on_mount(self) -> None:
        """Columns; follow the active model."""
        self._columns(percent=False)
        self.watch(self.app, "model_id", lambda _: self.reload(), init=False)

    def _columns(self, percent: bool) -> None:
        """The table's columns (and no rows): the readings as counts, or as percentages of each
        digit's drawings (headed "0%".."9%")."""
        self.table.clear(columns=True)
        self._percent = percent
        for label in COLUMNS:
            width = 5 if label in ("digit", "kept", "read") else 3
            shown = f"{label}%" if percent and label not in ("digit", "kept", "read") else label
            self.table.add_column(shown.rjust(width), key=label, width=width)

    def on_screen_resume(self) -> None:
        """Shown: read the drawings again (the Paint screen or the CLI may have kept more)."""
        self.reload()

    # -- reading and showing -----------------------------------------------------------------------
    def reload(self) -> None:
        """Read the drawings, score them with the active model (in a worker when there are more
        than SCORE_AT_ONCE), refresh everything."""
        from network.drawings import load_drawings
        from network.teach import evaluate_drawings

        self.workers.cancel_group(self, "score")
        try:
            self.drawings, self.evaluation = load_drawings(), None
            if len(self.drawings) <= SCORE_AT_ONCE:
                self.evaluation = evaluate_drawings(self.digits_app.model, self.drawings)
            else:
                self._score(self.digits_app.model, self.drawings)
        except ModelError as exc:
            self._unreadable(exc)
        self._refresh()

    def _unreadable(self, exc: BaseException) -> None:
        """The drawings cannot be read (or scored): say why, show none."""
        self.drawings, self.evaluation = None, None
        self._summary(f"[b $error]Your drawings cannot be read.[/] {shown_in_markup(exc)}")

    def _refresh(self) -> None:
        """Show the drawings and their scores as they are now."""
        self._fill_table()
        self._show_drawing()
        self.refresh_bindings()

    @work(thread=True, exclusive=True, group="score", exit_on_error=False)
    def _score(self, model: Any, drawings: Any) -> None:
        """Score `drawings` with `model` off the UI thread; report by a message only."""
        from network.teach import evaluate_drawings

        done = DrawingsScored(drawings)
        try:
            done.evaluation = evaluate_drawings(model, drawings)
        except ModelError as exc:
            done.error = str(exc)
        except MemoryError:
            done.error = f"out of memory while reading {len(drawings):,} drawings"
        if not get_current_worker().is_cancelled:
            self.post_message(done)

    def on_drawings_scored(self, message: DrawingsScored) -> None:
        """The worker's scores, if they are still those of the drawings shown."""
        if message.drawings is not self.drawings:
            return
        if message.error:
            self._unreadable(ModelError(message.error))
        else:
            self.evaluation = message.evaluation
        self._refresh()

    def _summary(self, text: str) -> None:
        self.query_one("#drawings-summary", Static).update(text)

    def _fill_table(self) -> None:
        """One row per digit: kept, read right, and what they are read as."""
        table = self.table
        row = table.cursor_row
        ev = self.evaluation
        # a reading of 100 or more takes a cell's three columns and runs into the cell before
        # it ("5120" for 5 and 120): then the cells show each digit's shares, at most "99"
        # unless it is the whole row ("100", with every other cell empty)
        percent = ev is not None and int(ev.confusion.max()) >= 100
        if percent != self._percent:
            self._columns(percent)
        table.clear()
        if self.drawings is not None:
            counts = self.drawings.counts()
            total = len(self.drawings)
            if total == 0:
                self._summary("No drawings kept yet: on the Paint screen (F2), enter keeps a "
                              "drawing as the guess, t then a digit as the digit you name.")
            elif ev is None:
                self._summary(f"{total} drawings · reading them with the active model… · "
                              "ctrl+t teaches it")
            else:
                self._summary(f"{total} drawings · the active model reads "
                              f"[b]{ev.accuracy:.1%}[/] of them right · ctrl+t teaches it")
        else:
            counts = [0] * 10
        for d in range(10):
            if ev is not None and counts[d]:
                confusion = ev.confusion[d]
                right = f"{confusion[d] / counts[d]:.0%}"
                cells = [_cell(int(c), counts[d], percent) for c in confusion]
            elif counts[d]:  # kept, not scored yet
                right, cells = "…", [""] * 10
            else:
                right, cells = "–", ["·"] * 10
            table.add_row(str(d).rjust(5), str(counts[d]).rjust(5), right.rjust(5),
                          *(c.rjust(3) for c in cells), key=str(d))
        table.move_cursor(row=min(max(row, 0), 9))

    def positions(self) -> list[int]:
        """Positions (in the drawing set) of the drawings of the chosen digit."""
        return self.drawings.of_digit(self.digit) if self.drawings is not None else []

    def _show_drawing(self) -> None:
        """The chosen drawing, its caption, and the thumbnails of its digit."""
        positions = self.positions()
        preview = self.query_one("#drawing-preview", Preview)
        caption = self.query_one("#drawing-caption", Static)
        gallery = self.query_one("#drawings-gallery", MistakeGallery)
        if not positions:
            self.selected = 0
            preview.set_image(None)
            preview.border_title = f"no drawings of {self.digit}"
            caption.update("")
            gallery.show([])
            return
        self.selected = min(max(self.selected, 0), len(positions) - 1)
        i = positions[self.selected]
        record = self.drawings.records[i]
        preview.set_image(self.drawings.images[i])
        preview.border_title = f"a {self.digit}: {self.selected + 1} of {len(positions)}"
        reading = ""
        if self.evaluation is not None:
            reading = f"now read as {int(self.evaluation.predictions[i])}"
        guess = "" if record.guess is None else f" · read as {record.guess} when kept"
        second = " · ".join(part for part in (reading, f"from {record.source}") if part)
        first = f"#{record.id} · {record.time[:16].replace('T', ' ')}{guess}"
        caption.update(f"{shown_in_markup(first)}\n{shown_in_markup(second)}")
        start = self.selected + 1
        thumbs = [Thumb(k, self.drawings.images[positions[k]], self._thumb_caption(positions[k]))
                  for k in range(start, min(len(positions), start + max(gallery.capacity, 0)))]
        gallery.show(thumbs)

    def _thumb_caption(self, i: int) -> str:
        """'#12 read as 7' for a thumbnail."""
        record = self.drawings.records[i]
        if self.evaluation is None:
            return f"#{record.id}"
        return f"#{record.id} read as {int(self.evaluation.predictions[i])}"

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """Another digit chosen: show its drawings. A highlight that names no row (Textual sends
        one without a key when the table changed under it) changes nothing."""
        key = None if event.row_key is None else event.row_key.value
        if key is not None and int(key) != self.digit:
            self.digit, self.selected = int(key), 0
            self._show_drawing()
            self.refresh_bindings()

    def on_mistake_gallery_resized(self, message: MistakeGallery.Resized) -> None:
        """More or fewer thumbnails fit now."""
        self._show_drawing()

    def on_mistake_gallery_chosen(self, message: MistakeGallery.Chosen) -> None:
        """A thumbnail clicked: it becomes the chosen drawing."""
        self.selected = message.position
        self._show_drawing()

    def allows(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Each key only when it can do something."""
        if action in ("open", "relabel", "delete", "step"):
            return bool(self.positions()) and not self.teaching
        if action == "delete_digit":
            return bool(self.positions()) and not self.teaching
        if action == "teach":
            return not self.teaching and bool(self.drawings)
        if action == "cancel":
            return self.teaching
        if action == "activate":
            return bool(self.taught_name) and not self.teaching
        return True

    # -- changing the drawings -----------------------------------------------------------------
    def current(self) -> tuple[int, Any] | None:
        """(position, record) of the chosen drawing, or None."""
        positions = self.positions()
        if not positions:
            return None
        i = positions[min(self.selected, len(positions) - 1)]
        return i, self.drawings.records[i]

    def action_step(self, step: int) -> None:
        """Choose the previous or next drawing of the digit."""
        positions = self.positions()
        if positions:
            self.selected = (self.selected + step) % len(positions)
            self._show_drawing()

    def _change(self, change: Any, done: str) -> None:
        """Run a change of the store; say what happened (or why it failed); show it."""
        try:
            change()
        except ModelError as exc:
            self.notify(shown_in_markup(exc), title="Not changed", severity="error", timeout=10)
        else:
            self.notify(done, timeout=3)
        self.reload()

    def action_delete(self) -> None:
        """Delete the chosen drawing, after a confirmation."""
        from network.drawings import remove_drawings

        chosen = self.current()
        if chosen is None:
            return
        _, record = chosen

        def answered(yes: bool | None) -> None:
            if yes:
                self._change(lambda: remove_drawings([record.id]),
                             f"Deleted drawing #{record.id}.")

        self.app.push_screen(
            ConfirmDialog(f"Delete drawing #{record.id} (a {record.label})?", "Delete"), answered)

    def action_delete_digit(self) -> None:
        """Delete every drawing of the chosen digit, after a confirmation."""
        from network.drawings import remove_drawings

        n, digit = len(self.positions()), self.digit
        if not n:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._change(lambda: remove_drawings(label=digit),
                             f"Deleted the {n} drawings of {digit}.")

        self.app.push_screen(
            ConfirmDialog(f"Delete all {n} drawings of {digit}?", "Delete all"), answered)

    def action_relabel(self) -> None:
        """Keep the chosen drawing as another digit (asked for, then confirmed by enter)."""
        from network.drawings import relabel_drawing

        chosen = self.current()
        if chosen is None:
            return
        _, record = chosen

        def check(text: str) -> str:
            return "" if text.strip() in tuple("0123456789") else "type one digit, 0 to 9"

        def answered(text: str | None) -> None:
            if text is not None and int(text) != record.label:
                label = int(text)
                self._change(lambda: relabel_drawing(record.id, label),
                             f"Drawing #{record.id} is now kept as {label}.")

        self.app.push_screen(
            NameDialog(f"Keep drawing #{record.id} as which digit?", str(record.label), check),
            answered)

    def action_open(self) -> None:
        """Put the chosen drawing on the Paint canvas and go there."""
        chosen = self.current()
        if chosen is None:
            return
        i, record = chosen
        self.digits_app.open_on_paint(self.drawings.images[i],
                                      f"Drawing #{record.id}, kept as {record.label}")

    # -- teach ---------------------------------------------------------------------------------
    def action_teach(self) -> None:
        """Fine-tune the active model on the drawings, in a worker."""
        app = self.digits_app
        if self.teaching or not self.drawings:
            return
        if app.dataset_state != "ready" or app.dataset is None:
            app.request_dataset()
            self.notify("MNIST is needed to teach without forgetting it; it is loading (or "
                        "missing: see the Train screen).", severity="warning")
            return
        from network.registry import writable_models_dir
        from network.teach import TeachConfig

        try:
            writable_models_dir()  # a folder that cannot take the model fails now, not after
        except ModelError as exc:
            self._outcome(f"Not started: {shown_in_markup(exc)}", error=True)
            return
        config = self.teach_config or TeachConfig()
        self.teaching, self.taught_name = True, ""
        self._cancel.clear()
        self._started = time.monotonic()
        self.set_class(True, "-teaching")
        view = self.query_one(TrainProgressView)
        view.reset(config.epochs)
        self._outcome(f"Teaching '{shown_in_markup(self._model_name())}' with {len(self.drawings)} "
                      "drawings…")
        self.refresh_bindings()
        data = app.dataset
        self._teach(app.model, str(app.model_path), self.drawings, data, config)

    def _model_name(self) -> str:
        """The active model's name (a shipped model's name, or its file's stem)."""
        from network.registry import name_of

        return name_of(self.digits_app.model_path)

    def action_cancel(self) -> None:
        """Ask the Teach worker to stop at its next batch."""
        if self.teaching:
            self._cancel.set()
            self._outcome("Cancelling…")

    @work(thread=True, exclusive=True, group="teach", exit_on_error=False)
    def _teach(self, model: Any, model_path: str, drawings: Any, data: Any, config: Any) -> None:
        """Teach, then save the taught model under a new name; report by messages only."""
        from network.registry import save_new, taught_name
        from network.teach import taught_metadata, teach

        worker = get_current_worker()
        throttle = ProgressThrottle(0.1)

        def on_progress(event: Any) -> None:
            for shown in throttle.feed(event):
                self.post_message(TrainProgress(shown))

        done = TeachDone()
        try:
            outcome = teach(model, drawings, data.train_images, data.train_labels,
                            data.test_images, data.test_labels, config,
                            on_progress=on_progress,
                            should_stop=lambda: worker.is_cancelled or self._cancel.is_set())
            done.outcome = outcome
            if outcome.model is not None and not worker.is_cancelled:
                base_name = self._model_name()
                base = {"name": base_name, "path": model_path,
                        "test_accuracy": model.metadata.get("test_accuracy"),
                        "created": model.metadata.get("created")}
                meta = taught_metadata(outcome, drawings, base,
                                       dataset_checksums=dict(data.checksums),
                                       command="digits (Drawings screen, Teach)")
                # claimed atomically; "-2", "-3"... when the name is taken
                done.name = save_new(outcome.model, meta, taught_name(base_name),
                                     unique=True).stem
        except (ModelError, OSError) as exc:
            done.error = one_line_error(exc) or str(exc)
        self.post_message(done)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A Teach worker ended by an error it did not foresee (a bug): say so in one line and
        end the teaching state, which would otherwise last (and block Teach) until a restart."""
        if event.worker.group == "teach" and event.state == WorkerState.ERROR:
            error = event.worker.error
            self.post_message(TeachDone(error=" ".join(f"{type(error).__name__}: {error}"
                                                       .split())[:300]))

    def on_train_progress(self, message: TrainProgress) -> None:
        """Live progress, as on the Train screen."""
        self.query_one(TrainProgressView).show(message.event, time.monotonic() - self._started)

    def _outcome(self, text: str, error: bool = False) -> None:
        outcome = self.query_one("#teach-outcome", Static)
        outcome.update(text)
        outcome.set_class(error, "-error")

    def on_teach_done(self, message: TeachDone) -> None:
        """Say what happened: the before/after table, the new model's name, what next."""
        self.teaching = False
        self.last_done = message
        self.set_class(False, "-teaching")
        outcome = message.outcome
        result = outcome.result if outcome is not None else None
        if message.error or result is None:
            self._outcome(f"Teach failed: {shown_in_markup(message.error)}. Nothing was saved.",
                          error=True)
        elif result.cancelled or result.diverged:
            self._outcome(f"Teach stopped ({shown_in_markup(result.message)}). Nothing was saved.",
                          error=result.diverged)
        else:
            self.taught_name = message.name
            self._taught_summary = (self._before_after(outcome) +
                                    f"\nSaved as '{shown_in_markup(message.name)}' in "
                                    f"{clock(time.monotonic() - self._started)}.")
            self._outcome(self._taught_summary + " Press a to make it the active model.")
        self.reload()

    @staticmethod
    def _before_after(outcome: Any) -> str:
        """The before/after table as text lines."""

        def pct(value: float | None) -> str:
            return "   –   " if value is None else f"{value:7.2%}"

        before, after = outcome.before, outcome.after
        held = int(outcome.held_out.size)
        return (f"{'':24}  before    after\n"
                f"{f'held-out drawings ({held})':24} {pct(before.drawings)}  "
                f"{pct(after.drawings)}\n"
                f"{'MNIST test (10,000)':24} {pct(before.mnist)}  {pct(after.mnist)}")

    def action_activate(self) -> None:
        """Make the taught model the active one (for every screen and the next start)."""
        if not self.taught_name:
            return
        from network.registry import path_for, set_active
        from network.store import load_model

        try:
            path = path_for(self.taught_name)
            model = load_model(path)
            set_active(self.taught_name)
        except (ModelError, OSError) as exc:
            self.notify(shown_in_markup(one_line_error(exc) or str(exc)), severity="error")
            return
        self.digits_app.set_model(model, path)
        self.notify(f"Active model: {shown_in_markup(self.taught_name)}", timeout=3)
        self._outcome(self._taught_summary + " It is now the active model.")
        self.taught_name = ""
        self.refresh_bindings()

    def current_image(self) -> np.ndarray | None:
        """The chosen drawing's raw canvas (None when there is none)."""
        chosen = self.current()
        return None if chosen is None else self.drawings.images[chosen[0]]
