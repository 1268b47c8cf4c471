"""The Paint screen: draw a digit on a 28x28 grid and watch the active model recognize it.

Layout (see paint.tcss, read with the app's own CSS, `DigitsApp.CSS_PATH`): the grid on the left
with a caption under it; on the right the predicted digit (large), its confidence, ten
probability bars and a preview of the normalized 28x28 image the network receives; a status line
at the bottom (tool, cursor, active model). The grid is drawn at full scale (two columns by one
row per pixel) when the terminal is at least `FULL_CANVAS_SIZE`, otherwise compact (half-block
cells), so everything fits 80x24.

Recognition runs after every change of the ink, coalesced: outside a mouse stroke (keys, the
pen, loading an image) a change schedules one recognition with `call_later`, which runs after
the messages already queued, so a burst of changes costs one forward pass, not one per change;
and once a recognition has run, the next one waits for the frame that shows it (measured on a
2-core EPYC, frames of 46-51 ms of work held 5-8 recognitions of 2.4 ms each). During a mouse
stroke, recognition (`evaluate`: normalize + recognize_proba, 2-3 ms) runs in the screen's own
thread, one at a time and at most one a frame: a change starts one at once if none is running
and no result has been shown since the last frame, otherwise the next starts right after the
frame that shows the last result (`_frame_shown`); the frames of a drag never wait for a
recognition. When the stroke ends, the final ink is
recognized on the UI thread if a thread's recognition is still running or the ink changed since
the last one started, so what is shown after a stroke is always for the final ink.
A stroke's motion events do not go through Textual's widget machinery: the screen draws each
with `Canvas.drag` as it is forwarded, and updates the status line and recognition itself.
`latencies` keeps, for the last recognitions, the seconds from the earliest pending change to
the updated prediction widgets; `compute_times` the seconds spent in normalize +
recognize_proba (the model's probabilities averaged over the image and its one-pixel shifts,
`network.recognize`).
"""

from __future__ import annotations

import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from rich.style import Style
from textual import errors, events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.notifications import Notification, Notify
from textual.timer import Timer
from textual.widgets import Static

from mnist.drawing import UNDO_LEVELS, Drawing
from mnist.normalize import MIN_INK_SPAN, ink_span, is_blank, normalize
from network.recognize import recognize_proba
from network.registry import name_of
from network.store import claimed_accuracy
from tui.compositor import BandedCompositor
from tui.dispatch import CachedDispatch
from tui.screens.base import DigitsScreen
from tui.widgets.canvas import Canvas
from tui.widgets.guess import ConfidenceText, GuessDigit
from tui.widgets.outside import shown, shown_in_markup
from tui.widgets.preview import Preview, Runs, preview_rows
from tui.widgets.probabilities import Probabilities
from tui.widgets.repaint import after_refresh
from tui.widgets.status import StatusLine

FULL_CANVAS_SIZE = (92, 34)
"""Smallest terminal (columns, rows) that gets the full-scale grid."""
HINT = "Draw a digit on the grid:\nmouse, or arrows + space (? for help)."
MOUSE_TIP = "Left button paints, right button erases."
KEEP_DRAWING = "Keep drawing: a dab or a short\nline is not a digit yet."
SURE_FROM = 0.7
KEEP_AS_SECONDS = 4.0
"""How long `t` waits for the digit (as long as its prompt shows)."""
"""Below this top probability the screen says "not sure: 4 or 9?" instead of "sure it is a 4".
On MNIST's test set the shipped model is below it for 60 of 10,000 digits and wrong for 21 of
those (35%); at or above it, wrong for 31 of 9,940 (0.3%)."""

