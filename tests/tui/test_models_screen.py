"""The Models screen: the list, switching the active model (it persists), renaming, deleting."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

import pytest
from textual.widgets import DataTable, Static

from network import registry
from network.mlp import MLP
from network.registry import active_name, models_dir, settings_path, startup_model
from network.store import build_metadata, load_model, save_model, shipped_model_path
from tui.app import DigitsApp
from tui.screens.models import ModelsScreen
from tui.widgets.dialogs import ConfirmDialog, NameDialog


def make(name: str, hidden: int, accuracy: float, created: str) -> Path:
    """Save a small untrained model under `name` with a made-up accuracy and date."""
    model = MLP((784, hidden, 10), rng=hidden)
    meta = build_metadata(model, test_accuracy=accuracy, preset="fast", created=created)
    return registry.save_new(model, meta, name)


@pytest.fixture
def saved(tmp_path) -> dict[str, Path]:
    """Two saved models (older first), plus a start model outside the models folder."""
    paths = {"older": make("older", 4, 0.5, "2025-01-01T10:00:00+00:00"),
             "newer": make("newer", 6, 0.75, "2025-02-01T10:00:00+00:00")}
    start = MLP((784, 8, 10), rng=0)
    paths["start"] = tmp_path / "start.npz"
    save_model(paths["start"], start, build_metadata(start))
    return paths


async def open_models(pilot) -> ModelsScreen:
    """Go to the Models screen."""
    await pilot.press("f5")
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, ModelsScreen)
    return screen


def rows(screen: ModelsScreen) -> list[list[str]]:
    """The table's cells as text."""
    table = screen.query_one(DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def select(pilot, screen: ModelsScreen, name: str) -> None:
    """Highlight the row of model `name`."""
    names = [e.name for e in screen.entries]
    screen.query_one(DataTable).move_cursor(row=names.index(name))
    await pilot.pause()


async def test_list_marks_the_active_model_and_switching_persists(saved):
    app = DigitsApp(load_model(saved["start"]), saved["start"])
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_models(pilot)
        table = rows(screen)
        assert [r[1] for r in table] == ["shipped", "shipped-conv", "newer", "older"]
        assert table[1][2] == "conv"
        assert table[1][4] == "conv 5x5x16 · pool · conv 5x5x32 · pool · dense 128 · 10"
        assert table[2][2:5] == ["fast", "75.00%", "784-6-10 relu"]
        assert not any(r[0] for r in table)  # the app runs a file given on the command line
        assert "start" in str(screen.query_one("#models-active", Static).render())
        await select(pilot, screen, "older")
        await pilot.press("a")
        await pilot.pause()
        assert app.model_path == saved["older"] and app.model.sizes == (784, 4, 10)
        assert [r[0] for r in rows(screen)] == ["", "", "", "●"]
        await select(pilot, screen, "newer")
        await pilot.press("enter")
        await pilot.pause()
        assert app.model_path == saved["newer"]
    # A restart starts on the choice made.
    model, path, notice = startup_model()
    assert path == saved["newer"] and notice == "" and model.sizes == (784, 6, 10)


async def test_a_key_that_arrives_before_the_screen_is_mounted_does_nothing(saved):
    """On a busy machine a key pressed right after switching screens can be handled while the
    new screen is still being composed: its action must not run (it would look for the table
    before it exists) until the screen is mounted."""
    app = DigitsApp(load_model(saved["start"]), saved["start"])
    async with app.run_test() as pilot:
        early = ModelsScreen()
        assert early.check_action("activate", ()) is False
        await app.run_action("activate", early)  # would raise NoMatches if it ran
        assert app._exception is None
        screen = await open_models(pilot)
        assert screen.check_action("activate", ()) is True


async def test_rename_refuses_bad_names_inline_and_follows_the_active_model(saved):
    registry.set_active("newer")
    app = DigitsApp(load_model(saved["newer"]), saved["newer"])
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_models(pilot)
        await select(pilot, screen, "newer")
        await pilot.press("r")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, NameDialog)
        for bad, reason in [("../../etc/x", "invalid model name"), ("older", "exists already"),
                            ("", "cannot be empty"), ("shipped", "comes with digits")]:
            await pilot.press("ctrl+u", *bad, "enter")
            await pilot.pause()
            assert app.screen is dialog, bad  # refused: the dialog stays open
            assert reason in str(dialog.query_one("#dialog-error", Static).render()), bad
        await pilot.press("ctrl+u", *"best so far", "enter")
        await pilot.pause()
        assert app.screen is screen
        assert [r[1] for r in rows(screen)] == ["shipped", "shipped-conv", "best so far", "older"]
        assert app.model_path == models_dir() / "best so far.npz"
        assert active_name() == "best so far"
        assert sorted(p.name for p in models_dir().iterdir()) == ["best so far.npz", "older.npz"]


async def test_delete_asks_first_and_never_deletes_the_shipped_model(saved):
    registry.set_active("older")
    app = DigitsApp(load_model(saved["older"]), saved["older"])
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_models(pilot)
        await select(pilot, screen, "older")
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")  # changed our mind
        await pilot.pause()
        assert saved["older"].exists() and app.screen is screen
        await pilot.press("d", "y")
        await pilot.pause()
        assert not saved["older"].exists() and saved["newer"].exists()
        assert [r[1] for r in rows(screen)] == ["shipped", "shipped-conv", "newer"]
        assert active_name() == "shipped"
        message = str(screen.query_one("#models-message", Static).render())
        assert "Deleted 'older'" in message
        if shipped_model_path().exists():
            assert app.model_path == shipped_model_path()
        await select(pilot, screen, "shipped")
        await pilot.press("d")
        await pilot.pause()
        assert app.screen is screen  # no question: refused at once
        message = str(screen.query_one("#models-message", Static).render())
        assert "shipped model cannot be deleted" in message
        await pilot.press("r")
        await pilot.pause()
        assert "cannot be renamed" in str(screen.query_one("#models-message", Static).render())


