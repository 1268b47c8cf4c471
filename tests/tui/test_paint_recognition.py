"""Recognition through the Paint screen: what it shows for real MNIST digits and for drawings."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest
from pilot_helpers import drag_to

from mnist.normalize import normalize
from network.recognize import recognize_proba
from tui.screens.paint import SURE_FROM, PaintScreen, Recognition
from tui.widgets.canvas import Canvas
from tui.widgets.preview import Preview
from tui.widgets.probabilities import Probabilities


def shrink_to_corner(image: np.ndarray, corner: int) -> np.ndarray:
    """The 28x28 image at half size (2x2 means, 14x14) in one of the four corners of the field."""
    half = image.reshape(14, 2, 14, 2).astype(np.float64).mean(axis=(1, 3))
    out = np.zeros((28, 28), dtype=np.float64)
    top, left = (corner // 2) * 14, (corner % 2) * 14
    out[top : top + 14, left : left + 14] = half
    return out


async def shown_predictions(pilot, images) -> list[str]:
    """Put each image on the canvas (the path a stroke takes) and read the digit shown."""
    screen = pilot.app.screen
    assert isinstance(screen, PaintScreen)
    canvas = screen.query_one(Canvas)
    shown = []
    for image in images:
        done = len(screen.latencies)  # one entry per finished recognition
        canvas.load_image(image)  # Drawing change -> refresh -> Canvas.Changed -> recognition
        for _ in range(1000):
            if len(screen.latencies) > done:
                break
            await asyncio.sleep(0.001)
        shown.append(screen.prediction)
    await pilot.pause()
    return shown


async def test_recognizes_mnist_digits_and_small_corner_digits(make_app, test_digits):
    images, labels = test_digits
    expected = [str(int(label)) for label in labels]
    async with make_app().run_test(size=(80, 24)) as pilot:
        shown = await shown_predictions(pilot, images)
        right = sum(s == e for s, e in zip(shown, expected, strict=True))
        assert right >= 97, f"{right}/100 MNIST test digits recognized"
        small = [shrink_to_corner(image, i % 4) for i, image in enumerate(images)]
        shown = await shown_predictions(pilot, small)
        right = sum(s == e for s, e in zip(shown, expected, strict=True))
        assert right >= 95, f"{right}/100 half-size digits in a corner recognized"
        # The bars and the preview follow the last image.
        screen = pilot.app.screen
        bars = screen.query_one(Probabilities)
        assert bars.top == int(shown[-1]) and abs(sum(bars.probabilities) - 1.0) < 1e-3
        levels = screen.query_one(Preview).levels
        want = np.rint(normalize(screen.drawing.pixels)).astype(np.uint8)
        assert np.abs(levels.astype(int) - want).max() <= 1


async def test_blank_canvas_shows_a_hint_not_a_guess(make_app):
    async with make_app().run_test(size=(80, 24)) as pilot:
        screen = pilot.app.screen
        await pilot.pause()
        assert screen.prediction == ""
        assert "Draw a digit" in str(screen.query_one("#confidence").render())
        assert screen.query_one(Probabilities).probabilities is None
        assert not screen.query_one(Preview).levels.any()


async def test_drawn_seven_and_small_three(make_app):
    """A keyboard 7, then a small keyboard 3 in the bottom-right corner (the manual check)."""
    async with make_app().run_test(size=(80, 24)) as pilot:
        screen = pilot.app.screen
        await pilot.press(*"kkkkkkkk", *"hhhhhh", "p", *"l" * 12, *"jhj" * 8, "p")
        await pilot.pause()
        assert screen.prediction == "7"
        assert "sure it is a 7" in str(screen.query_one("#confidence").render())
        await pilot.press("c", *"kkkk", *"l" * 8)  # cursor from (22, 12) to (18, 20)
        assert screen.query_one(Canvas).cursor == (18, 20)
        await pilot.press("p", *"lllll", *"jjjj", *"hhhh", "p", *"llll")
        await pilot.press("p", *"jjjj", *"hhhhh", "p")
        await pilot.pause()
        pixels = screen.drawing.pixels
        assert pixels[:17].sum() == 0 and pixels[:, :19].sum() == 0  # small, in the corner
        assert screen.prediction == "3"


async def test_a_stroke_is_recognized_as_it_is_drawn(make_app):
    """Every drag step that changes the ink gets a recognition of the ink as it is then (how
    fast is measured by benchmarks/latency.py, not here)."""
    async with make_app().run_test(size=(160, 50)) as pilot:
        screen = pilot.app.screen
        canvas = screen.query_one(Canvas)
        await pilot.mouse_down(canvas, offset=canvas.offset_of(4, 4))
        for col in range(6, 24):
            await drag_to(pilot, canvas, canvas.offset_of(4 + col // 2, col))
        await pilot.mouse_up(canvas, offset=canvas.offset_of(24, 24))
        await pilot.pause()
        assert len(screen.latencies) >= 10 and len(screen.compute_times) >= 10
        expected = recognize_proba(screen.app.model, normalize(screen.drawing.pixels)[None])[0]
        assert screen.prediction == str(int(np.argmax(expected)))


def confidence_text(screen) -> str:
    """What the Paint screen says next to the digit."""
    return str(screen.query_one("#confidence").render())


async def test_a_dab_or_a_short_line_asks_to_keep_drawing(make_app):
    async with make_app().run_test(size=(120, 40)) as pilot:
        screen = pilot.app.screen
        canvas = screen.query_one(Canvas)
        await pilot.click(canvas, offset=canvas.offset_of(14, 14))  # a dab
        await pilot.pause()
        assert screen.drawing.pixels.any()
        assert screen.prediction == "" and "Keep drawing" in confidence_text(screen)
        assert screen.query_one(Probabilities).probabilities is None
        await pilot.press("3", "space")  # the biggest brush's dab
        await pilot.press("c", "1", "p", "l", "l", "l", "p")  # a 3-pixel stroke
        await pilot.pause()
        assert screen.prediction == "" and "Keep drawing" in confidence_text(screen)
        await pilot.press("c", "p", *"j" * 12, "p")  # a 13-pixel stroke: a digit, a 1
        await pilot.pause()
        assert screen.prediction == "1" and "sure it is a 1" in confidence_text(screen)


class FixedModel:
    """Stands in for the network: the same probabilities for any image."""

    def __init__(self, probabilities: list[float]) -> None:
        self.probabilities = np.array([probabilities], dtype=np.float32)
        self.metadata: dict = {}

    def predict_proba(self, images, batch_size: int = 2048) -> np.ndarray:
        return np.repeat(self.probabilities, len(images), axis=0)


@pytest.mark.parametrize("top, says", [(SURE_FROM - 0.01, "not sure: 4 or 9?"),
                                       (SURE_FROM + 0.01, "sure it is a 4")])
async def test_a_low_top_probability_says_not_sure_and_names_the_top_two(make_app, top, says):
    probabilities = [0.0] * 10
    probabilities[4], probabilities[9] = top, 1.0 - top - 0.08
    probabilities[7] = 0.08
    async with make_app().run_test(size=(80, 24)) as pilot:
        pilot.app.model = FixedModel(probabilities)
        screen = pilot.app.screen
        await pilot.press("p", *"j" * 10, "p")
        await pilot.pause()
        assert screen.prediction == "4"
        assert says in confidence_text(screen)
        assert ("sure it is" in confidence_text(screen)) == (top >= SURE_FROM)


async def test_digits_filling_the_canvas_edge_to_edge_are_recognized(make_app, test_digits):
    """Digits stretched to fill the whole canvas in hard cells: ink on all four edges, for two of
    these 100 on most of the border (three got the blank hint when the paper level was the
    border's median). Every one gets a guess now, none the hint."""
    from mnist.variants import crop_to_ink, resize_area

    images, labels = test_digits
    filled = [np.where(resize_area(crop_to_ink(d), 28, 28) >= 128, 255.0, 0.0) for d in images]
    async with make_app().run_test(size=(80, 24)) as pilot:
        shown = await shown_predictions(pilot, filled)
    assert "" not in shown
    right = sum(s == str(int(label)) for s, label in zip(shown, labels, strict=True))
    assert right >= 91, f"{right}/100 digits filling the canvas recognized"  # measured 94


async def test_a_stroke_is_recognized_in_a_thread_and_an_older_result_is_never_shown(make_app):
    """During a mouse stroke recognition runs in the screen's thread; once the stroke ends the
    result shown is that of the final ink, and a thread's result for older ink that arrives
    after a recognition done on the UI thread is dropped."""
    async with make_app().run_test(size=(120, 40)) as pilot:
        screen = pilot.app.screen
        canvas = screen.query_one(Canvas)
        await pilot.mouse_down(canvas, offset=canvas.offset_of(4, 8))
        for row in range(5, 24):
            await drag_to(pilot, canvas, canvas.offset_of(row, 14))
        assert screen._recognizer is not None  # the stroke's recognitions went to the thread
        await pilot.mouse_up(canvas, offset=canvas.offset_of(24, 14))
        await pilot.pause()
        final = recognize_proba(screen.app.model, normalize(screen.drawing.pixels)[None])[0]
        assert screen.prediction == str(int(np.argmax(final)))
        shown, runs = screen.prediction, len(screen.compute_times)
        other = "0" if shown != "0" else "1"
        probs = np.full(10, 0.01)
        probs[int(other)] = 0.91
        result = Recognition(probs, None, "", 0.0)
        screen.post_message(PaintScreen.Recognized(screen._generation - 1, None, result))
        await pilot.pause()
        assert screen.prediction == shown and len(screen.compute_times) == runs
        screen.post_message(PaintScreen.Recognized(screen._generation, None, result))
        await pilot.pause()
        assert screen.prediction == other and len(screen.compute_times) == runs + 1


async def test_a_stroke_change_after_a_shown_result_waits_for_the_frame_showing_it(make_app):
    """During a mouse stroke, once a thread's result is shown, the ink's next change is
    recognized after the frame that draws that result, not at once: a second result before
    that frame would replace the first before the screen ever showed it."""
    async with make_app().run_test(size=(120, 40)) as pilot:
        screen = pilot.app.screen
        canvas = screen.query_one(Canvas)
        await pilot.mouse_down(canvas, offset=canvas.offset_of(4, 8))
        await drag_to(pilot, canvas, canvas.offset_of(14, 8))
        for _ in range(500):  # the stroke's own recognitions are done
            if not screen._in_flight and not screen._recognition_scheduled:
                break
            await asyncio.sleep(0.01)
        assert canvas.stroking and not screen._in_flight
        runs = len(screen.compute_times)
        probs = np.full(10, 0.01)
        probs[3] = 0.91
        screen._show_result(Recognition(probs, None, "", 0.0), None)  # as a thread's result
        screen._ink_changed(time.perf_counter())
        assert not screen._in_flight and screen._recognition_scheduled  # not started yet
        for _ in range(500):  # the frame, then the recognition it lets through
            if len(screen.compute_times) == runs + 2:
                break
            await asyncio.sleep(0.01)
        assert len(screen.compute_times) == runs + 2
        await pilot.mouse_up(canvas, offset=canvas.offset_of(14, 8))