HELP = """\
Mouse: hold the left button and drag to paint, the right button to erase.
Keyboard: move the cursor with the arrows or h/j/k/l; space paints at the cursor; p puts the pen
down so moving draws a stroke (p again lifts it); e switches the tool to the eraser (space, the
pen and the left button then erase); x erases at the cursor. 1/2/3 or [ ] set the brush size.
c clears, u undoes the last stroke (64 levels), r loads a random MNIST test digit.

Keeping drawings (to teach the network your handwriting, on the Drawings screen, F6): enter
keeps the drawing as the guessed digit; t then a digit key (while its prompt shows), or a click
on a digit's bar, keeps it as that digit. The canvas then clears for the next one. Blank
canvases are never kept.

The network sees the drawing normalized like MNIST: the ink's bounding box scaled to 20x20 and
centred by its centre of mass (the preview on the right). A small digit in a corner works too.
In the compact grid (small terminals) a character cell holds two pixels; without pixel-precise
mouse reports the upper one is painted, or the lower one when the stroke moves upwards."""


@dataclass(frozen=True)
class Recognition:
    """What the Paint screen shows for a drawing: the (10,) probabilities and the (28, 28)
    normalized image as the preview's uint8 levels and rows of cells (`preview_rows`; all
    three None when there is no guess), the text to show without a guess, and the seconds
    normalize + predict took."""

    probs: np.ndarray | None
    image: np.ndarray | None
    message: str
    seconds: float
    rows: list[Runs] | None = None


def evaluate(pixels: np.ndarray, model: Any) -> Recognition:
    """Recognize the (28, 28) uint8 drawing `pixels` with `model` (None: no model loaded).

    Touches no widget, so it runs in a thread as well as on the UI thread (the model's predict
    path is safe from several threads). A dab or a short line (ink spanning fewer than
    MIN_INK_SPAN pixels) gets no guess, a blank canvas the hint.
    """
    started = time.perf_counter()
    probs = image = None
    message = HINT
    if model is None:
        message = "No model loaded."
    elif is_blank(pixels):
        pass
    elif ink_span(pixels) < MIN_INK_SPAN:
        message = KEEP_DRAWING
    else:
        try:
            image = normalize(pixels)
            probs = recognize_proba(model, image[None])[0]
        except Exception as exc:  # noqa: BLE001 - a broken model must not crash painting
            message = f"Recognition failed: {exc}"  # (nor end the thread's turns)
    seconds = time.perf_counter() - started
    if image is None:
        return Recognition(probs, None, message, seconds)
    # the preview's levels and cells made here, in the recognition thread during a stroke: on
    # the UI thread they took 0.5-0.9 ms of the frame that shows the preview
    levels, rows = preview_rows(image)
    return Recognition(probs, levels, message, seconds, rows)


def confidence_text(probs: np.ndarray, best: int, second: int) -> Content:
    """What the Paint screen says next to the guess, for (10,) `probs` whose top two are
    `best` and `second`: how sure, and the runner-up.

    Built as `Content` rather than parsed from markup (0.4 ms a result, 10 us built).
    """
    if probs[best] < SURE_FROM:
        return Content.assemble(
            (f"not sure: {best} or {second}?", "b"), "\n",
            (f"{best} ({probs[best] * 100:.1f}%), {second} ({probs[second] * 100:.1f}%)", "dim"))
    return Content.assemble(
        (f"{probs[best] * 100:.1f}%", "b"), f" sure it is a {best}\n",
        (f"next: {second} ({probs[second] * 100:.1f}%)", "dim"))


