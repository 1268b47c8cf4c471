"""The Evaluate screen: the numbers of `digits eval`, the matrix, the browser, the Paint link."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from pilot_helpers import wait_for
from textual.widgets import Digits, Select, Static

from network.presets import preset_config
from network.registry import save_new
from network.store import build_metadata, load_model, save_model
from network.train import train
from tui.app import DigitsApp
from tui.screens.evaluate import STACK_BELOW, EvaluateScreen
from tui.screens.paint import PaintScreen
from tui.widgets.confusion import ConfusionMatrix
from tui.widgets.gallery import MistakeGallery


@pytest.fixture(scope="module")
def weak_model_file(mnist_data, tmp_path_factory) -> Path:
    """A small model trained for one epoch on 5,000 images (~85%: plenty of mistakes)."""
    config = preset_config("fast", hidden=(16,), epochs=1)
    result = train(config, mnist_data.train_images[:5000], mnist_data.train_labels[:5000])
    path = tmp_path_factory.mktemp("models") / "weak.npz"
    save_model(path, result.model, build_metadata(result.model, config, result=result))
    return path


def app_on(path: Path, data) -> DigitsApp:
    """The app on a model file, with MNIST already loaded."""
    app = DigitsApp(load_model(path), path)
    app.dataset, app.dataset_state = data, "ready"
    return app


async def open_evaluate(pilot) -> EvaluateScreen:
    """Go to the Evaluate screen and wait for the first evaluation."""
    await pilot.press("f4")
    screen = pilot.app.screen
    assert isinstance(screen, EvaluateScreen)
    await wait_for(pilot, lambda: screen.evaluation is not None)
    await pilot.pause()
    return screen


async def test_shipped_model_shows_what_digits_eval_reports(make_app, model_path, mnist_dir):
    result = subprocess.run(
        [sys.executable, "-m", "tui.cli", "eval", "--json", "--model", str(model_path),
         "--data-dir", str(mnist_dir)],
        capture_output=True, text=True, env=dict(os.environ), timeout=120, check=True)
    report = json.loads(result.stdout)
    async with make_app(mnist_dir).run_test(size=(120, 40)) as pilot:
        await pilot.press("f4")
        screen = pilot.app.screen
        await wait_for(pilot, lambda: screen.evaluation is not None)
        await pilot.pause()
        ev = screen.evaluation
        # Same machine, same BLAS kernel and threads, same chunks: the same numbers exactly.
        assert ev.accuracy == report["accuracy"]
        assert ev.confusion.tolist() == report["confusion"]
        assert ev.f1.tolist() == report["f1"]
        assert screen.query_one("#accuracy", Digits).value == f"{report['accuracy'] * 100:.2f}"
        note = str(screen.query_one("#accuracy-note", Static).render())
        assert f"{report['correct']:,} of 10,000" in note
        assert screen.query_one(ConfusionMatrix).counts.tolist() == report["confusion"]
        # Named as on the Models and Paint screens, not by its file's stem ("best", a preset's
        # name, and maybe a saved model's).
        status = str(screen.query_one("#eval-status", Static).render())
        assert status.startswith("shipped: 10,000 test images in"), status
        chooser = screen.query_one("#model-select", Select)
        assert str(chooser.query_one("#label", Static).render()) == "active: shipped"


async def test_misclassified_browser_opens_the_image_on_paint(weak_model_file, mnist_data):
    app = app_on(weak_model_file, mnist_data)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_evaluate(pilot)
        browser = screen.browser
        await pilot.press(*"ttttt")  # true digit: any -> 0 -> ... -> 4
        assert browser.true_filter == 4
        await pilot.press("n")
        index = browser.current
        ev = screen.evaluation
        assert ev.labels[index] == 4 and ev.predictions[index] != 4
        caption = str(browser.query_one("#mistake-caption", Static).render())
        assert f"true 4, predicted {ev.predictions[index]}" in caption and f"#{index}" in caption
        await pilot.press("o")
        await pilot.pause()
        assert app.current_mode == "paint"
        paint = app.screen
        assert isinstance(paint, PaintScreen)
        assert np.array_equal(paint.drawing.pixels, mnist_data.test_images[index])
        assert f"MNIST test #{index}" in str(paint.query_one("#caption", Static).render())
        await pilot.press("u")  # the image came in undoably: undo clears it again
        await pilot.pause()
        assert not paint.drawing.pixels.any()


async def test_filters_navigation_and_matrix_clicks(weak_model_file, mnist_data):
    app = app_on(weak_model_file, mnist_data)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_evaluate(pilot)
        browser, ev = screen.browser, screen.evaluation
        assert browser.shown.size == ev.misclassified.size > 100
        true, pred = 4, 9
        browser.select_pair(true, pred)
        expected = [i for i in ev.misclassified
                    if ev.labels[i] == true and ev.predictions[i] == pred]
        assert browser.shown.tolist() == expected
        assert browser.query_one("#filter-true", Select).value == true
        assert len(expected) >= 2
        await pilot.press("right", "n")
        assert browser.current == expected[2 % len(expected)]
        await pilot.press("left", "b")
        assert browser.current == expected[0]
        await pilot.press("left")  # wraps around to the last one
        assert browser.current == expected[-1]
        await pilot.press("x")
        assert browser.shown.size == ev.misclassified.size
        await pilot.press("p", "p", "p")  # predicted: any -> 0 -> 1 -> 2
        assert browser.predicted_filter == 2
        assert all(ev.predictions[i] == 2 for i in browser.shown)
        # Clicking the matrix cell (true 7, predicted 2) filters to that pair.
        matrix = screen.query_one(ConfusionMatrix)
        await pilot.click(matrix, offset=(1 + 3 + 2 * matrix.cell + 2, 1 + 1 + 7))
        assert (browser.true_filter, browser.predicted_filter) == (7, 2)
        # The most confused pairs are listed.
        top = str(screen.query_one("#pairs", Static).render())
        c = ev.confusion.copy()
        np.fill_diagonal(c, 0)
        t, p = np.unravel_index(np.argmax(c), c.shape)
        assert f"{t} → {p}: {c[t, p]}" in top


async def test_choosing_another_model_and_cancelling(weak_model_file, mnist_data, monkeypatch):
    weak = load_model(weak_model_file)
    save_new(weak, weak.metadata, "weak saved")
    app = app_on(weak_model_file, mnist_data)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_evaluate(pilot)
        first = screen.evaluation
        select = screen.query_one("#model-select", Select)
        assert select.value == "@active"
        select.value = "weak saved"
        await wait_for(pilot, lambda: screen.evaluated_name == "weak saved")
        assert screen.evaluation is not first
        assert screen.evaluation.accuracy == first.accuracy  # the same weights
        # A slow model: the evaluation is cancelled between two chunks.
        chunks = []
        real = type(app.model).predict_proba

        def slow(self, images, batch_size=2048):
            chunks.append(len(images))
            time.sleep(0.3)
            return real(self, images, batch_size)

        monkeypatch.setattr(type(app.model), "predict_proba", slow)
        select.value = "@active"
        await wait_for(pilot, lambda: len(chunks) >= 1)
        await pilot.press("escape")
        status = screen.query_one("#eval-status", Static)
        await wait_for(pilot, lambda: "cancelled" in str(status.render()))
        assert len(chunks) < 5 and screen.evaluated_name == "weak saved"


def screen_text(screen, widget) -> list[str]:
    """The characters on screen over `widget`'s region, one string per row."""
    strips = screen._compositor.render_strips()
    region = widget.region
    return [strips[y].crop(region.x, region.right).text for y in range(region.y, region.bottom)]


