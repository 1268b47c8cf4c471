"""The app under abuse: thousands of random keys, clicks, drags and resizes on every screen.

For each of the five screens, a fixed-seed plan of `ACTIONS_PER_SCREEN` random actions is sent
the way a terminal sends them: as `textual.events` Key, Mouse and Resize events handed to the
app's driver (`Driver.process_message`, what a terminal's input thread calls). So a drag can
leave the grid, the screen and the terminal itself -- coordinates below 0 and beyond the
terminal's size, which Pilot's mouse helpers refuse to produce -- and a button can be released
outside the terminal, which reports no release at all (the driver then synthesizes one when the
next plain move arrives). The actions:

* key presses: letters (both cases), digits, arrows, space, enter, escape, tab, shift+tab,
  backspace, delete, home, end, page-up, page-down, brackets, `?`, `,`, `.`, `-`, ctrl+z,
  ctrl+t (Teach);
* F1..F6, which open the help and switch screens;
* clicks at random cells of the terminal (left, middle and right button);
* drags: a button pressed at a random cell (on the Paint screen, inside the grid two times in
  three), 2 to 12 moves, 40% of them to points outside the terminal, then a release where the
  pointer is, elsewhere, or nowhere;
* resizes between 20x10 and 200x60 (often the extremes, and 79x23 / 80x24 around the
  too-small limit); the test ends back at 120x40.

The plan (which action, which key, how many moves, which resize...) comes from one seeded RNG
and is the same on every run; where a point lands comes from a second one, because it depends
on the app's layout. The app's timing still varies from run to run, so a failure reports the
seed and the last 40 events sent.

Left out on purpose: ctrl+q and the command palette (typing in it can run "Quit" or save a
screenshot), so the footer's ^q and ^p do nothing during the run. Training cannot run for
minutes: the app gets a 1,000-image slice of MNIST, runs are capped at 2 epochs and Teach at one
short epoch; nothing is ever downloaded.

The plans are short enough for every run of the suite (a few seconds a screen). For a deeper
soak, `DIGITS_FUZZ_ACTIONS=5000 pytest tests/tui/test_fuzz.py` sends that many actions a
screen (other plans, from the same seeds); `DIGITS_FUZZ_SEED=n` starts the screens' seeds at n
instead (yet other plans).

The app runs among hostile files: its models folder lies under a folder named `[/b]` and holds
models whose names and metadata strings are markup (`[/x]`, `[bold red]x`...) and a damaged one;
30 kept drawings (three of each digit) give the Drawings screen something to show, relabel,
delete and teach on;
settings.json is nested 30,000 deep (Paint and Train runs) or names one of those models as the
active one, which the app starts on (Evaluate and Models runs). The random keys activate,
rename, delete and evaluate them.

The test asserts that no exception escaped (Pilot re-raises one on exit; the app is checked
after every action), that no worker died with an error, that the whole plan was sent, and that
the app still responds at the end: on the Paint screen the keyboard paints and the network
recognizes the drawing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import string
from collections import Counter, deque
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pytest
from pilot_helpers import mouse_event
from textual import events
from textual.geometry import Size
from textual.worker import Worker, WorkerState

from mnist.dataset import Mnist
from tui.app import DigitsApp
from tui.screens.paint import PaintScreen
from tui.widgets.canvas import Canvas

SEED = 20261126
ACTIONS_PER_SCREEN = 600
#: Actions a screen in `test_random_abuse_leaves_the_app_working` (a deeper soak: set it higher).
ACTIONS = int(os.environ.get("DIGITS_FUZZ_ACTIONS", ACTIONS_PER_SCREEN))
#: The first screen's seed in that test (the next screens take the next ones): other plans.
FUZZ_SEED = int(os.environ.get("DIGITS_FUZZ_SEED", SEED))
SCREENS = ("paint", "train", "evaluate", "models", "drawings")
MIN_SIZE, MAX_SIZE, HOME_SIZE = (20, 10), (200, 60), (120, 40)
EDGE_SIZES = (MIN_SIZE, MAX_SIZE, (79, 23), (80, 24))
REFOCUS_EVERY = 40  # actions between returns to the screen under test
SETTLE_CHANCE = 0.04  # after an action, let the app process what it was sent
RESIZE_PAUSE = 1 / 100  # the app passes a resize on after a 1/120 s debounce
FREEZE_SECONDS = 30  # an action taking longer than this means the app froze

KEYS = (
    list(string.ascii_lowercase)
    + list("ABCTPKXZ")
    + list(string.digits)
    + ["up", "down", "left", "right", "space", "enter", "escape", "tab", "shift+tab",
       "backspace", "delete", "home", "end", "pageup", "pagedown", "left_square_bracket",
       "right_square_bracket",
       "question_mark", "comma", "full_stop", "minus", "ctrl+z", "ctrl+t"]
)
FUNCTION_KEYS = ("f1", "f2", "f3", "f4", "f5", "f6")
MIX = {"key": 57, "fkey": 2, "click": 22, "drag": 16, "resize": 3}  # percent
CHARACTERS = {"space": " ", "enter": "\r", "tab": "\t", "escape": "\x1b", "backspace": "\x7f",
              "left_square_bracket": "[", "right_square_bracket": "]", "question_mark": "?",
              "comma": ",", "full_stop": ".", "minus": "-"}


@dataclass(frozen=True)
class Action:
    """One planned action: its kind and everything about it that does not depend on layout."""

    kind: str
    key: str = ""
    button: int = 0
    moves: tuple[bool, ...] = ()  # for a drag: per move, whether it goes outside the terminal
    ending: str = ""  # for a drag: "here", "elsewhere" or "lost" (no release reported)
    size: tuple[int, int] = (0, 0)  # for a resize
    settle: bool = False


@dataclass
class Plan:
    """A screen's planned actions and what they amount to."""

    actions: list[Action]
    counts: Counter = field(default_factory=Counter)