class PaintScreen(CachedDispatch, DigitsScreen):
    """Paint a digit with the mouse or the keyboard; the active model recognizes it live."""

    TITLE = "Paint"
    MODE = "paint"
    HELP = HELP
    BINDINGS = [
        Binding("space", "stamp", "Paint", tooltip="Paint (or erase) at the cursor"),
        Binding("p", "pen", "Pen", tooltip="Pen down/up: moving the cursor draws"),
        Binding("e", "eraser", "Eraser", tooltip="Switch between paint and erase"),
        Binding("c", "clear", "Clear"),
        Binding("u,ctrl+z", "undo", "Undo"),
        Binding("r", "random", "Random"),
        Binding("enter", "keep", "Keep", tooltip="Keep the drawing as the guessed digit"),
        Binding("t", "keep_as", "Keep as…", tooltip="Then a digit key: keep it as that digit"),
        Binding("x", "erase", "Erase at cursor", show=False),
        Binding("1", "brush(1)", "Brush size 1", show=False),
        Binding("2", "brush(2)", "Brush size 2", show=False),
        Binding("3", "brush(3)", "Brush size 3", show=False),
        Binding("left_square_bracket", "brush_step(-1)", "Smaller brush", show=False),
        Binding("right_square_bracket", "brush_step(1)", "Bigger brush", show=False),
        Binding("up,k", "move(-1, 0)", "Cursor up", show=False),
        Binding("down,j", "move(1, 0)", "Cursor down", show=False),
        Binding("left,h", "move(0, -1)", "Cursor left", show=False),
        Binding("right,l", "move(0, 1)", "Cursor right", show=False),
    ]

    def __init__(self) -> None:
        """A blank drawing; recognition statistics start empty."""
        super().__init__()
        self._compositor = BandedCompositor()  # a frame renders only the lines that changed
        self.drawing = Drawing()
        self.latencies: deque[float] = deque(maxlen=2000)
        self.compute_times: deque[float] = deque(maxlen=2000)
        self._pending_since: float | None = None
        self._recognition_scheduled = False
        self._recognized_since_frame = False  # at most one recognition per frame in a drag
        self._in_flight = False  # a recognition runs in a thread (during a mouse stroke)
        self._generation = 0  # recognitions done here: a thread's older result is not shown
        self._recognizer: ThreadPoolExecutor | None = None  # the thread for strokes' recognitions
        self._caption = ""
        self._caption_image: np.ndarray | None = None
        self._loaded: dict[bytes, str] = {}  # recent loaded images' captions, by their pixels
        self._want_random = False
        self._rng = np.random.default_rng()
        self._texts: dict[Static, Content] = {}  # what _set_text last showed, by widget
        self._keep_timer: Timer | None = None  # `t` waits for its digit key (`_keep_pending`)
        self._keep_prompt: Notification | None = None  # what `t` shows while it waits
        self._label: tuple[tuple[Any, ...], str] | None = None  # model_label's last answer

    def compose_body(self) -> ComposeResult:
        """Grid and caption | prediction, bars and preview; status line below.

        The grid's scale is chosen here, before anything is styled: choosing it once mounted
        restyles every widget of the screen (measured 20% of the time to the first frame).
        """
        full = self._full_scale(*self.app.size)
        self.set_class(full, "-full-canvas", update=False)
        canvas = self._canvas = Canvas(self.drawing, id="canvas")
        canvas.set_compact(not full)
        with Horizontal(id="paint-main"):
            with Vertical(id="canvas-pane"):
                yield canvas
                yield (caption := Static(id="caption"))
            with Vertical(id="result-pane"):
                with Horizontal(id="prediction"):
                    yield (digit := GuessDigit("", id="digit"))
                    yield (confidence := ConfidenceText(HINT, id="confidence"))
                with Horizontal(id="details"):
                    yield (bars := Probabilities(id="bars"))
                    yield (preview := Preview(title="what the network sees", id="preview"))
        yield (status := StatusLine(id="status"))
        # kept, as the canvas is: a query per result (five of them) cost 0.1-0.2 ms
        self._digit, self._confidence, self._bars = digit, confidence, bars
        self._preview, self._status, self._caption_text = preview, status, caption

    @property
    def canvas(self) -> Canvas:
        """The paint grid."""
        return self._canvas  # kept: a query per motion event cost more than the rest of it

    def get_style_at(self, x: int, y: int) -> Style:
        """The style under (x, y); none while the canvas holds the mouse (a stroke).

        Textual asks for it with every motion event, for links and hover, which renders the
        terminal line under the pointer again: on the canvas, a line the stroke has just
        changed, 0.3 ms an event. The canvas has no links and the mouse is its own until the
        stroke ends, so a drag does without.
        """
        if isinstance(self.app.mouse_captured, Canvas):
            return Style.null()
        return super().get_style_at(x, y)

    def _handle_mouse_move(self, event: events.MouseMove) -> None:
        """Hand a motion event of a stroke straight to the canvas, and update the screen.

        Textual's handling of each motion event also works out the widget under the pointer,
        its pointer shape, its hover style and its tooltip: about 0.2 ms an event, none of which
        can change while the canvas holds the mouse for a stroke. The canvas draws the segment
        at once (`Canvas.drag`), without a message of its own to dispatch, and the screen
        takes the change and the cursor's move from there rather than from a `Canvas.Changed`
        and a `Canvas.ToolChanged` per event.
        """
        canvas = self.app.mouse_captured
        if isinstance(canvas, Canvas) and canvas.stroking and canvas.screen is self:
            try:
                region = self.find_widget(canvas).region
            except errors.NoWidget:
                pass
            else:
                box, moved = canvas.drag(self._translate_mouse_move_event(event, canvas, region))
                if box is not None:
                    self._ink_changed(time.perf_counter())
                if moved:
                    self._update_status()
                return
        super()._handle_mouse_move(event)

    def update_pointer_shape(self) -> None:
        """Work out the pointer's shape, except during a stroke: the canvas holds the mouse, so
        the shape cannot change, and Textual asks after every motion event."""
        canvas = getattr(self, "_canvas", None)
        if canvas is not None and canvas.stroking:
            return
        super().update_pointer_shape()

    def on_mount(self) -> None:
        """Fit the layout, follow the model and the dataset, recognize what is there."""
        self._fit(self.app.size.width, self.app.size.height)
        self.watch(self.app, "model_id", self._model_changed)
        self.watch(self.app, "dataset_state", self._dataset_changed, init=False)
        self._update_caption()

    def on_resize(self, event: events.Resize) -> None:
        """Pick the grid's scale for the new terminal size. Below the minimum size, forget a
        pending `t`: its prompt is hidden with the drawing, and the next key must not keep it."""
        self._fit(event.size.width, event.size.height)
        if self.too_small:
            self._end_keep()

    @staticmethod
    def _full_scale(width: int, height: int) -> bool:
        """Whether a terminal this big gets the full-scale grid (at least FULL_CANVAS_SIZE)."""
        return width >= FULL_CANVAS_SIZE[0] and height >= FULL_CANVAS_SIZE[1]

    def _fit(self, width: int, height: int) -> None:
        """Full-scale grid when the terminal is at least FULL_CANVAS_SIZE, else compact."""
        full = self._full_scale(width, height)
        self.set_class(full, "-full-canvas")
        self.canvas.set_compact(not full)

    def on_screen_suspend(self) -> None:
        """Leaving the screen closes any open stroke (mouse or pen) and forgets a pending `t`
        (the first key back here is not taken as the digit to keep)."""
        self.canvas.end_stroke()
        self.canvas.lift_pen()
        self._end_keep()

    # -- recognition -----------------------------------------------------------------------------
    @dataclass
    class Recognized(Message, bubble=False):
        """A recognition run in a thread during a stroke has finished (for the screen alone:
        bubbled on, the app would dispatch it too)."""

        generation: int  #: the screen's `_generation` when it started
        since: float | None  #: the earliest change it covers (perf_counter), if any
        result: Recognition

    def on_canvas_changed(self, message: Canvas.Changed) -> None:
        """The ink changed: recognize it (see `_ink_changed`)."""
        self._ink_changed(message.when)

    def _ink_changed(self, when: float) -> None:
        """The ink changed at `when` (perf_counter): during a mouse stroke, recognize it in the
        screen's thread now, or, if a recognition runs there or its result is not on screen
        yet, after the frame that shows that result (`_frame_shown`); otherwise schedule one
        recognition for all changes queued so far."""
        if self._pending_since is None or when < self._pending_since:
            self._pending_since = when
        if self.canvas.stroking:
            self._recognition_scheduled = True
            if not self._recognized_since_frame:
                self._recognize_stroke()
        else:
            self._schedule_recognition()

    def on_canvas_stroke_ended(self, message: Canvas.StrokeEnded) -> None:
        """A mouse stroke ended: if a recognition is still running in its thread, or the ink
        changed since the last one started, recognize the ink as it is now, so that what is
        shown once the stroke is over is for the final ink. Automatic garbage collection,
        off during the stroke, comes back once the frame showing that result is drawn."""
        if self._in_flight or self._recognition_scheduled:
            self.recognize()
        after_refresh(self, message.canvas.resume_collection)  # after that result's frame

    def _schedule_recognition(self) -> None:
        """Run `recognize` once for the changes made meanwhile: after the messages already
        queued, or, if it ran since the last frame, right after the next frame."""
        if not self._recognition_scheduled:
            self._recognition_scheduled = True
            if self._recognized_since_frame:
                after_refresh(self, self._recognize_if_due)
            else:
                self.call_later(self._recognize_if_due)

    def _recognize_if_due(self) -> None:
        """Recognize, unless something that needed the result did it already: during a mouse
        stroke in the screen's thread, otherwise right here."""
        if not self._recognition_scheduled:
            return
        if self.canvas.stroking:
            self._recognize_stroke()
        else:
            self.recognize()

    def _recognize_stroke(self) -> None:
        """During a mouse stroke: recognize the ink in the screen's thread, unless a
        recognition runs there already (one at a time: the next starts when its result is in,
        `on_paint_screen_recognized`)."""
        if not self._in_flight and self._recognition_scheduled:
            self._recognition_scheduled = False
            self._in_flight = True
            since, self._pending_since = self._pending_since, None
            self._recognize_in_thread(self.drawing.pixels.copy(), getattr(self.app, "model", None),
                                      self._generation, since)

    def _recognize_in_thread(self, pixels: np.ndarray, model: Any, generation: int,
                             since: float | None) -> None:
        """`evaluate` (28, 28) `pixels` with `model` in the screen's recognition thread; the
        result comes back as a `Recognized` message.

        One long-lived thread rather than a Textual worker per recognition: starting a worker
        (a new thread, its state messages) took about 2 ms of the UI thread each time, more than
        the recognition it moved away.
        """
        if self._recognizer is None:
            self._recognizer = ThreadPoolExecutor(1, thread_name_prefix="paint-recognition")
        post, message = self.post_message, self.Recognized

        def run() -> None:
            post(message(generation, since, evaluate(pixels, model)))

        self._recognizer.submit(run)

    def on_unmount(self) -> None:
        """Stop the recognition thread (a result still coming is dropped with the screen)."""
        if self._recognizer is not None:
            self._recognizer.shutdown(wait=False, cancel_futures=True)
            self._recognizer = None

    def on_paint_screen_recognized(self, message: Recognized) -> None:
        """A thread's result: show it unless the screen recognized newer ink meanwhile; if the
        ink changed while it ran, the next one starts after the frame that shows this one, and
        so does one for a change made before that frame (`_ink_changed`): starting those at
        once showed 1.5-1.9 results a frame, each costing the frame about 1 ms (120 events/s).

        Starting it at once measured no better: twice the recognitions, each result shown
        costing the UI thread about 0.5 ms and the thread holding the interpreter meanwhile
        (300-event drags at 120/s, in turns: frame work median 10.3-13.4 against 10.3-11.3 ms,
        stroke->prediction median 15-16 against 4-19 ms).
        """
        self._in_flight = False
        if message.generation != self._generation:  # outdated by a recognition done here
            return
        self._show_result(message.result, message.since)

    def _frame_shown(self) -> None:
        """A frame was drawn since the last recognition: during a mouse stroke, recognize the
        ink if it changed meanwhile."""
        self._recognized_since_frame = False
        if self.canvas.stroking:
            self._recognize_stroke()

    def recognize(self) -> None:
        """Normalize the drawing, run the active model, and show the result (here, now: a
        result a thread brings later for older ink is not shown)."""
        self._recognition_scheduled = False
        self._generation += 1
        since, self._pending_since = self._pending_since, None
        self._show_result(evaluate(self.drawing.pixels, getattr(self.app, "model", None)), since)

    def _show_result(self, result: Recognition, since: float | None) -> None:
        """Show a recognition's result; `since`: the earliest change it covers."""
        if not self._recognized_since_frame:
            self._recognized_since_frame = True
            after_refresh(self, self._frame_shown)
        self.compute_times.append(result.seconds)
        self._show(result)
        if since is not None:
            self.latencies.append(time.perf_counter() - since)
        self._update_caption()

    def _show(self, result: Recognition) -> None:
        """Update the digit, the confidence text, the bars and the preview.

        All four change in the same frame. (The preview used to follow a frame later, when
        drawing its 14 rows took about 3 ms; with its rows made in the recognition thread,
        frames measured 5.5-5.7 ms of work at the median, against 5.9-6.3 ms with the preview
        a frame behind, in 500-event drags at 120 events/s.)
        """
        if result.image is None or result.rows is None:
            self._preview.set_image(None)
        else:
            self._preview.show_levels(result.image, result.rows)
        probs = result.probs
        self._bars.show(probs)
        if probs is None:
            self._digit.update("")
            self._set_text(self._confidence, Content(result.message), layout=False)
            return
        order = np.argsort(-probs, kind="stable")  # equal ones (often 0.0) in digit order
        best, second = int(order[0]), int(order[1])
        self._digit.update(str(best))
        self._set_text(self._confidence, confidence_text(probs, best, second), layout=False)

    def _set_text(self, static: Static, text: Content, layout: bool = True) -> None:
        """Show `text` in `static`, doing nothing if the same text is shown already.

        `layout=False` for the fixed-size ones (the confidence): a Static's update otherwise
        lays out the whole screen again, which measured 18 ms a frame during a fast drag and
        delayed what the drag drew by up to 75 ms.
        """
        if self._texts.get(static) != text:
            self._texts[static] = text
            static.update(text, layout=layout)

    @property
    def prediction(self) -> str:
        """The digit shown as the guess ("" when there is none)."""
        return self._digit.value

    # -- status and caption ----------------------------------------------------------------------
    def on_canvas_tool_changed(self, message: Canvas.ToolChanged) -> None:
        """Cursor, pen, eraser or brush changed: refresh the status line."""
        self._update_status()

    def _model_changed(self, model_id: str) -> None:
        """Another model became active: new status line and a fresh recognition."""
        self._update_status()
        self._schedule_recognition()

    def model_label(self) -> str:
        """'name · preset · test 97.8%' of the active model (name: file stem or 'shipped').

        Worked out again only when the model, its path or the metadata shown change: resolving
        the paths took 1-2 ms, and the status line asks for the label whenever the cursor moves.
        """
        model = getattr(self.app, "model", None)
        path = getattr(self.app, "model_path", None)
        meta: dict[str, Any] = dict(getattr(model, "metadata", None) or {})
        key = (id(model), path, meta.get("name"), meta.get("preset"), meta.get("test_accuracy"))
        if self._label is None or self._label[0] != key:
            self._label = (key, self._work_out_label(meta, path))
        return self._label[1]

    @staticmethod
    def _work_out_label(meta: dict[str, Any], path: Any) -> str:
        """`model_label` of a model with this metadata, loaded from `path`."""
        name = name_of(path) if path else "?"
        parts = [str(meta.get("name") or name)]
        if meta.get("preset"):
            parts.append(str(meta["preset"]))
        accuracy = claimed_accuracy(meta)
        if accuracy is not None:
            parts.append(f"test {accuracy * 100:.2f}%")
        return shown(" · ".join(parts))  # names and metadata: outside text

    def _update_status(self) -> None:
        """Brush, pen, tool, cursor, and the active model."""
        canvas = self.canvas
        row, col = canvas.cursor
        self._status.show(
            (f"brush {self.drawing.brush_size} · ", None),
            ("eraser", "status-line--alert") if canvas.eraser else ("paint", None),
            (" · ", None),
            ("pen down", "status-line--on") if canvas.pen_down else ("pen up", None),
            (f" · cursor {row},{col} │ {self.model_label()}", None),  # plain: never markup
        )

    def _update_caption(self) -> None:
        """What is on the canvas: a loaded image's caption (marked once edited), or a mouse tip."""
        caption = self._caption
        if caption and self._caption_image is not None:
            if not np.array_equal(self._caption_image, self.drawing.pixels):
                caption += " (edited)"
        self._set_text(self._caption_text, Content(caption or MOUSE_TIP))  # plain text

    # -- loading images ----------------------------------------------------------------------------
    def show_image(self, image: np.ndarray, caption: str) -> None:
        """Put a 28x28 image (uint8 or float 0..255) on the canvas, undoably, with a caption."""
        if self.is_mounted:
            self.canvas.load_image(image)
        else:
            self.drawing.load(image)
        self._caption = caption
        self._caption_image = self.drawing.pixels.copy()
        key = self._caption_image.tobytes()
        self._loaded.pop(key, None)
        self._loaded[key] = caption  # the newest last; no further back than undo can go
        while len(self._loaded) > UNDO_LEVELS + 1:
            del self._loaded[next(iter(self._loaded))]
        if self.is_mounted:
            self._update_caption()

    def _load_random(self) -> None:
        """Put a random MNIST test digit on the canvas, labelled with its true digit."""
        data = self.app.dataset
        index = int(self._rng.integers(len(data.test_images)))
        label = int(data.test_labels[index])
        self.show_image(data.test_images[index], f"MNIST test #{index}, label {label}")

    def _dataset_changed(self, state: str) -> None:
        """The dataset finished loading (or failed) after `r` asked for it."""
        if not self._want_random or state == "loading":
            return
        self._want_random = False
        if state == "ready":
            self._load_random()
        elif state == "missing":
            self.notify(shown(self.app.dataset_error), title="No MNIST", severity="error",
                        timeout=10, markup=False)  # it names folders: outside text

    # -- actions -------------------------------------------------------------------------------
    def action_move(self, d_row: int, d_col: int) -> None:
        """Move the cursor (drawing when the pen is down)."""
        self.canvas.move_cursor(d_row, d_col)

    def action_stamp(self) -> None:
        """Paint (or, with the eraser, erase) at the cursor."""
        self.canvas.stamp()

    def action_erase(self) -> None:
        """Erase at the cursor."""
        self.canvas.stamp(erase=True)

    def action_pen(self) -> None:
        """Pen down / pen up."""
        self.canvas.toggle_pen()

    def action_eraser(self) -> None:
        """Toggle the eraser."""
        self.canvas.toggle_eraser()

    def action_brush(self, size: int) -> None:
        """Set the brush size 1..3."""
        self.canvas.set_brush(size)

    def action_brush_step(self, step: int) -> None:
        """Make the brush one size smaller or bigger."""
        self.canvas.set_brush(min(max(self.drawing.brush_size + step, 1), 3))

    def action_clear(self) -> None:
        """Clear the canvas (undoable)."""
        self.canvas.clear()
        self._caption, self._caption_image = "", None
        self._update_caption()

    def action_undo(self) -> None:
        """Undo the last stroke. The caption then names the image on the canvas if it is one
        loaded lately (r, or opened from another screen), else there is none: undoing the
        second of two random digits showed the first under the second's caption, "(edited)"."""
        if not self.canvas.undo():
            self.notify("Nothing to undo.", timeout=2)
            return
        pixels = self.drawing.pixels
        caption = self._loaded.get(pixels.tobytes())
        if caption is None:
            self._caption, self._caption_image = "", None
        else:
            self._caption, self._caption_image = caption, pixels.copy()
        self._update_caption()

    # -- keeping drawings ------------------------------------------------------------------------
    def action_keep(self) -> None:
        """Keep the drawing as the digit the network guesses."""
        if self._recognition_scheduled:
            self.recognize()
        if self.prediction:
            self.keep(int(self.prediction))
        else:
            self.notify("Nothing to keep: draw a digit first.", timeout=3)

    def action_keep_as(self) -> None:
        """The next key (a digit) says what to keep the drawing as."""
        if is_blank(self.drawing.pixels):
            self.notify("Nothing to keep: draw a digit first.", timeout=3)
            return
        self._end_keep()
        self._keep_timer = self.set_timer(KEEP_AS_SECONDS, self._end_keep)
        self._keep_prompt = Notification("Keep as which digit? Press 0-9 (any other key "
                                         "cancels).", timeout=KEEP_AS_SECONDS)
        self.app.post_message(Notify(self._keep_prompt))  # what `notify` does, keeping it

    @property
    def _keep_pending(self) -> bool:
        """`t` was pressed and its prompt still shows: the next key names the digit."""
        return self._keep_timer is not None

    def _end_keep(self) -> None:
        """Stop waiting for `t`'s digit: answered, cancelled, the screen left, or the prompt
        gone (a `c` pressed long after it was taken as "not kept", and the canvas stayed)."""
        if self._keep_timer is not None:
            self._keep_timer.stop()
            self._keep_timer = None
        if self._keep_prompt is not None:
            # The prompt goes with the wait: it stayed up to 4 s after the answer, saying
            # "Press 0-9" while a digit set the brush size. Removed as Textual does when a
            # notification is clicked; called later, so after the prompt's own Notify message.
            self.app.call_later(self.app._unnotify, self._keep_prompt)
            self._keep_prompt = None

    def on_key(self, event: events.Key) -> None:
        """After `t`, a digit key keeps the drawing as that digit; any other key cancels."""
        if not self._keep_pending:
            return
        self._end_keep()
        event.stop()
        event.prevent_default()
        if event.character is not None and event.character in "0123456789":
            self.keep(int(event.character))
        else:
            self.notify("Not kept.", timeout=2)

    def on_probabilities_chosen(self, message: Probabilities.Chosen) -> None:
        """A click on a digit's bar keeps the drawing as that digit."""
        if not is_blank(self.drawing.pixels):
            self.keep(message.digit)

    def keep(self, digit: int) -> None:
        """Keep the drawing (with the current guess) as `digit`, then clear the canvas."""
        from network.drawings import add_drawings
        from network.errors import ModelError

        if self._recognition_scheduled:  # the guess must be that of this very drawing
            self.recognize()
        pixels = self.drawing.pixels.copy()
        if is_blank(pixels):
            self.notify("Nothing to keep: the canvas is blank.", timeout=3)
            return
        guess = int(self.prediction) if self.prediction else None
        try:
            drawings = add_drawings([pixels], [digit], [guess])
        except ModelError as exc:
            self.notify(shown_in_markup(exc), title="Not kept", severity="error", timeout=10)
            return
        self.action_clear()
        total = len(drawings)
        self.notify(f"Kept as {digit}: you have {drawings.counts()[digit]} of {digit} "
                    f"({total} drawing{'' if total == 1 else 's'} in all).", timeout=3)

    def action_random(self) -> None:
        """A random MNIST test digit (loads the dataset first; says so when it is missing)."""
        if self.app.dataset_state == "ready":
            self._load_random()
            return
        self._want_random = True
        if self.app.dataset_state != "loading":
            self.app.request_dataset()
        if self.app.dataset_state == "loading":
            self.notify("Loading MNIST…", timeout=2)