async def test_matrix_keeps_a_blank_between_counts_at_every_width(make_app, mnist_dir):
    """Every count is read back whole from the screen (four-digit ones included: digit 1 has
    1,135 test images), separated from its neighbours by at least one blank column."""
    async with make_app(mnist_dir).run_test(size=(80, 40)) as pilot:
        screen = await open_evaluate(pilot)
        counts = screen.evaluation.confusion
        assert counts.max() >= 1000
        matrix = screen.query_one(ConfusionMatrix)
        for width in (80, 100, 120, 160):
            await pilot.resize_terminal(width, 40)
            await pilot.pause()
            rows = screen_text(screen, matrix)[2:-1]  # inside the border, below the header
            assert len(rows) == 10, (width, rows)
            for true, row in enumerate(rows):
                label, cells = row.split("│")[1:3]
                assert label.strip() == str(true), (width, row)
                shown = cells.split()
                expected = [str(n) if n else "·" for n in counts[true]]
                assert shown == expected, (width, row)


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (160, 50)])
async def test_layout_fits(weak_model_file, mnist_data, size):
    app = app_on(weak_model_file, mnist_data)
    async with app.run_test(size=size) as pilot:
        screen = await open_evaluate(pilot)
        area = screen.query_one("#eval-scroll").region
        parts = ["#accuracy", "#confusion"]
        if size[0] >= STACK_BELOW:
            parts += ["#mistake-image", "#mistake-caption"]
        if size[0] >= 120:
            parts += ["#per-digit", "#pairs"]
        regions = [screen.query_one(p).region for p in parts]
        for part, region in zip(parts, regions, strict=True):
            assert area.contains_region(region), (part, region, area)
        for i, a in enumerate(regions):
            for b in regions[i + 1:]:
                assert not a.overlaps(b), (a, b)
        if size[0] < STACK_BELOW:  # the browser is under the matrix; its keys scroll to it
            await pilot.press("n")
            await pilot.pause()
            for part in ("#mistake-image", "#mistake-caption"):
                assert area.contains_region(screen.query_one(part).region), part


