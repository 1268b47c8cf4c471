"""The Train screen, driven as a user drives it: form, a real (small) run, cancel, save, failures.

Runs train on the first 5,000 MNIST images with a small network for one epoch (well under a
second of training); the app starts on a tiny untrained model saved by the fixture, so these
tests do not need the shipped model.
"""

from __future__ import annotations

import errno
import gzip
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from pilot_helpers import wait_for
from textual.widgets import DataTable, Input, Select, Static

from network.mlp import MLP
from network.registry import active_name, models_dir, settings_path
from network.store import build_metadata, load_model, save_model
from tui.app import DigitsApp
from tui.screens.train import TrainScreen
from tui.widgets.dataset_panel import DatasetPanel


@pytest.fixture
def tiny_model(tmp_path) -> Path:
    """An untrained 784-8-10 model file to start the app on."""
    model = MLP((784, 8, 10), rng=0)
    path = tmp_path / "tiny.npz"
    save_model(path, model, build_metadata(model))
    return path


@pytest.fixture
def app_factory(tiny_model, mnist_data):
    """A DigitsApp on the tiny model; with `data`, the dataset counts as loaded already."""

    def build(data: bool = True) -> DigitsApp:
        app = DigitsApp(load_model(tiny_model), tiny_model)
        if data:
            app.dataset, app.dataset_state = mnist_data, "ready"
        return app

    return build


async def open_train(pilot, **fields) -> TrainScreen:
    """Go to the Train screen and set form fields (id -> value)."""
    await pilot.press("f3")
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, TrainScreen)
    form = screen.form
    if "preset" in fields:
        form.query_one("#preset", Select).value = fields.pop("preset")
        await pilot.pause()
    for name, value in fields.items():
        widget = form.query_one(f"#{name}")
        widget.value = value
    await pilot.pause()
    return screen


def saved_files() -> list[Path]:
    """Every file in the models folder (temporary ones included)."""
    folder = models_dir()
    return sorted(folder.iterdir()) if folder.exists() else []


SMALL = {"preset": "fast", "hidden": "32", "epochs": "1", "subset": 5000}


async def test_small_run_reports_progress_saves_and_becomes_active(app_factory):
    app = app_factory()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_train(pilot, **SMALL, name="quick one")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: screen.last_done is not None)
        done = screen.last_done
        assert done.error == "" and done.result.ok
        assert screen.progress_events >= 2  # batch progress and the epoch end
        table = screen.query_one("#history", DataTable)
        assert table.row_count == 1
        row = table.get_row_at(0)
        assert row[0] == "1" and row[3] == f"{done.result.history[0].test_accuracy:.2%}"
        path = models_dir() / "quick one.npz"
        assert done.path == path and path.is_file()
        saved = load_model(path)
        assert saved.sizes == (784, 32, 10)
        assert saved.metadata["test_accuracy"] == done.accuracy > 0.5
        assert saved.metadata["config"]["epochs"] == 1  # its name is the file's
        assert "quick one" in str(screen.query_one("#outcome", Static).render())
        await pilot.press("a")
        await pilot.pause()
        assert app.model_path == path and app.model.sizes == (784, 32, 10)
        assert active_name() == "quick one"


async def test_invalid_values_are_refused_inline_with_the_reason(app_factory):
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_train(pilot)
        form = screen.form
        cases = {
            "epochs": ("0", "epochs must be an integer in 1..10000"),
            "lr": ("1000", "lr must be a number in (0, 100] for sgd"),
            "hidden": ("200,x", "hidden must be sizes like 200 or 800,800"),
            "batch_size": ("-5", "batch_size must be an integer in 1..65536"),
            "name": ("../escape", "invalid model name '../escape'"),
        }
        for field, (value, _) in cases.items():
            form.query_one(f"#{field}", Input).focus()
            form.query_one(f"#{field}", Input).value = value
        await pilot.pause()
        for field, (_, reason) in cases.items():
            error = form.query_one(f"#{field}-error", Static)
            assert error.display and reason in str(error.render()), field
            assert form.query_one(f"#{field}", Input).has_class("-invalid")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert not screen.running and screen.last_done is None
        assert "Not started" in str(screen.query_one("#outcome", Static).render())
        form.query_one("#epochs", Input).value = "3"
        await pilot.pause()
        assert not form.query_one("#epochs-error", Static).display
        # sizes that parse, but a network too big to save: refused before it is allocated
        form.query_one("#hidden", Input).value = "8192,8192,8192"
        await pilot.pause()
        error = str(form.query_one("#hidden-error", Static).render())
        assert "140,746,762 parameters" in error and "the limit is 67,108,864" in error