def make_plan(seed: int, count: int = ACTIONS_PER_SCREEN) -> Plan:
    """The fixed sequence of `count` actions for `seed`, with its counts.

    Counts: one per action kind; "events" is every event sent (a key, a resize, each mouse
    down / move / up); "outside" the drag moves that leave the terminal; "lost" the drags whose
    release the terminal never reports.
    """
    rng = random.Random(seed)
    actions, counts = [], Counter()
    kinds, weights = list(MIX), list(MIX.values())
    for _ in range(count):
        kind = rng.choices(kinds, weights=weights)[0]
        if kind == "key":
            action = Action(kind, key=rng.choice(KEYS))
        elif kind == "fkey":
            action = Action(kind, key=rng.choice(FUNCTION_KEYS))
        elif kind == "click":
            action = Action(kind, button=rng.choice((1, 1, 1, 3, 2)))
        elif kind == "drag":
            moves = tuple(rng.random() < 0.4 for _ in range(rng.randint(2, 12)))
            ending = rng.choices(("here", "lost", "elsewhere"), weights=(6, 2, 2))[0]
            action = Action(kind, button=rng.choice((1, 1, 3)), moves=moves, ending=ending)
        else:
            size = (rng.randint(MIN_SIZE[0], MAX_SIZE[0]), rng.randint(MIN_SIZE[1], MAX_SIZE[1]))
            if rng.random() < 0.5:
                size = rng.choice(EDGE_SIZES)
            action = Action(kind, size=size)
        action = replace(action, settle=rng.random() < SETTLE_CHANCE)
        actions.append(action)
        counts[kind] += 1
        counts["events"] += {"key": 1, "fkey": 1, "click": 2, "resize": 1}.get(
            kind, 2 + len(action.moves))
        counts["outside"] += sum(action.moves)
        counts["lost"] += action.ending == "lost"
        counts["smallest"] += action.size == MIN_SIZE
    return Plan(actions, counts)


def _describe(event: events.Event) -> str:
    """A short description of an event, for the failure report."""
    if isinstance(event, events.Key):
        return f"key {event.key}"
    if isinstance(event, events.Resize):
        return f"resize {event.size.width}x{event.size.height}"
    if isinstance(event, events.MouseEvent):
        return f"{type(event).__name__} {event.x},{event.y} b{event.button}"
    return type(event).__name__