@pytest.mark.parametrize("size, fit", [((80, 24), 0), ((120, 34), 0), ((120, 40), 4),
                                       ((160, 50), 5), ((160, 60), 10)])
async def test_gallery_of_the_next_mistakes(weak_model_file, mnist_data, size, fit):
    """Below the browser, as many thumbnails of the following mistakes as fit; a click on one
    shows it in the browser, and the gallery moves on past it."""
    app = app_on(weak_model_file, mnist_data)
    async with app.run_test(size=size) as pilot:
        screen = await open_evaluate(pilot)
        gallery = screen.query_one(MistakeGallery)
        browser = screen.browser
        assert gallery.capacity == fit
        # The gallery fills when its Resized message is handled, which a busy machine may
        # deliver after the evaluation's result.
        await wait_for(pilot, lambda: len(gallery.thumbs) == fit, timeout=10)
        thumbs = gallery.thumbs
        assert [t.position for t in thumbs] == list(range(1, fit + 1))
        if not fit:
            return
        assert screen.query_one("#eval-scroll").region.bottom <= gallery.region.y
        assert gallery.region.bottom <= screen.query_one("Footer").region.y
        for thumb in thumbs:
            index = int(browser.shown[thumb.position])
            assert np.array_equal(thumb.image, mnist_data.test_images[index])
            assert thumb.caption.startswith(f"#{index} {mnist_data.test_labels[index]}→")
        second = thumbs[1]
        x0, y0 = gallery.content_region.x - gallery.region.x, 0
        await pilot.click(gallery, offset=(x0 + 30 + 5, y0 + 3))
        await pilot.pause()
        assert browser.position == second.position
        assert gallery.thumbs[0].position == second.position + 1
        await pilot.press("t")  # a filter: the gallery follows the filtered list
        await pilot.pause()
        shown = browser.shown
        assert all(int(mnist_data.test_labels[shown[t.position]]) == browser.true_filter
                   for t in gallery.thumbs)
