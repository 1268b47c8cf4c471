"""The digits Textual app: five screens (modes), the active model, and the dataset.

Screens are Textual modes, reachable from everywhere by a function key and by the command palette:
F2 Paint, F3 Train, F4 Evaluate, F5 Models, F6 Drawings; F1 (or ?) shows the keys of the current
screen.

Shared state lives here and reaches the screens through reactives that hold plain strings, never
arrays: `model_id` changes when another model becomes active (screens read `app.model`), and
`dataset_state` moves through "unknown" -> "loading" -> "ready" | "missing" (screens read
`app.dataset` / `app.dataset_error`). Loading the dataset runs in a thread worker.

Start-up draws the Paint screen first: the other screens' modules (and what only they use) are
imported right after its first frame, or when their mode is shown if that comes first; the
dataset reader and its downloader when the dataset is first asked for.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Literal, cast

import numpy as np
from textual import events, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.css.stylesheet import Stylesheet
from textual.notifications import Notify
from textual.reactive import var
from textual.screen import Screen

from network.model import Model
from network.registry import set_active, startup_model
from tui import startup
from tui.dispatch import CachedDispatch
from tui.screens.base import MIN_HEIGHT, MIN_WIDTH
from tui.screens.paint import PaintScreen
from tui.widgets.canvas import Canvas
from tui.widgets.modal import CommandPalette

if TYPE_CHECKING:
    from mnist.dataset import Mnist
    from tui.cli.common import ModelLoading
    from tui.screens.evaluate import EvaluateScreen

DatasetState = Literal["unknown", "loading", "ready", "missing"]
"""Where the app is with MNIST: not asked for yet, loading, loaded, or not found (or damaged)."""

SCREEN_KEYS = {"paint": "f2", "train": "f3", "evaluate": "f4", "models": "f5", "drawings": "f6"}


_startup_frozen = False  # gc.freeze() done (see DigitsApp._freeze_startup_objects)


FORWARD_SLICE = 0.01
"""Seconds of forwarding motion events to a widget holding the mouse after which the app lets
that widget (and the screen's refresh) run before it forwards the next one."""

#: The screens' modules the first frame does without: imported after it (see `lazy_screen`).
LATER_SCREENS = ("train", "evaluate", "models", "drawings", "help")


def lazy_screen(module: str, name: str) -> Callable[[], Screen]:
    """A MODES entry that imports `tui.screens.<module>` when the mode is first shown.

    Importing the Train, Evaluate, Models and Drawings screens (and what they alone use)
    measured a quarter of the app's import time under `python -X importtime`, none of it
    needed for the Paint screen's first frame (`benchmarks/startup.py`). They are imported
    right after that frame (`DigitsApp._after_first_frame`), so switching screens stays quick.
    """

    def make() -> Screen:
        return cast(Screen, getattr(importlib.import_module(f"tui.screens.{module}"), name)())

    make.__qualname__ = make.__name__ = name
    return make


class ReusingStylesheet(Stylesheet):
    """Textual's Stylesheet, keeping the rules it parsed until the CSS variables change.

    Textual parses every source again, in a fresh stylesheet, whenever it re-reads the CSS: when
    the theme is applied at start-up (with the same variables the first parse used) and when a
    screen brings its own CSS file. Each time measured 20-30 ms before the Paint screen's first
    frame. Here a re-parse takes the rules of unchanged sources from the cache, which is
    emptied when the variables (the theme) change. A source with errors raises as before,
    leaving the rules as they were.
    """

    def set_variables(self, variables: dict[str, str]) -> None:
        """New CSS variables; the same ones keep the parsed rules."""
        if variables != self._variables:
            super().set_variables(variables)

    def reparse(self) -> None:
        """Parse the sources again, reusing what was parsed with the current variables."""
        self.parse()


class DigitsApp(CachedDispatch, App[None]):
    """Paint a digit and watch the network recognize it; train and evaluate that network."""

    # The Paint screen's layout is read with the app's own: as the screen's CSS_PATH, loading it
    # parsed the whole stylesheet again and restyled the app before the first frame.
    CSS_PATH = ["app.tcss", "screens/paint.tcss"]
    TITLE = "digits"
    MODES = {
        "paint": PaintScreen,
        "train": lazy_screen("train", "TrainScreen"),
        "evaluate": lazy_screen("evaluate", "EvaluateScreen"),
        "models": lazy_screen("models", "ModelsScreen"),
        "drawings": lazy_screen("drawings", "DrawingsScreen"),
    }
    DEFAULT_MODE = "paint"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (MIN_WIDTH, "-normal"), (120, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (MIN_HEIGHT, "-medium"), (34, "-tall")]
    BINDINGS = [
        # The screens and help are shown in the mode bar at the top, so not in the footer.
        Binding("f1,question_mark", "help", "Help", show=False),  # ? typed in a field is text
        Binding("f2", "switch_mode('paint')", "Paint screen", show=False),
        Binding("f3", "switch_mode('train')", "Train screen", show=False),
        Binding("f4", "switch_mode('evaluate')", "Evaluate screen", show=False),
        Binding("f5", "switch_mode('models')", "Models screen", show=False),
        Binding("f6", "switch_mode('drawings')", "Drawings screen", show=False),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    model_id: var[str] = var("")
    """Identity (path) of the active model; watch it to follow model changes."""
    dataset_state: var[DatasetState] = var("unknown")
    """"unknown", "loading", "ready" or "missing"."""

    def __init__(
        self, model: Model, model_path: Path, data_dir: str | None = None, notice: str = ""
    ) -> None:
        super().__init__()
        # The variables App.__init__ has just worked out from the theme (not generated twice).
        self.stylesheet = ReusingStylesheet(variables=self.theme_variables)
        self.model = model
        self.model_path = model_path
        self.data_dir = data_dir
        self.dataset: Mnist | None = None
        self.dataset_error = ""
        self._notice = notice
        self._slice_start = 0.0  # when the app last yielded while forwarding motion events

    def on_mount(self) -> None:
        """Publish the starting model; tell the user if it is a fallback."""
        self.model_id = str(self.model_path)
        if self._notice:
            self.notify(self._notice, severity="warning", timeout=10, markup=False)
        self.call_after_refresh(self._after_first_frame)

    async def on_event(self, event: events.Event) -> None:
        """Handle an event; in a burst of motion events, let the widget that holds the mouse
        have them in slices, and let frames through.

        Textual forwards every queued event to the widget under (or holding) the mouse before
        that widget handles the first one: the app's loop does not yield while its queue is not
        empty. In a burst (a fast drag on a busy machine: 500 motion events queued) the canvas
        and the screen then saw nothing for the whole queue. After `FORWARD_SLICE` seconds of
        forwarding, the app yields once. The Paint screen draws a stroke's motion as it is
        forwarded (`PaintScreen._handle_mouse_move`), so the app also waits for a frame when
        the canvas has drawn for a while without one (`Canvas.let_frame_through`).
        """
        await super().on_event(event)
        if isinstance(event, events.MouseMove) and self.mouse_captured is not None:
            holder = self.mouse_captured
            if isinstance(holder, Canvas) and holder.frame_overdue:
                await holder.let_frame_through()
                self._slice_start = time.perf_counter()
                return
            now = time.perf_counter()
            if now - self._slice_start >= FORWARD_SLICE:
                await asyncio.sleep(0)
                self._slice_start = time.perf_counter()

    def _on_notify(self, event: Notify) -> None:
        """Show a notification, unless the same one (message, title, severity) still shows.

        Holding down a key whose action only says why it cannot act ("Nothing to undo.",
        "Nothing to keep: draw a digit first.") stacked a toast per repeat, a column of them
        over the screen, and each took the UI time: 200 presses of `u` at once held the next
        key back 2.7 s. Done here, on the UI thread, for every screen and for notifications
        from threads alike; Textual's own handler (which adds it) runs unless prevented."""
        new = event.notification
        same = (new.message, new.title, new.severity)
        if any((shown.message, shown.title, shown.severity) == same
               for shown in self._notifications):
            event.prevent_default()

    def _update_mouse_over(self, screen: Screen) -> None:
        """Work out the widget under the mouse after the next frame, except during a stroke.

        Textual asks for it after every frame, with a new callback each time (a message, and
        `inspect.signature` of the callback); the canvas holds the mouse for a stroke, so what
        is under it cannot change the hover, and the first frame after the stroke asks again.
        """
        holder = self.mouse_captured
        if isinstance(holder, Canvas) and holder.stroking:
            return
        super()._update_mouse_over(screen)

    def _after_first_frame(self) -> None:
        """Import the screens the first frame did without, freeze the startup objects, and give
        back what `digits` held until the first frame (`tui.startup`)."""
        for module in LATER_SCREENS:
            importlib.import_module(f"tui.screens.{module}")
        self._freeze_startup_objects()
        startup.release()

    def _freeze_startup_objects(self) -> None:
        """Keep what startup made (modules, widgets, the model) out of later garbage collections.

        Python's full collections walk every tracked object; with Textual, NumPy and SciPy loaded
        one took 50-80 ms, long enough to hold a frame of a fast drag for five frames (measured
        with benchmarks/latency.py: input to screen at most 79 ms, 20 ms with collection off).
        `gc.freeze()` after the first frame moves the startup objects to a generation that is
        never collected; objects made later are collected as usual. Once per process (a test
        run starts many apps).
        """
        global _startup_frozen
        if not _startup_frozen:
            _startup_frozen = True
            gc.collect()
            gc.freeze()

    # -- the active model ---------------------------------------------------------------------

    def set_model(self, model: Model, path: Path) -> None:
        """Make `model` (loaded from `path`) the one every screen uses."""
        self.model = model
        self.model_path = path
        self.model_id = str(path)

    def make_active(self, name: str, path: Path) -> None:
        """Load the model `name` (file `path`), remember it as the active one across restarts, and
        switch every screen to it. Raises ModelError or OSError, changing nothing, if it cannot."""
        from network.store import load_model

        model = load_model(path)
        set_active(name)
        self.set_model(model, path)

    # -- actions that lead to another screen ------------------------------------------------------

    def open_on_paint(self, image: np.ndarray, caption: str) -> None:
        """Put a 28x28 image on the Paint screen's canvas (undoably, with a caption); go there."""
        paint = self.get_screen_stack("paint")[0]  # the mode's base screen, under any dialog
        cast(PaintScreen, paint).show_image(image, caption)
        self.switch_mode("paint")

    async def evaluate_model(self, name: str) -> None:
        """Go to the Evaluate screen and evaluate the saved model `name` there."""
        await self.switch_mode("evaluate")
        # The mode's base screen: a help screen left open there may be on top of it.
        cast("EvaluateScreen", self.get_screen_stack("evaluate")[0]).choose(name)

    # -- the dataset -------------------------------------------------------------------------

    def request_dataset(self) -> None:
        """Start loading MNIST in a worker unless it is loaded or loading already."""
        if self.dataset_state in ("unknown", "missing"):
            self.dataset_state = "loading"
            self._load_dataset()

    @work(thread=True, exclusive=True, group="dataset")
    def _load_dataset(self) -> None:
        """Read and verify the four files (about 0.2 s) off the UI thread."""
        from mnist.dataset import load_mnist
        from mnist.errors import MnistError

        try:
            data = load_mnist(self.data_dir)
        except MnistError as exc:
            self.call_from_thread(self._dataset_done, None, str(exc))
        else:
            self.call_from_thread(self._dataset_done, data, "")

    def _dataset_done(self, data: Mnist | None, error: str) -> None:
        self.dataset = data
        self.dataset_error = error
        self.dataset_state = "ready" if data is not None else "missing"

    def retry_dataset(self) -> None:
        """Forget a failed load and try again (e.g. after a download)."""
        if self.dataset_state == "missing":
            self.dataset_state = "unknown"
        self.request_dataset()

    # -- commands and help ---------------------------------------------------------------------

    def action_help(self) -> None:
        """Show the keys of the current screen."""
        from tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen, getattr(self.screen, "HELP", "")))

    def action_command_palette(self) -> None:
        """Open the command palette (one that a double click cannot close twice)."""
        if self.use_command_palette and not CommandPalette.is_open(self):
            self.push_screen(CommandPalette(id="--command-palette"))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The palette offers every screen, and every action of the current screen."""
        for mode, key in SCREEN_KEYS.items():
            if mode != self.current_mode:
                yield SystemCommand(
                    f"{mode.title()} screen",
                    f"Go to the {mode.title()} screen ({key})",
                    lambda mode=mode: self.switch_mode(mode),
                )
        yield SystemCommand("Help", "Show the keys of this screen (f1)", self.action_help)
        seen = set()
        for active in screen.active_bindings.values():
            binding = active.binding
            if active.node is self or not binding.description or binding.action in seen:
                continue
            seen.add(binding.action)
            key = self.get_key_display(binding)
            yield SystemCommand(
                binding.description,
                f"{screen.TITLE or 'Screen'} action ({key})",
                lambda node=active.node, action=binding.action: self.run_action(action, node),
            )
        yield from super().get_system_commands(screen)


def run(model: str | None = None, data_dir: str | None = None,
        loading: ModelLoading | None = None) -> int:
    """Load the model (the given file, else the active one, else the shipped one), run the app.

    `loading`, if given, is the model already loading in a thread (`digits` starts it, with its
    `--model`, before importing this module), and `model` is not looked at. A model file that
    cannot be loaded raises the network's one-line ModelError before the terminal is taken
    over, so the CLI prints it and exits 2.
    """
    loaded, path, notice = loading.result() if loading is not None else startup_model(model)
    if notice:  # also on the terminal, where it stays after the app is gone
        print(f"digits: {notice}", file=sys.stderr)
    app = DigitsApp(loaded, path, data_dir, notice)
    app.run()
    return app.return_code or 0  # 1 after an unhandled exception (Textual printed it)