async def test_unreadable_files_are_listed_with_their_error(saved):
    (models_dir() / "broken.npz").write_bytes(b"not a zip at all")
    app = DigitsApp(load_model(saved["start"]), saved["start"])
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_models(pilot)
        await select(pilot, screen, "broken")
        assert "damaged" in rows(screen)[[e.name for e in screen.entries].index("broken")][3]
        assert "not a model" in str(screen.query_one("#models-info", Static).render())
        await pilot.press("a")
        await pilot.pause()
        assert app.model_path == saved["start"]
        assert "Cannot make 'broken' active" in str(
            screen.query_one("#models-message", Static).render())
        await pilot.press("e")  # did nothing, and said nothing
        await pilot.pause()
        message = str(screen.query_one("#models-message", Static).render())
        assert message.startswith("Cannot evaluate 'broken': ") and "not a model" in message
        assert isinstance(app.screen, ModelsScreen)


async def test_a_full_disk_keeps_the_settings(saved):
    registry.set_active("older")
    before = settings_path().read_bytes()
    app = DigitsApp(load_model(saved["older"]), saved["older"])
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_models(pilot)
        await select(pilot, screen, "newer")

        def full(fd):
            raise OSError(errno.ENOSPC, "No space left on device")

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(os, "fsync", full)
            await pilot.press("a")
            await pilot.pause()
        message = str(screen.query_one("#models-message", Static).render())
        assert "no space left on device" in message.lower()
        assert app.model_path == saved["older"]  # nothing switched
        assert settings_path().read_bytes() == before
        assert sorted(p.name for p in settings_path().parent.iterdir()) == ["settings.json"]


async def test_the_accuracies_are_in_view_at_80_columns(saved):
    """At 80x24 the architecture of the shipped conv model (56 cells) pushed the accuracy
    column, the figure to compare models by, off the screen (seen in tmux): it comes right
    after the preset now, and the architecture after it."""
    app = DigitsApp(load_model(saved["start"]), saved["start"])
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_models(pilot)
        lines = [strip.text for strip in screen._compositor.render_strips()]
        assert "test acc" in next(line for line in lines if " name " in line)
        assert "75.00%" in next(line for line in lines if " newer " in line)
        assert "50.00%" in next(line for line in lines if " older " in line)


async def test_a_very_long_file_name_leaves_the_other_columns_in_view(saved):
    """A file put in the models folder by hand may have a name of 200 characters: its column
    took them all and pushed preset, architecture, accuracy and date off the screen for every
    model (seen in tmux at 120x40). The name is cut with "…" in the table and given in full
    under it; preset, architecture and accuracy stay in view at 120 columns."""
    long_name = "L" * 200
    shutil.copyfile(saved["older"], models_dir() / f"{long_name}.npz")
    app = DigitsApp(load_model(saved["start"]), saved["start"])
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_models(pilot)
        await select(pilot, screen, long_name)
        lines = [strip.text for strip in screen._compositor.render_strips()]
        header = next(line for line in lines if " name " in line)
        assert all(label in header for label in ("preset", "architecture", "test acc")), header
        row = next(line for line in lines if "LLL" in line)
        assert "L" * 31 + "…" in row and "784-4-10" in row and "50.00%" in row, row
        assert long_name in str(screen.query_one("#models-info", Static).render())


async def test_the_active_model_deleted_elsewhere_is_not_said_to_come_from_the_command_line(
        saved):
    """Another process (a second app, another browser tab of `digits serve`) deletes the
    active model's file. The app still runs the model it loaded; its line said
    "(PATH, given on the command line)" (seen in tmux), which was not how it was chosen."""
    app = DigitsApp(load_model(saved["start"]), saved["start"])
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_models(pilot)
        active = screen.query_one("#models-active", Static)
        assert "given on the command line" in str(active.render())  # as it was started
        await select(pilot, screen, "older")
        await pilot.press("a")
        await pilot.pause()
        saved["older"].unlink()
        await pilot.press("ctrl+r")
        await pilot.pause()
        line = str(active.render())
        assert line.startswith(f"Active: older (still loaded; its file {saved['older']} is gone)")
        assert "command line" not in line


async def test_columns_narrow_again_when_a_wide_model_is_deleted(saved):
    """A DataTable column keeps the width of the widest cell it ever held: after deleting a
    model with a 40-character preset, the preset column stayed 40 wide and kept the columns
    after it off the screen until a restart (seen in tmux at 120x40)."""
    model = MLP((784, 4, 10), rng=4)
    registry.save_new(model, build_metadata(model, preset="P" * 40, test_accuracy=0.5), "wide")
    app = DigitsApp(load_model(saved["start"]), saved["start"])
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_models(pilot)

        def header() -> str:
            return next(strip.text for strip in screen._compositor.render_strips()
                        if " name " in strip.text)

        assert "created" not in header()  # after 40 cells of preset and the conv architecture
        await select(pilot, screen, "wide")
        await pilot.press("d")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert "wide" not in [e.name for e in screen.entries]
        assert "created" in header()