class Dispatched:
    """Counts the input events (keys, mouse events, resizes) the app's message pumps dispatch,
    each hop of one (to the focused widget, bubbling up, forwarded) once: the `message_hook` of
    `App.run_test`, for `Fuzzer.drain`."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, message: Any) -> None:
        if isinstance(message, (events.InputEvent, events.Resize)):
            self.count += 1


class AppFroze(Exception):
    """The app stopped making progress (an endless loop that never yields to the event loop)."""


class Fuzzer:
    """Sends one screen's planned actions to a running app through its driver."""

    def __init__(self, pilot: Any, target: str, seed: int, dispatched: Dispatched) -> None:
        self.pilot = pilot
        self.dispatched = dispatched  # the app's run_test message_hook
        self.app = pilot.app
        self.target = target
        self.seed = seed
        self.where = random.Random(seed + 1_000_003)  # points depend on the layout
        self.sent: Counter = Counter()
        self.trail: deque[str] = deque(maxlen=40)
        self.index = -1
        self.watching = False  # `tick` arms the alarm only inside `watchdog`

    @contextlib.contextmanager
    def watchdog(self):
        """Turn a frozen app into a test failure (AppFroze) instead of a hung test run.

        An alarm fires if one action takes FREEZE_SECONDS; its handler raises in the main
        thread, inside whatever loop is spinning, and the app exits with that exception.
        (Textual 8.2's resize ping-pong, see tui/screens/base.py, froze it that way.)
        """
        if not hasattr(signal, "setitimer"):
            yield
            return

        def froze(signum, frame):
            raise AppFroze(f"{self.target}, seed {self.seed}: no progress for {FREEZE_SECONDS} "
                           f"s at action {self.index}; last events: {list(self.trail)}")

        previous = signal.signal(signal.SIGALRM, froze)
        self.watching = True
        try:
            yield
        finally:
            self.watching = False
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)

    def tick(self) -> None:
        """One more action done: the app has FREEZE_SECONDS for the next one.

        Only inside `watchdog`: an alarm armed outside it finds SIGALRM's default action,
        which ends the process without a word. A test that ran a plan without the watchdog
        killed its pytest-xdist worker that way, 30 s later, in whatever test it ran then."""
        if self.watching:
            signal.setitimer(signal.ITIMER_REAL, FREEZE_SECONDS)

    def send(self, event: events.Event) -> None:
        """Hand one event to the driver, exactly as a terminal's input thread does."""
        self.app._driver.process_message(event)
        self.sent["events"] += 1
        self.trail.append(_describe(event))

    def point(self, outside: bool = False) -> tuple[int, int]:
        """A random cell of the terminal, or (outside) one up to 8 cells beyond an edge."""
        width, height = self.app.size
        if outside:
            x, y = self.where.randint(-8, width + 8), self.where.randint(-8, height + 8)
            if 0 <= x < width and 0 <= y < height:  # make sure it is outside
                x = self.where.choice((-1 - self.where.randrange(8),
                                       width + self.where.randrange(8)))
            return x, y
        return self.where.randrange(width), self.where.randrange(height)

    def start_point(self) -> tuple[int, int]:
        """Where a drag starts: on Paint, inside the grid two times in three."""
        screen = self.app.screen
        if isinstance(screen, PaintScreen) and self.where.random() < 2 / 3:
            region = screen.query_one(Canvas).region
            if region.width and region.height:
                return (self.where.randrange(region.x, region.right),
                        self.where.randrange(region.y, region.bottom))
        return self.point()

    async def settle(self) -> None:
        """Let the current screen process what it has been sent so far (not all of it: see
        `drain`)."""
        await self.pilot._wait_for_screen()

    async def drain(self) -> None:
        """Wait until every event sent has been handled on every widget it reaches, and what
        those handlers posted (a mode switch, a help screen...) has been handled too.

        The race this closes: `settle` (Pilot's wait for the current screen) covers only the
        messages already queued when it starts. The driver hands events to the app through the
        event loop (`run_coroutine_threadsafe`), so the last ones sent may not be queued yet;
        and a key goes to the focused widget first and reaches the app, where F1..F6 act, only
        as it bubbles back, queued after settle's marker. So after `settle` an F5 of the plan
        could still switch to the Models screen while the end check was on the Paint screen.
        Here the driver's hand-over is flushed first (the loop runs what it was handed in
        order), then every message pump of the app (all screens) gets a marker, again and
        again, until two rounds in a row dispatched no input event: then none is left anywhere,
        and the second round ran what the last ones' handlers posted. (Counting every message
        instead did not end with a help screen open: each round led to one more callback.)
        """
        loop = asyncio.get_running_loop()
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(asyncio.sleep(0), loop))
        quiet = 0
        while quiet < 2:
            before = self.dispatched.count
            await self._mark_every_pump()
            quiet = quiet + 1 if self.dispatched.count == before else 0

    async def _mark_every_pump(self) -> None:
        """Put a marker at the end of every message pump's queue; wait until all have run."""
        left = 0
        done = asyncio.Event()

        def marker() -> None:
            nonlocal left
            left -= 1
            if not left:
                done.set()

        for pump in (self.app, *list(self.app._registry)):
            left += pump.call_later(marker)
        if left:
            died = asyncio.ensure_future(self.app._exception_event.wait())
            finished = asyncio.ensure_future(done.wait())
            await asyncio.wait((died, finished), return_when=asyncio.FIRST_COMPLETED)
            died.cancel()
            finished.cancel()

    async def refocus(self) -> None:
        """Back to the screen under test (F-keys and some actions leave it)."""
        if self.app.current_mode != self.target:
            await self.app.switch_mode(self.target)

    async def perform(self, action: Action) -> None:
        """Send the events of one action."""
        self.sent[action.kind] += 1
        if action.kind in ("key", "fkey"):
            self.send(events.Key(action.key, action.key if len(action.key) == 1
                                 else CHARACTERS.get(action.key)))
        elif action.kind == "click":
            x, y = self.point()
            self.send(mouse_event(events.MouseDown, x, y, action.button))
            self.send(mouse_event(events.MouseUp, x, y, action.button))
        elif action.kind == "drag":
            x, y = self.start_point()
            self.send(mouse_event(events.MouseDown, x, y, action.button))
            for outside in action.moves:
                x, y = self.point(outside)
                self.send(mouse_event(events.MouseMove, x, y, action.button))
                self.sent["outside"] += outside
            if action.ending == "here":  # released where the pointer is, maybe outside
                self.send(mouse_event(events.MouseUp, x, y, action.button))
            elif action.ending == "elsewhere":
                self.send(mouse_event(events.MouseUp, *self.point(), action.button))
            else:  # released outside: no release reported; the next plain move ends it
                self.send(mouse_event(events.MouseMove, *self.point(), 0))
                self.sent["lost"] += 1
        else:
            size = Size(*action.size)
            self.app._driver._size = size  # as the headless driver reports a new size
            self.send(events.Resize(size, size))
            self.sent["smallest"] += action.size == MIN_SIZE
            await self.pilot.pause(RESIZE_PAUSE)

    async def run(self, plan: Plan) -> None:
        """Every planned action; back on the target every REFOCUS_EVERY; check the app lives."""
        await self.refocus()
        for i, action in enumerate(plan.actions):
            self.index = i
            self.tick()
            await self.perform(action)
            if i % REFOCUS_EVERY == REFOCUS_EVERY - 1:
                await self.settle()
                await self.refocus()
            elif action.settle:
                await self.settle()
            assert self.app.is_running and self.app._exception is None, (
                f"{self.target}, seed {self.seed}: the app died at action {i}; "
                f"last events: {list(self.trail)}")
        self.tick()
        await self.drain()


