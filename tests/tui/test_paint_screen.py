"""The Paint screen as a whole: layout at several sizes, help, palette, dataset, model changes."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from pilot_helpers import wait_for
from rich.console import Console
from textual.widgets import Static

from tui.screens.base import TooSmall
from tui.screens.help import HelpScreen
from tui.screens.paint import PaintScreen
from tui.widgets.canvas import Canvas
from tui.widgets.probabilities import Probabilities

PARTS = ["#canvas", "#caption", "#digit", "#confidence", "#bars", "#preview", "#status"]


def assert_laid_out(screen: PaintScreen) -> None:
    """Every part is shown, inside the screen, and the main parts do not overlap."""
    area = screen.region
    for selector in PARTS:
        widget = screen.query_one(selector)
        assert widget.display and widget.region.area > 0 or selector == "#caption", selector
        assert area.contains_region(widget.region), (selector, widget.region, area)
    regions = [screen.query_one(s).region for s in ("#canvas", "#bars", "#preview", "#status")]
    for i, a in enumerate(regions):
        for b in regions[i + 1 :]:
            assert not a.overlaps(b), (a, b)
    assert not screen.query_one(TooSmall).display


@pytest.mark.parametrize(
    ("size", "compact"), [((80, 24), True), ((120, 40), False), ((160, 50), False)]
)
async def test_layout_fits(make_app, size, compact):
    async with make_app().run_test(size=size) as pilot:
        screen = pilot.app.screen
        await pilot.pause()
        canvas = screen.query_one(Canvas)
        assert canvas.compact is compact
        assert canvas.region.size == ((30, 16) if compact else (58, 30))
        assert_laid_out(screen)


async def test_too_small_then_recovers(make_app):
    async with make_app().run_test(size=(60, 20)) as pilot:
        screen = pilot.app.screen
        await pilot.pause()
        message = screen.query_one(TooSmall)
        assert message.display and not screen.body.display
        assert "80x24" in str(message.render())
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert screen.body.display and not message.display
        assert_laid_out(screen)
        await pilot.resize_terminal(160, 50)  # and it switches to the full-scale grid
        await pilot.pause()
        assert not screen.query_one(Canvas).compact
        assert_laid_out(screen)


async def test_help_footer_and_palette_list_the_bindings(make_app):
    async with make_app().run_test(size=(80, 24)) as pilot:
        screen = pilot.app.screen
        shown = {b.binding.action for b in screen.active_bindings.values() if b.binding.show}
        assert {"stamp", "pen", "eraser", "clear", "undo", "random"} <= shown
        descriptions = {b.binding.description for b in screen.active_bindings.values()}
        commands = {c.title for c in pilot.app.get_system_commands(screen)}
        for needed in ("Pen", "Eraser", "Clear", "Undo", "Random", "Brush size 2", "Cursor up"):
            assert needed in descriptions and needed in commands, needed
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(pilot.app.screen, HelpScreen)
        console = Console(width=100, record=True, file=io.StringIO())
        for static in pilot.app.screen.query(Static):
            console.print(static.content)
        text = console.export_text()
        assert "Brush size 3" in text and "Pen" in text and "right button" in text
        await pilot.press("escape")
        await pilot.pause()
        assert pilot.app.screen is screen


async def test_starts_and_recognizes_without_the_dataset(make_app, tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_DIR", str(tmp_path))  # an empty folder; the cache is empty too
    async with make_app().run_test(size=(80, 24)) as pilot:
        screen = pilot.app.screen
        stroke = ("p", *"jjjjjjjjj", "p")  # pen down, a stroke 10 pixels long, pen up
        await pilot.press(*stroke)
        await pilot.pause()
        assert screen.prediction != ""
        await pilot.press("r")
        await wait_for(pilot, lambda: pilot.app.dataset_state == "missing")
        await pilot.pause()
        error = pilot.app.dataset_error
        assert error and any(n.message == error for n in pilot.app._notifications)
        await pilot.press("c", *"kkkkkkkkk", *stroke)  # still usable: the same stroke again
        await pilot.pause()
        assert (screen.drawing.pixels[14:24, 14] == 255).all() and screen.prediction != ""


async def test_random_digit_with_the_dataset(make_app, mnist_dir, mnist_data):
    async with make_app(mnist_dir).run_test(size=(80, 24)) as pilot:
        screen = pilot.app.screen
        await pilot.press("r")
        for _ in range(100):
            await pilot.pause(0.05)
            if "MNIST test #" in str(screen.query_one("#caption").render()):
                break
        caption = str(screen.query_one("#caption").render())
        index = int(caption.split("#")[1].split(",")[0])
        assert caption.endswith(f"label {mnist_data.test_labels[index]}")
        assert np.array_equal(screen.drawing.pixels, mnist_data.test_images[index])
        await pilot.press("space")
        await pilot.pause()
        assert "(edited)" in str(screen.query_one("#caption").render())
        await pilot.press("u", "u")
        await pilot.pause()
        assert not screen.drawing.pixels.any()


async def test_show_image_and_model_changes(make_app, model):
    async with make_app().run_test(size=(120, 40)) as pilot:
        screen = pilot.app.screen
        status = screen.query_one("#status")
        assert "test " in str(status.render())
        image = np.zeros((28, 28), np.float32)
        image[6:22, 13:15] = 254.6  # a float image: a "1"
        screen.show_image(image, "Evaluate: test #5, label 1, predicted 7")
        await pilot.pause()
        assert screen.drawing.pixels[10, 13] == 255
        assert "test #5" in str(screen.query_one("#caption").render())
        assert screen.prediction == "1"
        runs = len(screen.compute_times)
        pilot.app.set_model(model, Path("/elsewhere/another-model.npz"))
        await pilot.pause()
        assert "another-model" in str(status.render())
        assert len(screen.compute_times) > runs  # recognized again with the new model
        await pilot.press("u")
        await pilot.pause()
        assert screen.prediction == ""


async def test_theme_change_repaints_in_the_new_colours(make_app):
    async with make_app().run_test(size=(80, 24)) as pilot:
        canvas = pilot.app.screen.query_one(Canvas)
        await pilot.press("space")
        await pilot.pause()
        dark_paper = canvas._get_palette().colours[0]
        pilot.app.theme = "textual-light"
        await pilot.pause()
        light = canvas._get_palette()
        assert light.colours[0] != dark_paper
        assert any(seg.style.bgcolor == light.colours[0] for seg in canvas.render_line(0))


async def test_notifications_wait_while_the_terminal_is_too_small(make_app, tmp_path,
                                                                  monkeypatch):
    """At 70x20 without MNIST, a random digit asked for (`r`'s action: the key itself rests
    while the terminal is too small) raises a long "MNIST not found" notification: it must not
    cover the too-small message (every character of it stays on screen), and it shows once the
    terminal is large enough."""
    from textual.widgets._toast import Toast

    monkeypatch.setenv("MNIST_DIR", str(tmp_path))  # an empty folder; the cache is empty too
    async with make_app().run_test(size=(70, 20), notifications=True) as pilot:
        await pilot.pause()
        pilot.app.screen.action_random()
        await wait_for(pilot, lambda: pilot.app.dataset_state == "missing")
        await pilot.pause(0.3)
        assert any(n.message == pilot.app.dataset_error for n in pilot.app._notifications)
        message = pilot.app.screen.query_one(TooSmall)
        shown = "\n".join(strip.text for strip in pilot.app.screen._compositor.render_strips())
        for line in str(message.render()).splitlines():
            assert line in shown, line
        assert not any(toast.display and toast.region.area for toast in pilot.app.query(Toast))
        await pilot.resize_terminal(100, 30)
        await pilot.pause(0.3)
        assert any(toast.display and toast.region.area for toast in pilot.app.query(Toast))


async def test_a_caption_is_shown_as_plain_text(make_app):
    """A caption (it can carry a kept drawing's record) is shown as it is, never read as
    markup: brackets stay, and no style or link is made of them."""
    async with make_app().run_test(size=(120, 40)) as pilot:
        screen = pilot.app.screen
        await pilot.pause()
        caption = "Drawing [b]#3[/b] [@click=app.quit]kept[/]"
        screen.show_image(np.zeros((28, 28), np.uint8), caption)
        await pilot.pause()
        shown = screen.query_one("#caption", Static).render()
        assert str(shown) == caption
        assert not getattr(shown, "spans", [])


async def test_the_screens_keys_rest_while_the_terminal_is_too_small(make_app):
    """Below 80x24 the drawing is hidden: the Paint screen's keys neither change it nor keep
    it (`c` cleared it and enter kept it unseen), and the footer does not offer them; the
    app's keys still work, and the screen's come back with the size, and so does the canvas's
    focus (it stayed nowhere until tab)."""
    from textual.widgets._footer import FooterKey

    from network.drawings import load_drawings

    async with make_app().run_test(size=(80, 24)) as pilot:
        screen = pilot.app.screen
        await pilot.press("p", *"jjjjjjjjj", "p")
        await pilot.pause()
        drawn = screen.drawing.pixels.copy()
        await pilot.press("t")  # its digit comes after the drawing is hidden: not kept
        await pilot.resize_terminal(60, 20)
        await pilot.pause()
        await pilot.press("1", "c", "enter", "space", "x", "p", "h", "u", "e", "3", "t", "1")
        await pilot.pause()
        assert np.array_equal(screen.drawing.pixels, drawn)
        assert len(load_drawings()) == 0
        assert not any(key.action == "clear" for key in screen.query(FooterKey))
        assert pilot.app.focused is None  # nothing hidden holds the focus
        await pilot.press("question_mark")  # the app's keys still work
        await pilot.pause()
        assert isinstance(pilot.app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert any(key.action == "clear" for key in screen.query(FooterKey))
        assert pilot.app.focused is screen.canvas  # the focus it lost comes back
        await pilot.press("c")
        await pilot.pause()
        assert not screen.drawing.pixels.any()


@pytest.mark.parametrize(("width", "screens"), [(80, ("f2", "f4")), (97, ("f2",)), (98, ("f2",))])
async def test_every_footer_key_shows_its_description(make_app, width, screens):
    """The footer fits its keys to the width: every key is shown with its whole description
    (at 80 columns the palette's key covered `t`'s "Keep as…" on the Paint screen and ^q's
    "Quit" on the Evaluate screen); the palette's key is offered when there is room for it."""
    from textual.widgets._footer import FooterKey

    async with make_app().run_test(size=(width, 24)) as pilot:
        for key in screens:
            await pilot.press(key)
            await pilot.pause(0.2)
            screen = pilot.app.screen
            bottom = list(screen._compositor.render_strips())[-1].text
            keys = list(screen.query(FooterKey))
            assert len(keys) >= 2
            for footer_key in keys:
                label = f"{footer_key.key_display} {footer_key.description}".strip()
                assert label in bottom, (key, label, bottom)
            if key == "f2":  # the Paint screen's keys and the palette's take 98 columns
                assert ("^p palette" in bottom) is (width >= 98)


async def test_light_themes_show_the_guess_and_the_tools_readably(make_app):
    """In every light theme with RGB colours (where the themes' accents are faint), the guessed
    digit, the top bar's percentage and the status line's "eraser" and "pen down" contrast at
    least 3:1 with their background: in textual-light the digit and the top bar, in the theme's
    accent, measured 1.5:1 (Textual's $text-* colours are the theme's own colours made
    legible). Dark themes are left out for time: restyling the screen takes 0.25 s a theme."""
    from tui.widgets.preview import contrast

    async with make_app().run_test(size=(80, 24)) as pilot:
        screen = pilot.app.screen
        await pilot.press("p", *"jjjjjjjjj", "p")
        await pilot.pause()
        bars = screen.query_one(Probabilities)
        top = 2 * bars.top if bars.size.height >= 19 else bars.top
        themes = pilot.app.available_themes
        for theme in sorted(name for name, spec in themes.items() if not spec.dark):
            pilot.app.theme = theme
            await pilot.pause()
            styles = {
                "digit": screen.query_one("#digit").rich_style,
                "top bar": list(bars.render_line(top))[-1].style,
                "eraser": screen._status._style("status-line--alert"),
                "pen down": screen._status._style("status-line--on"),
            }
            for part, style in styles.items():
                if style.color.triplet is None:  # ANSI: the terminal's own colours
                    continue
                assert contrast(style.color, style.bgcolor) >= 3, (theme, part)


async def test_a_held_key_shows_its_notice_once(make_app, monkeypatch):
    """A key held down whose action only says why it cannot act shows that notice once while
    it shows, not a toast per repeat (a column of them covered the screen). The notices are
    kept from expiring, so that the test does not depend on how fast the keys go."""
    from textual.notifications import Notification

    monkeypatch.setattr(Notification, "has_expired", property(lambda self: False))
    async with make_app().run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.press(*"u" * 10, *["enter"] * 5)
        await pilot.pause()
        messages = [n.message for n in pilot.app._notifications]
        assert sorted(messages) == ["Nothing to keep: draw a digit first.", "Nothing to undo."]


async def test_undo_shows_the_caption_of_the_image_it_brings_back(make_app):
    """After undo the caption names the image on the canvas (a loaded one), or nothing: undoing
    the second of two loaded images showed the first under the second's caption, "(edited)"."""
    async with make_app().run_test(size=(80, 24)) as pilot:
        screen = pilot.app.screen
        first, second = np.zeros((28, 28), np.uint8), np.zeros((28, 28), np.uint8)
        first[5:20, 10:14], second[8:22, 6:20] = 255, 255

        def caption() -> str:
            return str(screen.query_one("#caption", Static).render())

        screen.show_image(first, "first")
        screen.show_image(second, "second")
        await pilot.press("x")  # erase at the cursor (14, 14): an edit of the second
        await pilot.pause()
        assert caption() == "second (edited)"
        for image, shown in ((second, "second"), (first, "first")):
            await pilot.press("u")
            await pilot.pause()
            assert np.array_equal(screen.drawing.pixels, image) and caption() == shown
        await pilot.press("u")  # back to the blank canvas, which no caption names
        await pilot.pause()
        assert not screen.drawing.pixels.any() and caption() not in ("first", "second")
