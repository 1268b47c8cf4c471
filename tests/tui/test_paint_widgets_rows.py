"""The probability bars and the preview keep each row's strip and repaint only changed rows:
after any sequence of updates they must show exactly what a fresh widget shows."""

from __future__ import annotations

import numpy as np
from textual.app import App, ComposeResult
from textual.color import Color
from textual.geometry import Region
from textual.strip import Strip

from tui.widgets.canvas import Canvas
from tui.widgets.confusion import GUTTER, ConfusionMatrix
from tui.widgets.preview import (
    GreyPalette,
    Preview,
    contrast,
    half_block_runs,
    half_block_strip,
    pixel_strip,
)
from tui.widgets.probabilities import Probabilities


class Pair(App[None]):
    """Two of each widget: one updated many times, one given only the last value."""

    def compose(self) -> ComposeResult:
        yield Probabilities(id="updated-bars")
        yield Probabilities(id="fresh-bars")
        yield Preview(id="updated-preview")
        yield Preview(id="fresh-preview")


class Grids(App[None]):
    """The paint grid and a preview, side by side."""

    def compose(self) -> ComposeResult:
        yield Canvas(id="canvas")
        yield Preview(id="preview")


def rows(widget) -> list[str]:
    """Every row of the widget, border included, as text with its styles, through Textual's
    line cache: a row changed but not repainted would show its old content here."""
    lines = widget.render_lines(Region(0, 0, *widget.outer_size))
    return [repr(list(line)) for line in lines]


async def test_bars_after_many_updates_show_what_fresh_bars_show():
    rng = np.random.default_rng(0)
    uniform = np.full(10, 0.1)
    nine = np.array([0.05] * 9 + [0.55])  # every row changes, the top moves from 0 to 9
    nudged = nine + np.array([0.002] * 3 + [0.0] * 6 + [-0.006])  # three rows and the top's
    steps = [uniform, nine, nudged, None, uniform] + [rng.dirichlet(np.full(10, 0.3))
                                                      for _ in range(5)]
    async with Pair().run_test(size=(60, 80)) as pilot:
        updated = pilot.app.query_one("#updated-bars", Probabilities)
        fresh = pilot.app.query_one("#fresh-bars", Probabilities)
        for probs in steps:
            updated.show(probs)
            await fresh.remove()
            fresh = Probabilities(id="fresh-bars")
            await pilot.app.mount(fresh, before=0)
            fresh.show(probs)
            await pilot.pause()
            assert updated.top == fresh.top
            assert rows(updated) == rows(fresh)


async def test_preview_after_many_images_shows_what_a_fresh_preview_shows():
    rng = np.random.default_rng(1)
    async with Pair().run_test(size=(60, 80)) as pilot:
        updated = pilot.app.query_one("#updated-preview", Preview)
        fresh = pilot.app.query_one("#fresh-preview", Preview)
        image = np.zeros((28, 28), np.uint8)
        for _ in range(20):
            top = int(rng.integers(0, 26))
            image[top : top + 3, :] = rng.integers(0, 256, (3, 28))  # a few rows change
            updated.set_image(image)
            await pilot.pause()
        fresh.set_image(image)
        await pilot.pause()
        assert np.array_equal(updated.levels, image)
        assert rows(updated) == rows(fresh)