@pytest.fixture(autouse=True)
def no_alarm_left_armed():
    """After each test here, no watchdog alarm is still armed: with the watchdog's handler gone,
    SIGALRM ends the process silently, and pytest-xdist saw a worker crash in a later test."""
    yield
    left = signal.getitimer(signal.ITIMER_REAL)[0] if hasattr(signal, "getitimer") else 0.0
    if left:
        signal.setitimer(signal.ITIMER_REAL, 0)
    assert left == 0, f"an alarm was left armed ({left:.1f} s to go)"


@pytest.fixture
def small_data(mnist_data) -> Mnist:
    """A 1,000-image slice of MNIST (train and test), so a run started by chance is short."""
    return Mnist(
        train_images=mnist_data.train_images[:1000],
        train_labels=mnist_data.train_labels[:1000],
        test_images=mnist_data.test_images[:1000],
        test_labels=mnist_data.test_labels[:1000],
        directory=mnist_data.directory,
        origin=mnist_data.origin,
        checksums=dict(mnist_data.checksums),
    )


@pytest.fixture
def failed_workers(monkeypatch, mnist_dir) -> list[Worker]:
    """No downloads, training capped at 2 epochs, Teach at one epoch of at most 500 MNIST
    images; returns the workers that end in ERROR.

    The app's workers use exit_on_error=False, so an unexpected exception in one would not
    reach Pilot: their state changes are watched instead.
    """
    import mnist.download
    import network.teach
    import tui.screens.train as train_screen

    monkeypatch.setenv("MNIST_DIR", str(mnist_dir))
    monkeypatch.delenv("DIGITS_MNIST_MIRRORS", raising=False)
    monkeypatch.setattr(mnist.download, "MIRRORS", ())
    real_train = train_screen.train

    def short_train(config, *args, **kwargs):
        epochs = min(config.epochs, 2)
        config = config.with_overrides(
            epochs=epochs, warmup_epochs=min(config.warmup_epochs, epochs))
        return real_train(config, *args, **kwargs)

    monkeypatch.setattr(train_screen, "train", short_train)
    real_teach = network.teach.teach

    def short_teach(model, drawings, *data_and_config, **kwargs):
        *data, config = data_and_config
        config = replace(config, epochs=1, mnist_per_epoch=min(config.mnist_per_epoch, 500))
        return real_teach(model, drawings, *data, config, **kwargs)

    monkeypatch.setattr(network.teach, "teach", short_teach)
    failed: list[Worker] = []
    state = Worker.state

    def record(worker: Worker, value: WorkerState) -> None:
        state.fset(worker, value)
        if value == WorkerState.ERROR:
            failed.append(worker)

    monkeypatch.setattr(Worker, "state", property(state.fget, record))
    return failed


