"""Widgets drawing their lines with `DirectLines` show exactly what Textual's own path shows
(`Widget.render_lines`, through the styles cache): border, title, padding, colours, after
updates, after a theme switch and with the focus border."""

from __future__ import annotations

from typing import Any

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual.app import App, ComposeResult
from textual.content import Content
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Digits, Static

from tui.widgets.canvas import Canvas
from tui.widgets.guess import ConfidenceText, GuessDigit
from tui.widgets.lines import DirectLines
from tui.widgets.preview import Preview
from tui.widgets.probabilities import Probabilities
from tui.widgets.status import StatusLine


class Framed(DirectLines, Widget, can_focus=True):
    """Border, padding, a title and a focus border: every edge `DirectLines` has to join."""

    DEFAULT_CSS = """
    Framed {
        width: 16;
        height: 6;
        border: round $primary;
        padding: 1 2 0 1;
        background: $panel;
    }
    Framed:focus { border: heavy $accent; }
    """

    def __init__(self) -> None:
        super().__init__(id="framed")
        self.border_title = "framed"
        self._strips: dict[int, Strip] = {}

    def render_line(self, y: int) -> Strip:
        strip = self._strips.get(y)  # kept, as DirectLines' widgets keep theirs
        if strip is None:
            strip = self._strips[y] = Strip([Segment(f"row {y}", Style(color="red"))])
        return strip.adjust_cell_length(self.line_size.width)


class Widgets(App[None]):
    CSS = """
    #confidence, #static { width: 30; height: 3; content-align: left middle; }
    #guess, #digits { width: 3; color: $accent; text-style: bold; }
    """

    def compose(self) -> ComposeResult:
        yield Probabilities(id="bars")
        yield Preview(title="what the network sees", id="preview")
        yield Framed()
        yield Canvas(id="canvas")
        yield StatusLine(id="status")
        yield ConfidenceText(TEXTS[0], id="confidence")
        yield Static(TEXTS[0], id="static")  # what it must look like
        yield GuessDigit("", id="guess")
        yield Digits("", id="digits")  # what it must look like


TEXTS = ["Draw a digit on the grid:\nmouse, or arrows + space (? for help).",
         "[b]97.1%[/b] sure it is a 4\n[dim]next: 9 (2.0%)[/dim]",
         "[b]97.3%[/b] sure it is a 4\n[dim]next: 9 (2.0%)[/dim]",
         "[b]not sure: 4 or 9?[/b]\n[dim]4 (51.0%), 9 (40.2%)[/dim]", "One line"]


def cells(strips: list[Strip]) -> list[list[tuple[str, Any]]]:
    """(character, style) of every cell."""
    return [[(char, seg.style) for seg in strip for char in seg.text] for strip in strips]


def textual_lines(widget: Widget, crop: Region) -> list[list[tuple[str, Any]]]:
    """What Textual's own `Widget.render_lines` draws, from a cleared styles cache."""
    widget._styles_cache.clear()
    return cells(Widget.render_lines(widget, crop))