async def test_what_is_typed_is_quoted_literally_in_the_reasons(app_factory):
    """The reasons under the fields quote what was typed; they were parsed as markup, so typing
    "[/" into Save as raised MarkupError and took the app down (found in tmux)."""
    app = app_factory()
    async with app.run_test(size=(120, 40)) as pilot:
        form = (await open_train(pilot)).form
        tries = [(field, "x[/") for field in ("hidden", "lr", "epochs", "batch_size", "seed")]
        tries += [("name", value) for value in ("x[/", "[b]x[/b]", "[@click=app.quit]q")]
        for field, value in tries:
            form.query_one(f"#{field}", Input).value = value
            await pilot.pause()
            assert form.query_one(f"#{field}", Input).has_class("-invalid"), (field, value)
        error = str(form.query_one("#name-error", Static).render())
        assert error.startswith("invalid model name '[@click=app.quit]q'")
        assert app.return_code is None


async def test_choosing_a_preset_fills_the_fields(app_factory):
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_train(pilot, preset="fast")
        form = screen.form
        values = {name: form.query_one(f"#{name}", Input).value
                  for name in ("hidden", "lr", "epochs", "batch_size", "seed")}
        assert values == {"hidden": "256", "lr": "0.002", "epochs": "6", "batch_size": "128",
                          "seed": "1"}
        assert form.query_one("#activation", Select).value == "relu"
        assert form.query_one("#name", Input).value.startswith("fast-")
        form.query_one("#preset", Select).value = "best"
        await pilot.pause()
        assert form.query_one("#hidden", Input).value == "800,800"
        assert form.query_one("#augment").value is True


async def test_cancel_stops_at_once_and_saves_nothing_unless_asked(app_factory):
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        # 5,000 images, 16 hidden units, 300 epochs: minutes if nobody stopped it.
        screen = await open_train(pilot, preset="fast", hidden="16", epochs="300",
                                  subset=5000)
        await pilot.press("ctrl+s")
        table = screen.query_one("#history", DataTable)
        await wait_for(pilot, lambda: table.row_count >= 1)
        assert screen.running
        await pilot.press("escape")
        await wait_for(pilot, lambda: screen.last_done is not None)
        done = screen.last_done
        assert done.result.cancelled and done.noticed > 0
        assert done.stopped - done.noticed < 1.0  # stopped within a second of noticing
        assert saved_files() == []  # nothing saved
        outcome = str(screen.query_one("#outcome", Static).render())
        assert "Nothing was saved" in outcome and "Press k" in outcome
        completed = done.result.epochs_completed
        await pilot.press("k")  # keep the last completed epoch after all
        await wait_for(pilot, lambda: screen.saved_name != "")
        (path,) = saved_files()
        kept = load_model(path)
        assert kept.metadata["epochs"] == completed
        assert np.array_equal(kept.params, done.result.last_epoch_model.params)


async def test_quitting_mid_training_stops_the_worker_and_leaves_no_file(app_factory):
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_train(pilot, preset="seed", epochs="10")  # all 60,000 images
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: screen.progress_events >= 1)
        await pilot.press("ctrl+q")
    assert screen.worker_finished.wait(10)
    assert screen.worker_noticed > 0  # stopped by the request, not by the end of the run
    assert saved_files() == []


async def test_a_diverging_run_is_reported_and_nothing_is_saved(app_factory, monkeypatch):
    calls = 0
    original = MLP.backward

    def diverging(self, labels, scale=1.0):  # the loss blows up after a few batches
        nonlocal calls
        calls += 1
        loss = original(self, labels, scale)
        if calls > 5:
            self.params[...] = np.nan
            return float("nan")
        return loss

    monkeypatch.setattr(MLP, "backward", diverging)
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_train(pilot, **SMALL)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: screen.last_done is not None)
        assert screen.last_done.result.diverged
        outcome = str(screen.query_one("#outcome", Static).render())
        assert "diverged" in outcome and "Nothing was saved" in outcome
        assert saved_files() == []
        before = app.model_path
        await pilot.press("a", "k")
        await pilot.pause()
        assert app.model_path == before and saved_files() == []