async def still_responds(pilot) -> None:
    """On the Paint screen, the keyboard paints a stroke and the network recognizes it."""
    app = pilot.app
    await app.switch_mode("paint")
    while len(app.screen_stack) > 1:  # a help screen left open (Fuzzer.drain: none still coming)
        await app.pop_screen()
    await pilot.resize_terminal(*HOME_SIZE)
    screen = app.screen
    assert isinstance(screen, PaintScreen)
    canvas = screen.canvas
    if screen._keep_pending:  # the plan's last key on Paint was `t` ("keep as which digit?",
        await pilot.press("escape")  # e.g. after `o` opened an image there): `c` would only
        assert not screen._keep_pending  # answer that prompt, and leave the ink; answer it first
    await pilot.press("c")
    if canvas.pen_down:
        await pilot.press("p")
    if canvas.eraser:
        await pilot.press("e")
    await pilot.pause()
    assert not screen.drawing.pixels.any() and screen.prediction == ""
    row, col = canvas.cursor  # wherever the fuzz left it: to (6, 14) by keys
    moves = ["down" if row < 6 else "up"] * abs(row - 6)
    moves += ["right" if col < 14 else "left"] * abs(col - 14)
    await pilot.press(*moves, "3", "p", *["down"] * 14, "p")  # pen down: a vertical stroke
    await pilot.pause()
    assert screen.drawing.pixels[6:20, 14].all()
    assert screen.prediction in tuple("0123456789")


async def test_the_end_check_answers_a_pending_keep_as(make_app):
    """A plan can end with `t` on the Paint screen, with ink there (the Evaluate plan's `o`
    opened a mistake on Paint, then `t`): the next key answers "keep as which digit?", so the
    end check's `c` would be taken as "not kept" and the ink would stay."""
    app = make_app()
    async with app.run_test(size=HOME_SIZE) as pilot:
        await pilot.press("space", "t")
        assert app.screen._keep_pending
        await still_responds(pilot)


async def test_the_end_check_starts_after_the_last_key_has_acted(make_app):
    """A plan's last key can be an F-key: it acts once it has bubbled back to the app, after the
    wait for the current screen. The fuzzer waits for it (`drain`), so the end check does not
    find itself on the Models screen that a late F5 switched to."""
    app = make_app()
    dispatched = Dispatched()
    async with app.run_test(size=HOME_SIZE, message_hook=dispatched) as pilot:
        fuzzer = Fuzzer(pilot, "paint", SEED, dispatched)
        await fuzzer.run(Plan([Action("fkey", key="f5")]))
        assert app.current_mode == "models"
        await still_responds(pilot)


def test_the_plans_are_what_the_readme_says():
    """The plans are fixed by their seeds: these totals are quoted in README's Reliability."""
    total = Counter()
    for index, _ in enumerate(SCREENS):
        plan = make_plan(SEED + index)
        assert len(plan.actions) == ACTIONS_PER_SCREEN
        total += plan.counts
    assert dict(total) == EXPECTED_TOTALS, dict(total)


