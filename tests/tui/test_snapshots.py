"""Snapshots of the five screens at 80x24 and 120x40 (pytest-textual-snapshot; on a mismatch it
writes a report with both pictures; `pytest --snapshot-update` records new ones).

The pictures must be the same on every machine, so nothing shown may depend on the last bits of
a float32 sum, on the clock or on where the project lives:

* the model is built by hand: a 784-10 linear layer whose weights are 4.0 on one fixed template
  per digit (a 6x6 square, or for 1 a 3x20 bar) and 0 elsewhere, so every image shown gets a
  logit of at least 144 for its digit and at most a few for any other (the tests check a margin
  of at least 100): probabilities are exactly 1 and 0, far from any rounding boundary;
* the test set is 100 of those templates, 5 of them labelled as another digit: 95 of 100 right,
  and per-digit scores that are ratios of small integers;
* the digit drawn on the Paint screen has an ink box exactly 20 pixels tall, so normalizing it
  is a whole-pixel shift (no interpolation to round), with a flag that keeps its centre of mass
  away from a half pixel;
* the elapsed time of the evaluation, and the date in the Train form's default model name,
  are read from clocks that stand still;
* the model file (shown on the Models screen) lives at a fixed path, `SNAPSHOT_DIR`, as the
  shipped model;
* the kept drawings (Drawings screen) are a 1 that normalizes without interpolation, kept at a
  clock that stands still.
"""

from __future__ import annotations

import datetime as dt
import types
from pathlib import Path

import numpy as np
import pytest
from pilot_helpers import wait_for

from mnist.dataset import Mnist
from mnist.normalize import normalize
from network.mlp import MLP
from network.store import save_model
from tui.app import DigitsApp

SNAPSHOT_DIR = Path("/tmp/digits-snapshots")
"""Where the snapshot model is written; the Models screen shows this path."""
SIZES = [(80, 24), (120, 40)]
SQUARES = {0: (0, 0), 2: (0, 6), 3: (0, 16), 4: (0, 22), 5: (7, 0), 6: (7, 22), 7: (14, 0),
           8: (14, 22), 9: (21, 0)}
"""Top-left corner of each digit's 6x6 square (1 is a bar in the middle instead)."""
MISLABELLED = {12: 4, 25: 4, 47: 9, 63: 5, 88: 1}
"""Test images (index: label) drawn as another digit's template: the five mistakes."""


def template(digit: int) -> np.ndarray:
    """(28, 28) bool: the pixels of `digit`'s template."""
    mask = np.zeros((28, 28), dtype=bool)
    if digit == 1:
        mask[4:24, 13:16] = True
    else:
        r, c = SQUARES[digit]
        mask[r : r + 6, c : c + 6] = True
    return mask


def snapshot_model() -> MLP:
    """784-10, softmax, 'unit' inputs: weight 4.0 on each digit's template pixels."""
    model = MLP((784, 10), init="he", input_scaling="unit", rng=0)
    model.params[...] = 0.0
    for digit in range(10):
        model.weights[0][template(digit).ravel(), digit] = 4.0
    model.metadata = {"preset": "custom", "test_accuracy": 0.95, "created": "2026-11-29T12:00:00",
                      "name": "snapshot"}
    return model


def snapshot_data() -> Mnist:
    """100 test images, ten of each template, five of them labelled as another digit."""
    drawn = np.repeat(np.arange(10), 10)
    images = np.stack([template(int(d)) for d in drawn]).astype(np.uint8) * np.uint8(255)
    labels = drawn.astype(np.uint8)
    for index, label in MISLABELLED.items():
        labels[index] = label
    for array in (images, labels):
        array.flags.writeable = False
    return Mnist(images, labels, images, labels, SNAPSHOT_DIR, "snapshot")


def drawn_one() -> list[str]:
    """Keys that draw a 1 with a flag: ink rows 5..24 (20 tall), columns 11..15."""
    return ["k"] * 8 + ["p"] + ["j"] * 17 + ["p"] + ["k"] * 17 + ["p", "h", "h", "p"]


def logit_margin(model: MLP, images: np.ndarray) -> float:
    """Smallest gap between each image's top logit and its second."""
    x = images.reshape(len(images), 784).astype(np.float32) / np.float32(255)
    top2 = np.sort(model.logits(x), axis=1)[:, -2:]
    return float((top2[:, 1] - top2[:, 0]).min())