def test_strips_show_each_pixel_in_its_grey():
    """Rows drawn from runs of equal cells still give every cell its own pixel's grey: half
    blocks (top pixel the glyph's colour, bottom pixel the background) and full pixels."""
    palette = GreyPalette(Color.parse("#101010"), Color.parse("#f0f0f0"))
    rng = np.random.default_rng(2)
    image = rng.integers(0, 4, (28, 28)).astype(np.uint8) * 85  # runs of 1-6 equal cells
    image[3] = 255
    for y, runs in enumerate(half_block_runs(image)):
        cells = [(char, seg.style) for seg in Strip(palette.run_segments(runs, True), 28)
                 for char in seg.text]
        assert cells == [("▀", palette.pair(int(image[2 * y, x]), int(image[2 * y + 1, x])))
                         for x in range(28)]
        assert cells == [(char, seg.style) for seg in half_block_strip(
            palette, image[2 * y], image[2 * y + 1]) for char in seg.text]
    for y in range(28):
        cells = [(char, seg.style) for seg in pixel_strip(palette, image[y]) for char in seg.text]
        assert cells == [(" ", palette.full[int(image[y, x // 2])]) for x in range(56)]


def cell_colours(strip: Strip) -> list[object]:
    """The colour of each cell's upper half (a half block's foreground) along a row."""
    return [segment.style.color for segment in strip for _ in segment.text]


async def test_every_theme_shows_paper_guide_ink_and_cursor_apart():
    """In every theme the app offers, the grid's paper, its guide tint and its ink, and the
    preview's paper and ink, are drawn in different colours (ANSI themes, whose paper and ink
    are the terminal's default colours, once showed all of them in one); the cursor, in each
    tool's colour, contrasts at least 3:1 with paper, guide and ink under it (with RGB themes:
    an ANSI theme's colours are the terminal's). Tool colours on ink of their own lightness
    made the cursor vanish (tokyo-night, monokai, catppuccin: 1.0-1.1)."""
    async with Grids().run_test(size=(40, 40)) as pilot:
        app = pilot.app
        canvas, preview = app.query_one(Canvas), app.query_one(Preview)
        image = np.zeros((28, 28), np.uint8)
        image[4:6, 12:14] = 255  # ink in the guide area (rows 4..23, columns 4..23)
        canvas.load_image(image)
        preview.set_image(image)
        for theme in sorted(app.available_themes):
            app.theme = theme
            await pilot.pause()
            paper, guide, ink = (cell_colours(canvas.render_line(2))[x] for x in (0, 10, 13))
            assert len({paper, guide, ink}) == 3, (theme, paper, guide, ink)
            shown = cell_colours(preview.render_line(2))
            assert shown[0] != shown[12], (theme, shown[0])
            for _ in range(2):  # the idle cursor, then the eraser's
                for row, col in ((0, 0), (4, 10), (4, 12)):  # over paper, guide, ink
                    canvas.move_cursor(row - canvas.cursor[0], col - canvas.cursor[1])
                    cell = list(canvas.render_line(row // 2).divide([col, col + 1]))[1]
                    style = next(iter(cell)).style
                    if style.color.triplet is not None:
                        assert contrast(style.color, style.bgcolor) >= 3, (theme, row, col)
                canvas.toggle_eraser()


class Matrix(App[None]):
    """A confusion matrix alone."""

    def compose(self) -> ComposeResult:
        yield ConfusionMatrix()


async def test_confusion_matrix_in_an_ansi_theme_keeps_zeros_apart_from_confusions():
    """In ANSI themes, whose colours cannot be blended, a zero count sits on the paper and a
    confusion in the error colour: every cell, zeros too, was in the error (or success)
    colour, and the zeros' dots in their background's own colour."""
    async with Matrix().run_test(size=(80, 20)) as pilot:
        pilot.app.theme = "ansi-dark"
        matrix = pilot.app.query_one(ConfusionMatrix)
        counts = np.diag(np.full(10, 900))
        counts[1, 7] = 12  # one confusion: row 1, column 7
        matrix.set_matrix(counts)
        await pilot.pause()
        row = matrix.render_line(2)  # true digit 1
        cells = [next(iter(cell)).style for cell in list(
            row.divide([GUTTER + matrix.cell * i for i in range(11)]))[1:11]]
        zero, confusion, correct = cells[0], cells[7], cells[1]
        assert len({zero.bgcolor, confusion.bgcolor, correct.bgcolor}) == 3
        assert zero.color != confusion.bgcolor