def test_the_readme_quotes_these_numbers():
    """README's Reliability section quotes the plans' totals: keep them in step."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = " ".join(readme.split("## Reliability", 1)[1].split("\n## ", 1)[0].split())
    t = EXPECTED_TOTALS
    for quoted in (f"each of the five screens gets {ACTIONS_PER_SCREEN:,} random actions",
                   f"{ACTIONS_PER_SCREEN * len(SCREENS):,} in all",
                   f"{t['key']:,} key presses", f"{t['fkey']:,} function keys",
                   f"{t['click']:,} clicks", f"{t['drag']:,} drags",
                   f"{t['outside']:,} of their moves outside the terminal",
                   f"{t['lost']:,} with the release lost", f"{t['resize']:,} resizes",
                   f"{t['smallest']:,} of them to 20x10", f"{t['events']:,} events"):
        assert quoted in section, quoted


#: make_plan's totals over the five screens (asserted above; quoted in the README).
EXPECTED_TOTALS = {"key": 1716, "fkey": 55, "click": 640, "drag": 481, "resize": 108,
                   "events": 7459, "outside": 1365, "lost": 95, "smallest": 16}


#: Outside text that is also markup: in model names, metadata, the models folder's path.
HOSTILE_TEXT = ("[/x]", "[bold red]x", "[/b]", "[@click=app.quit]q[/]", "[$error]")


def hostile_models_and_settings(target: str, tmp_path, kept: Mnist) -> DigitsApp:
    """The models folder (under a folder named `[/b]`) holds models whose names and metadata are
    markup, and a damaged one; settings.json is nested 30,000 deep (paint, train, drawings) or
    names a hostile model as the active one, which the app starts on (evaluate, models). Three
    test images of each digit from `kept` are kept as drawings."""
    from network.drawings import add_drawings
    from network.mlp import MLP
    from network.registry import models_dir, settings_path, startup_model
    from network.store import build_metadata, save_model

    os.environ["XDG_DATA_HOME"] = str(tmp_path / "[/b]" / "[bold]data")
    models_dir().mkdir(parents=True)
    for i, text in enumerate(HOSTILE_TEXT):
        model = MLP((784, 8 + i, 10), rng=i)
        meta = build_metadata(model, preset=text, created=text, command=text, name=text,
                              test_accuracy=0.5)
        save_model(models_dir() / f"{text.replace('/', '')}{i}.npz", model, meta)
    (models_dir() / "[red]damaged[b].npz").write_bytes(b"[/x] not a zip")
    picks = np.concatenate([np.flatnonzero(kept.test_labels == d)[:3] for d in range(10)])
    add_drawings(list(kept.test_images[picks]), kept.test_labels[picks].tolist())
    settings_path().parent.mkdir(parents=True, exist_ok=True)
    if target in ("paint", "train", "drawings"):
        settings_path().write_text("[" * 30_000 + "]" * 30_000)
    else:
        settings_path().write_text(json.dumps({"active": "[bold red]x1"}))
    model, path, notice = startup_model()
    return DigitsApp(model, path, None, notice)


@pytest.mark.parametrize("target", SCREENS)
async def test_random_abuse_leaves_the_app_working(target, small_data, failed_workers,
                                                   tmp_path, monkeypatch):
    seed = FUZZ_SEED + SCREENS.index(target)
    plan = make_plan(seed, ACTIONS)
    monkeypatch.setenv("XDG_DATA_HOME", os.environ["XDG_DATA_HOME"])  # restored afterwards
    app = hostile_models_and_settings(target, tmp_path, small_data)
    app.dataset, app.dataset_state = small_data, "ready"
    dispatched = Dispatched()
    async with app.run_test(size=HOME_SIZE, message_hook=dispatched) as pilot:
        app.get_screen_stack("paint")[0]._rng = np.random.default_rng(seed)  # `r`: same digits
        app.action_quit = lambda: None  # the footer's ^q (ctrl+q itself is never sent)
        app.action_command_palette = lambda: None  # and its ^p
        fuzzer = Fuzzer(pilot, target, seed, dispatched)
        with fuzzer.watchdog():
            await fuzzer.run(plan)
            await still_responds(pilot)
        for mode in ("train", "drawings"):  # a run started by chance stops
            with contextlib.suppress(KeyError):  # a mode never visited has no stack
                app.get_screen_stack(mode)[0]._cancel.set()
    for name in ("key", "fkey", "click", "drag", "resize", "events", "outside", "lost",
                 "smallest"):
        assert fuzzer.sent[name] == plan.counts[name], name
    assert plan.counts["smallest"] >= 1 and plan.counts["resize"] >= 10
    assert not failed_workers, [(w.name, repr(w.error)) for w in failed_workers]
