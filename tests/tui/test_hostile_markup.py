"""Outside text is shown as text: model files whose every string and path is hostile markup.

A model's metadata, its file name and the folder it lives in all reach widgets. Each is shown
literally, never parsed as Textual or rich markup: `[/x]` would raise MarkupError and take the
app down, `[bold red]x` would be shown under a wrong name. Tried at start-up (with --model and
as the active model), on every screen, and through the Models screen's list, activate, rename
and delete (a damaged file with a hostile name among them).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pilot_helpers import wait_for
from textual.widgets import DataTable, Input, Static

from network.mlp import MLP
from network.registry import models_dir, path_for, settings_path, startup_model
from network.store import build_metadata, load_model, save_model
from tui.app import DigitsApp
from tui.screens.models import ModelsScreen
from tui.widgets import outside
from tui.widgets.dataset_panel import DatasetPanel

HOSTILE = ("[/x]", "[bold red]x", "[/b]", "[link=file:///etc/passwd]y[/link]", "[$error]",
           "\\[/x]", "[@click=app.quit]q[/]")
FILE_NAME = "[bold red]x"  # the model's file stem, its name in the list
DAMAGED = "[red]bad[b]"  # a damaged file, also with a hostile name (no "/" in a file name)


@pytest.fixture
def hostile(tmp_path, monkeypatch) -> Path:
    """The models folder under a folder named `[/b]`, holding a model whose metadata strings are
    all hostile markup, and a damaged file with a hostile name. Returns the model's path."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "[/b]" / "[bold]data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "[/i]" / "config"))
    model = MLP((784, 8, 10), rng=0)
    meta = build_metadata(model, command=HOSTILE[2], preset=HOSTILE[0], created=HOSTILE[1],
                          name=HOSTILE[3], notes=list(HOSTILE), test_accuracy=0.5)
    meta["dataset"] = {"name": HOSTILE[4], "checksums": {HOSTILE[5]: HOSTILE[6]}}
    models_dir().mkdir(parents=True)
    path = models_dir() / f"{FILE_NAME}.npz"
    save_model(path, model, meta)
    (models_dir() / f"{DAMAGED}.npz").write_bytes(b"[/x] not a zip")
    return path


def shown(widget: Static) -> str:
    """What a Static shows, as plain text."""
    return str(widget.render())


async def visit_every_screen(pilot) -> None:
    for key in ("f2", "f3", "f4", "f5", "f1", "escape", "f2"):
        await pilot.press(key)
        await pilot.pause()


async def test_started_with_a_hostile_model_file(hostile):
    model, path, notice = startup_model(hostile)  # `digits --model PATH`
    app = DigitsApp(model, path, None, notice)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        status = shown(app.screen.query_one("#status", Static))
        assert f"{HOSTILE[3]} · {HOSTILE[0]} · test 50.00%" in status  # name, preset: literal
        await visit_every_screen(pilot)
        assert app.return_code is None  # still running: nothing raised


async def test_a_hostile_model_as_the_active_model(hostile):
    settings_path().parent.mkdir(parents=True)
    settings_path().write_text(json.dumps({"active": FILE_NAME}))
    model, path, notice = startup_model()
    assert path == hostile and notice == ""
    app = DigitsApp(model, path, None, notice)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("f5")
        await pilot.pause()
        active = shown(app.screen.query_one("#models-active", Static))
        assert active == f"Active: {FILE_NAME}"


async def test_a_damaged_active_model_with_a_hostile_name_falls_back(hostile):
    settings_path().parent.mkdir(parents=True)
    settings_path().write_text(json.dumps({"active": DAMAGED}))
    model, path, notice = startup_model()
    assert "could not be loaded" in notice and DAMAGED in notice and "shipped" in notice
    app = DigitsApp(model, path, None, notice)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("f5")
        await pilot.pause()
        assert app.return_code is None