async def test_a_full_disk_leaves_models_and_settings_intact(app_factory, monkeypatch):
    from network import registry

    old = MLP((784, 4, 10), rng=3)
    previous = registry.save_new(old, build_metadata(old), "previous")
    registry.set_active("previous")
    before = (previous.read_bytes(), settings_path().read_bytes())

    real_savez = np.savez

    def full_disk(file, *args, **kwargs):  # some bytes reach the disk, then it is full
        file.write(b"PK\x03\x04 partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_train(pilot, **SMALL, name="new one")
        monkeypatch.setattr(np, "savez", full_disk)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: screen.last_done is not None)
        outcome = str(screen.query_one("#outcome", Static).render())
        assert "No space left on device" in outcome and "untouched" in outcome
        assert saved_files() == [previous]  # no new file, no temporary file
        assert (previous.read_bytes(), settings_path().read_bytes()) == before
        assert active_name() == "previous"
        monkeypatch.setattr(np, "savez", real_savez)


class MnistServer:
    """Serves the real MNIST .gz files on 127.0.0.1 (404 for everything when `broken`)."""

    def __init__(self, folder: Path, broken: bool = False) -> None:
        files = {p.name: p.read_bytes() for p in folder.glob("*-ubyte.gz")}
        if not files:  # an uncompressed copy: serve it gzipped
            files = {p.name + ".gz": gzip.compress(p.read_bytes(), 1)
                     for p in folder.glob("*-ubyte")}

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                body = files.get(self.path.rsplit("/", 1)[-1])
                if body is None or broken:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("broken", [False, True])
async def test_without_mnist_the_screen_offers_the_download(
        app_factory, mnist_dir, tmp_path, monkeypatch, broken):
    import mnist.download

    empty = tmp_path / "empty"
    empty.mkdir()
    server = MnistServer(mnist_dir, broken)
    monkeypatch.setenv("MNIST_DIR", str(empty))
    monkeypatch.setenv("DIGITS_MNIST_MIRRORS", server.url)
    monkeypatch.setattr(mnist.download, "MIRRORS", ())  # only the local server
    try:
        app = app_factory(data=False)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_train(pilot)
            await wait_for(pilot, lambda: app.dataset_state == "missing")
            panel = screen.query_one(DatasetPanel)
            await pilot.pause()
            assert panel.display and not screen.query_one("#progress").display
            message = str(panel.query_one("#dataset-error", Static).render())
            assert str(empty) in message and "MNIST_DIR" in message
            await pilot.press("d")
            await wait_for(pilot, lambda: app.dataset_state == "ready" or panel.last_error)
            if broken:
                assert "MNIST_DIR" in panel.last_error and "Not Found" in panel.last_error
                assert app.dataset_state == "missing"
            else:
                await pilot.pause()
                assert app.dataset.train_images.shape == (60000, 28, 28)
                assert not panel.display and screen.query_one("#progress").display
    finally:
        server.close()


async def test_a_models_folder_that_cannot_take_the_model_is_refused_before_training(app_factory):
    """The models folder under a file: the run would only fail when saving, after it all."""
    models_dir().parent.parent.mkdir(parents=True, exist_ok=True)
    models_dir().parent.write_text("not a folder\n")
    app = app_factory()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_train(pilot, **SMALL)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert not screen.running and screen.last_done is None
        outcome = str(screen.query_one("#outcome", Static).render())
        assert outcome.startswith("Not started: cannot save into the models folder")
        assert "(Not a directory)" in outcome


async def test_question_mark_shows_the_keys_on_every_screen_but_is_text_in_a_field(app_factory):
    """`?` showed the help on the Paint screen only; elsewhere it did nothing. It is the app's
    now, as F1 is; typed into a field (Save as) it stays a character."""
    from tui.screens.help import HelpScreen

    app = app_factory()
    async with app.run_test(size=(120, 40)) as pilot:
        for key in ("f2", "f3", "f4", "f5", "f6"):
            await pilot.press(key)
            await pilot.pause()
            await pilot.press("question_mark")
            await pilot.pause()
            assert isinstance(app.screen, HelpScreen), key
            await pilot.press("escape")
            await pilot.pause()
        form = (await open_train(pilot)).form
        name = form.query_one("#name", Input)
        name.focus()
        name.value = "run"
        await pilot.press("end", "question_mark")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen) and name.value == "run?"