def assert_same(widget: Widget) -> None:
    """The whole widget, one row, and a column slice agree with Textual's path."""
    width, height = widget.outer_size
    for crop in (Region(0, 0, width, height), Region(0, height // 2, width, 1),
                 Region(2, 0, width - 3, height)):
        assert cells(widget.render_lines(crop)) == textual_lines(widget, crop), crop


async def test_direct_lines_match_textuals_own_rendering():
    rng = np.random.default_rng(3)
    async with Widgets().run_test(size=(70, 90)) as pilot:
        app = pilot.app
        bars, preview, framed, canvas = (app.query_one(Probabilities), app.query_one(Preview),
                                         app.query_one(Framed), app.query_one(Canvas))
        status = app.query_one(StatusLine)
        widgets = (bars, preview, framed, canvas, status)
        image = rng.integers(0, 256, (28, 28)).astype(np.uint8)
        for step in range(3):
            bars.show(rng.dirichlet(np.full(10, 0.5)) if step != 1 else None)
            image[5 * step: 5 * step + 4] = 0
            preview.set_image(image)
            canvas.stamp()
            canvas.move_cursor(3, 2)
            status.show((f"brush {step} · ", None), ("eraser", "status-line--alert"),
                        (" · ", None), ("pen down", "status-line--on"))
            if step == 1:
                canvas.set_compact(False)
            await pilot.pause()
            for widget in widgets:
                widget.render_lines(Region(0, 0, *widget.outer_size))  # kept lines in use
                assert widget._direct_plan is not None  # drawn the direct way, not Textual's
                assert_same(widget)
        for widget in (framed, canvas):  # the focus border
            widget.focus()
            await pilot.pause()
            assert_same(widget)
        def content(widget: Widget) -> list[list[tuple[str, Any]]]:  # the grey pixels alone
            return cells([widget.render_line(y) for y in range(widget.line_size.height)])

        dark = [content(preview), content(canvas), content(status)]
        app.theme = "textual-light"
        await pilot.pause()
        for widget in widgets:
            assert_same(widget)
        for widget, before in zip((preview, canvas, status), dark, strict=True):  # new colours
            assert content(widget) != before


async def test_confidence_text_shows_what_a_static_shows_and_repaints_changed_rows():
    async with Widgets().run_test(size=(70, 50)) as pilot:
        app = pilot.app
        confidence, static = app.query_one(ConfidenceText), app.query_one("#static", Static)
        whole = Region(0, 0, *confidence.outer_size)
        for step, text in enumerate(TEXTS + TEXTS[:2]):
            if step == len(TEXTS):
                app.theme = "textual-light"
            confidence.update(text, layout=False)
            static.update(text, layout=False)
            await pilot.pause()
            confidence.render_lines(whole)  # rows kept from the text before are in use
            assert cells(confidence.render_lines(whole)) == textual_lines(static, whole), text
        for vertical in ("top", "bottom", "middle"):  # laid out here, with each alignment
            for widget in (confidence, static):
                widget.styles.content_align_vertical = vertical
            for text in TEXTS[1:] + ["[b]1[/b]", "[dim]99.9%[/dim] x [b]y[/b]\n\nz"]:
                confidence.update(text, layout=False)
                static.update(text, layout=False)
                await pilot.pause()
                assert confidence._direct_rows(confidence.visual, confidence.line_size)
                assert cells(confidence.render_lines(whole)) == textual_lines(static, whole), text
        # a line wider than the widget is wrapped by Textual's own layout
        assert confidence._direct_rows(Content.from_markup(TEXTS[0]), confidence.line_size) is None
        confidence.update(TEXTS[1], layout=False)
        confidence._repaint_regions.clear()
        confidence.update(TEXTS[2], layout=False)  # only the first line of text differs
        first = next(y for y, row in enumerate(textual_lines(static, whole))
                     if any(char != " " for char, _ in row))  # the row of the first line
        assert [region.y for region in confidence._repaint_regions] == [first]


async def test_guess_digit_shows_what_digits_shows():
    async with Widgets().run_test(size=(70, 90)) as pilot:
        app = pilot.app
        guess, digits = app.query_one(GuessDigit), app.query_one("#digits", Digits)
        whole = Region(0, 0, *guess.outer_size)
        # every digit was drawn once the screen was up, so the rows compared below (but for
        # the theme switch's) are the ones drawn ahead
        await pilot.pause()
        assert set("0123456789") <= {value for value, _ in guess._glyphs}
        for step, value in enumerate(["4", "7", "", "4", "7", "1"]):
            if step == 4:
                app.theme = "textual-light"
            guess.update(value)
            digits.update(value)
            await pilot.pause()
            assert cells(guess.render_lines(whole)) == textual_lines(digits, whole), value