async def test_models_screen_lists_activates_renames_and_deletes_hostile_names(hostile,
                                                                                 model_path):
    app = DigitsApp(load_model(model_path), model_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f5")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ModelsScreen)
        table = screen.query_one(DataTable)
        names = [e.name for e in screen.entries]
        assert set(names) == {"shipped", "shipped-conv", FILE_NAME, DAMAGED}
        cells = {str(table.get_row_at(i)[1]): [str(c) for c in table.get_row_at(i)]
                 for i in range(table.row_count)}
        assert cells[FILE_NAME][2] == "[/x]" and cells[FILE_NAME][5] == "[bold red]x"
        assert cells[DAMAGED][3] == "damaged"

        # The damaged file: listed with why, and it can be deleted.
        table.move_cursor(row=names.index(DAMAGED))
        await pilot.pause()
        info = shown(screen.query_one("#models-info", Static))
        assert info.startswith(f"{DAMAGED}: damaged, model file ") and "not a model" in info
        await pilot.press("d")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert not (models_dir() / f"{DAMAGED}.npz").exists()
        assert f"Deleted '{DAMAGED}'." in shown(screen.query_one("#models-message", Static))

        # The hostile model: activate it, rename it, delete it.
        names = [e.name for e in screen.entries]
        table.move_cursor(row=names.index(FILE_NAME))
        await pilot.pause()
        assert str(hostile) in shown(screen.query_one("#models-info", Static))
        await pilot.press("a")
        await pilot.pause()
        assert app.model_path == hostile
        assert json.loads(settings_path().read_text()) == {"active": FILE_NAME}
        await visit_every_screen(pilot)  # every screen now shows the hostile model
        await pilot.press("f5")
        await pilot.pause()
        await pilot.press("r")
        await pilot.pause()
        assert FILE_NAME in shown(app.screen.query_one(".dialog-title", Static))
        app.screen.query_one(Input).value = "plain"
        await pilot.press("enter")
        await pilot.pause()
        assert path_for("plain").exists() and not hostile.exists()
        assert f"Renamed '{FILE_NAME}' to 'plain'." == shown(
            screen.query_one("#models-message", Static))
        names = [e.name for e in screen.entries]
        table.move_cursor(row=names.index("plain"))
        await pilot.pause()
        await pilot.press("d")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert [e.name for e in screen.entries] == ["shipped", "shipped-conv"]
        assert app.return_code is None


async def test_evaluating_a_model_with_a_hostile_name(hostile, model_path, mnist_data):
    """Found by the fuzz test: 'e' on such a model looked its file up with the strict check
    for new names and crashed the app; its name in the status line was parsed as markup."""
    from mnist.dataset import Mnist

    app = DigitsApp(load_model(model_path), model_path)
    app.dataset = Mnist(mnist_data.train_images[:10], mnist_data.train_labels[:10],
                        mnist_data.test_images[:500], mnist_data.test_labels[:500],
                        mnist_data.directory, mnist_data.origin, dict(mnist_data.checksums))
    app.dataset_state = "ready"
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f5")
        await pilot.pause()
        screen = app.screen
        table = screen.query_one(DataTable)
        table.move_cursor(row=[e.name for e in screen.entries].index(FILE_NAME))
        await pilot.pause()
        await pilot.press("e")
        for _ in range(100):
            await pilot.pause(0.05)
            status = shown(app.screen.query_one("#eval-status", Static))
            if "test images in" in status:
                break
        assert status.startswith(f"{FILE_NAME}: 500 test images in"), status


async def test_a_data_folder_named_as_markup_is_shown_literally(make_app, tmp_path):
    """The MNIST error names the folders it looked in. It was parsed as markup on the Train and
    Evaluate screens' panel and in Paint's notification after `r`: a folder named
    `[@click=app.quit]` became a link that quit the app when clicked, and `[/x]` in the path
    raised MarkupError, which took the app down."""
    folder = tmp_path / "[@click=app.quit]mn[" / "x]"  # "[/x]" in the path
    folder.mkdir(parents=True)
    async with make_app(folder).run_test(size=(120, 40)) as pilot:
        app = pilot.app
        await pilot.press("r")
        await wait_for(pilot, lambda: app.dataset_state == "missing")
        await pilot.pause()
        assert str(folder) in app.dataset_error
        toasts = [n for n in app._notifications if n.message == app.dataset_error]
        assert toasts and not any(n.markup for n in toasts)
        for key in ("f3", "f4"):
            await pilot.press(key)
            await pilot.pause()
            panel = app.screen.query_one(DatasetPanel)
            await wait_for(pilot, lambda: panel.display)  # noqa: B023 (this iteration's panel)
            assert str(folder) in shown(panel.query_one("#dataset-error", Static))
        await pilot.press("f2")
        await pilot.pause()
        assert app.return_code is None  # the notification was drawn: nothing raised


CONTROL = "ctrl\x1b[31mred\x07"  # a file name holding an escape sequence and a bell


def terminal_lines(app) -> list[str]:
    """The text of every line of the screen as it goes to the terminal."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


def control_free(app) -> bool:
    """True when no line of the screen holds a control character."""
    return all(line.isprintable() for line in terminal_lines(app))


async def test_control_characters_in_names_and_metadata_never_reach_the_terminal(
        tmp_path, monkeypatch, model_path):
    """A model file named with an escape sequence, whose metadata holds a newline and more:
    Textual passed the escape character on, so the terminal coloured the rest of the line and
    drew it out of place (the Models list, the Paint status line, the Evaluate chooser), and the
    newline in the preset split Paint's one-line status over the footer (seen in tmux). Every
    control character is now shown as an escape, on every screen and in the dialogs."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    model = MLP((784, 8, 10), rng=0)
    meta = build_metadata(model, preset="a\nb\x1b[2J", created="\x1b]0;title\x07",
                          test_accuracy=0.5)
    models_dir().mkdir(parents=True)
    save_model(models_dir() / f"{CONTROL}.npz", model, meta)
    shown_name = "ctrl\\x1b[31mred\\x07"
    # No MNIST here: the Evaluate screen lists the models without evaluating one.
    app = DigitsApp(load_model(model_path), model_path, data_dir=str(tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f5")
        await pilot.pause()
        screen = app.screen
        names = [e.name for e in screen.entries]
        screen.query_one(DataTable).move_cursor(row=names.index(CONTROL))
        await pilot.pause()
        assert control_free(app)
        assert any(shown_name in line for line in terminal_lines(app))
        await pilot.press("a")
        await pilot.pause()
        assert app.model_path == models_dir() / f"{CONTROL}.npz"
        assert shown(screen.query_one("#models-active", Static)) == f"Active: {shown_name}"
        assert control_free(app)
        for key in ("r", "d"):  # the rename and delete dialogs name the model
            await pilot.press(key)
            await pilot.pause()
            title = shown(app.screen.query_one(".dialog-title", Static))
            assert shown_name in title and title.replace("\n", "").isprintable()
            await pilot.press("escape")
            await pilot.pause()
        for key in ("f2", "f4"):
            await pilot.press(key)
            await pilot.pause()
            assert control_free(app), key
        await pilot.press("f2")
        await pilot.pause()
        status = shown(app.screen.query_one("#status", Static))
        assert f"{shown_name} · a\\nb\\x1b[2J · test 50.00%" in status


def test_outside_text_is_escaped_once():
    """Control characters become escapes; text with none (text escaped already, as the
    registry's start-up notice is) is shown as it is, its backslashes not doubled."""
    raw = "dmg\x1b[41mRED\n\\n"
    once = outside.shown(raw)
    assert once == "dmg\\x1b[41mRED\\n\\\\n" and once.isprintable()
    assert outside.shown(once) == once
    assert outside.shown("C:\\models [b]") == "C:\\models [b]"


def test_the_paint_status_shows_a_recorded_accuracy_only_when_it_is_one():
    """An integer of 400 digits (strict JSON allows it) stopped the app at start-up."""
    from tui.screens.paint import PaintScreen

    label = PaintScreen._work_out_label
    assert label({"name": "m", "test_accuracy": 0.975}, None) == "m · test 97.50%"
    for claimed in (10**400, 1e308, -5, 1.5, float("nan"), "97%", True):
        assert label({"name": "m", "test_accuracy": claimed}, None) == "m", claimed
