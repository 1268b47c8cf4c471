"""Keeping drawings from the Paint screen: enter keeps the guess, t then a digit (or a click on a
digit's bar) keeps the digit named; the canvas clears; blank canvases are never kept."""

from __future__ import annotations

import numpy as np
from pilot_helpers import wait_for

from network.drawings import load_drawings
from tui.screens.help import HelpScreen, bindings_table
from tui.screens.paint import PaintScreen
from tui.widgets.canvas import Canvas
from tui.widgets.probabilities import Probabilities


async def draw_one(pilot) -> None:
    """Draw a vertical stroke (a 1) with the keyboard: pen down, move, pen up."""
    await pilot.press("escape")
    for _ in range(6):
        await pilot.press("up")
    await pilot.press("p", *["down"] * 12, "p")
    await pilot.pause()


async def test_keep_twenty_drawings_with_both_keys(make_app, test_digits):
    images, labels = test_digits
    async with make_app().run_test(size=(120, 40)) as pilot:
        screen = pilot.app.screen
        canvas = screen.query_one(Canvas)
        await draw_one(pilot)
        assert screen.prediction != ""
        await pilot.press("enter")  # keeps the drawn 1 as the guess
        await pilot.pause()
        assert canvas.drawing.pixels.max() == 0  # cleared for the next one
        await draw_one(pilot)
        await pilot.press("t", "7")  # the same stroke, kept as a 7 (a 7's stem)
        await pilot.pause()
        expected, guesses = [], []
        for k in range(20):  # 20 more: MNIST test digits put on the canvas, both keys in turn
            screen.show_image(images[k], "test digit")
            await pilot.pause()
            guess = int(screen.prediction)
            if k % 2:
                await pilot.press("enter")
                expected.append(guess)
            else:
                await pilot.press("t", str(int(labels[k])))
                expected.append(int(labels[k]))
            guesses.append(guess)
            await pilot.pause()
        kept = load_drawings()
        assert len(kept) == 22
        assert kept.labels.tolist()[2:] == expected
        assert [r.guess for r in kept.records][2:] == guesses
        assert kept.records[1].label == 7 and kept.records[0].label == kept.records[0].guess
        assert (kept.images[2] == images[0]).all()  # the raw canvas, not the normalized one


async def test_click_on_a_bar_blank_canvas_and_cancelled_t(make_app, test_digits):
    images, _ = test_digits
    async with make_app().run_test(size=(120, 40)) as pilot:
        screen = pilot.app.screen
        await pilot.press("enter", "t", "3")  # blank canvas: nothing kept
        await pilot.pause()
        assert len(load_drawings()) == 0
        screen.show_image(images[0], "test digit")
        await pilot.pause()
        await pilot.press("t", "x")  # not a digit: cancelled, nothing kept, canvas kept
        await pilot.pause()
        assert len(load_drawings()) == 0 and screen.drawing.pixels.max() > 0
        bars = screen.query_one(Probabilities)
        row = next(y for y in range(bars.size.height) if bars.digit_at(y) == 5)
        await pilot.click(Probabilities, offset=(3, row))
        await pilot.pause()
        kept = load_drawings()
        assert kept.labels.tolist() == [5]
        assert screen.drawing.pixels.max() == 0


async def t_pressed_on_a_digit(pilot, image) -> PaintScreen:
    """Put `image` on the Paint screen's canvas and press `t` (keep as which digit?)."""
    screen = pilot.app.screen
    screen.show_image(image, "test digit")
    await pilot.pause()
    await pilot.press("t")
    return screen


async def test_a_pending_t_is_forgotten_when_the_screen_is_left(make_app, test_digits):
    images, _ = test_digits
    async with make_app().run_test(size=(120, 40)) as pilot:
        screen = await t_pressed_on_a_digit(pilot, images[0])
        await pilot.app.switch_mode("train")  # as a click on the top bar does
        await pilot.pause()
        await pilot.app.switch_mode("paint")
        await pilot.pause()
        await pilot.press("c")  # clears the canvas: not taken as the answer to `t`
        await pilot.pause()
        assert screen.drawing.pixels.max() == 0 and len(load_drawings()) == 0


async def test_keys_are_in_the_footer_and_the_help(make_app):
    async with make_app().run_test(size=(120, 40)) as pilot:
        keys = {b.binding.key: b.binding.description
                for b in pilot.app.screen.active_bindings.values() if b.binding.show}
        assert keys.get("enter") == "Keep" and keys.get("t") == "Keep as…"
        paint = pilot.app.screen
        actions = list(bindings_table(paint, "keys").columns[1].cells)
        assert "Keep" in actions and "Keep as…" in actions
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, HelpScreen))
        text = " ".join(str(s.render()) for s in pilot.app.screen.query("#help-extra"))
        assert "t then a digit" in text


async def test_a_pending_t_ends_with_its_prompt(make_app, test_digits, monkeypatch):
    import tui.screens.paint as paint

    monkeypatch.setattr(paint, "KEEP_AS_SECONDS", 0.2, raising=False)
    images, _ = test_digits
    async with make_app().run_test(size=(120, 40)) as pilot:
        screen = await t_pressed_on_a_digit(pilot, images[0])
        await pilot.pause(0.5)  # the prompt is gone
        await pilot.press("c")  # so this clears the canvas, as `c` does
        await pilot.pause()
        assert screen.drawing.pixels.max() == 0 and len(load_drawings()) == 0
        screen.show_image(images[0], "test digit")
        await pilot.pause()
        await pilot.press("t", "4")  # within the prompt's time: kept as a 4
        await pilot.pause()
        assert load_drawings().labels.tolist() == [4]


async def test_the_keep_as_prompt_goes_once_it_is_answered(make_app):
    """`t`'s prompt, "Keep as which digit? Press 0-9", stayed up to 4 s after a digit kept the
    drawing or another key cancelled it, while the next digit set the brush size (seen in
    tmux). It now goes with the wait, also when the digit comes in the same burst as `t`."""
    async with make_app().run_test(size=(120, 40)) as pilot:
        def prompts() -> list:
            return [n for n in pilot.app._notifications
                    if n.message.startswith("Keep as which digit?")]

        stroke = np.zeros((28, 28), np.uint8)
        stroke[6:22, 13:15] = 255
        pilot.app.screen.show_image(stroke, "a stroke")
        # cancelled (the drawing stays), then answered in one burst, then answered later
        for keys in (("t",), ("x",), ("t", "3"), "draw", ("t",), ("3",)):
            if keys == "draw":
                pilot.app.screen.show_image(stroke, "a stroke")
                continue
            await pilot.press(*keys)
            await pilot.pause()
            assert bool(prompts()) == (keys == ("t",)), keys
        assert load_drawings().labels.tolist() == [3, 3]


async def test_the_kept_notice_counts_one_drawing_and_two_drawings(make_app):
    """The first drawing kept was announced as "(1 drawings in all)"."""
    async with make_app().run_test(size=(120, 40)) as pilot:
        def kept_notices() -> list[str]:
            return [n.message for n in pilot.app._notifications
                    if n.message.startswith("Kept as")]

        stroke = np.zeros((28, 28), np.uint8)
        stroke[6:22, 13:15] = 255
        for _ in range(2):
            pilot.app.screen.show_image(stroke, "a stroke")
            await pilot.press("t", "1")
            await pilot.pause()
        assert kept_notices() == ["Kept as 1: you have 1 of 1 (1 drawing in all).",
                                  "Kept as 1: you have 2 of 1 (2 drawings in all)."]