@pytest.fixture
def snapshot_app(monkeypatch):
    """A function building the app on the snapshot model and data, with the clock stopped."""
    import network.store
    import tui.screens.evaluate
    import tui.widgets.train_form

    model = snapshot_model()
    SNAPSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SNAPSHOT_DIR / "shipped.npz"
    save_model(path, model)
    monkeypatch.setattr(network.store, "shipped_model_path", lambda: path)
    monkeypatch.setattr(tui.screens.evaluate, "time",
                        types.SimpleNamespace(perf_counter=lambda: 0.0))
    noon = dt.datetime(2026, 11, 29, 12, 0, 0)
    monkeypatch.setattr(tui.widgets.train_form, "default_name",
                        lambda preset: f"{preset}-{noon:%Y-%m-%d-%H%M%S}")

    def build() -> DigitsApp:
        app = DigitsApp(model, path)
        app.dataset, app.dataset_state = snapshot_data(), "ready"
        return app

    return build


async def test_the_snapshot_pictures_cannot_depend_on_rounding(snapshot_app):
    """What the module docstring promises: margins of at least 100 in the logits for every
    image shown, and a drawing whose normalization interpolates nothing."""
    model, data = snapshot_model(), snapshot_data()
    assert logit_margin(model, data.test_images) >= 100
    async with snapshot_app().run_test(size=(80, 24)) as pilot:
        await pilot.press(*drawn_one())
        await pilot.pause()
        pixels = pilot.app.screen.drawing.pixels.copy()
        assert pilot.app.screen.prediction == "1"
    rows = np.flatnonzero(pixels.any(axis=1))
    cols = np.flatnonzero(pixels.any(axis=0))
    assert (rows[0], rows[-1], cols[0], cols[-1]) == (5, 24, 11, 15)  # 20 tall: no resampling
    image = normalize(pixels)
    assert set(np.unique(image)) == set(np.unique(pixels).astype(np.float32))
    assert logit_margin(model, image[None]) >= 100


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_paint_with_a_drawn_digit(snap_compare, snapshot_app, size):
    async def draw(pilot) -> None:
        await pilot.press(*drawn_one())
        await pilot.pause()

    assert snap_compare(snapshot_app(), terminal_size=size, run_before=draw)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_train(snap_compare, snapshot_app, size):
    assert snap_compare(snapshot_app(), terminal_size=size, press=["f3"])


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_evaluate_after_an_evaluation(snap_compare, snapshot_app, size):
    async def evaluate(pilot) -> None:
        await pilot.press("f4")
        screen = pilot.app.screen
        await wait_for(pilot, lambda: screen.evaluation is not None)
        await pilot.pause()

    assert snap_compare(snapshot_app(), terminal_size=size, run_before=evaluate)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_models(snap_compare, snapshot_app, size):
    assert snap_compare(snapshot_app(), terminal_size=size, press=["f5"])


def flagged_one() -> np.ndarray:
    """(28, 28) uint8: a 1 with a flag, its ink box 20 tall (normalizing it interpolates
    nothing), as `drawn_one` draws it."""
    image = np.zeros((28, 28), dtype=np.uint8)
    image[5:25, 14:16] = 255
    image[5:7, 11:14] = 255
    return image


def keep_drawings(monkeypatch) -> None:
    """Three 1s and one 1 kept as a 7 (the model reads it as 1), at a clock that stands still."""
    import network.drawings

    monkeypatch.setattr(network.drawings, "_now", lambda: "2026-11-29T12:00:00+00:00")
    network.drawings.add_drawings([flagged_one()] * 4, [1, 1, 1, 7], guesses=[1, 1, 1, 1])


def test_the_drawings_shown_cannot_depend_on_rounding():
    image = normalize(flagged_one())
    assert set(np.unique(image)) == {0.0, 255.0}
    assert logit_margin(snapshot_model(), image[None]) >= 100


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_drawings(snap_compare, snapshot_app, monkeypatch, size):
    keep_drawings(monkeypatch)
    assert snap_compare(snapshot_app(), terminal_size=size, press=["f6", "down"])
