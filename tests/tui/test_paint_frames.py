"""What the Paint screen sends to the terminal frame by frame adds up to the screen as it is.

The Paint screen's compositor renders, in a partial update, only the lines of the widgets that
the changed regions meet (`tui.compositor.BandedCompositor`). These tests replay every update the
app writes onto a grid of cells, as a terminal would, while painting, and compare it with a full
render of the screen at the end.
"""

from __future__ import annotations

import gc
from typing import Any

import pytest
from pilot_helpers import drag_to, mouse_event
from textual import events
from textual._compositor import ChopsUpdate, LayoutUpdate

from tui.compositor import BandedCompositor
from tui.widgets.canvas import Canvas

Cell = tuple[str, Any]


def cells(strip: Any) -> list[Cell]:
    """The (character, style) of each cell of a strip (the Paint screen's glyphs are 1 wide)."""
    return [(char, segment.style) for segment in strip for char in segment.text]


class Terminal:
    """A grid of cells that applies Textual's updates the way they are written out."""

    def __init__(self) -> None:
        self.lines: list[list[Cell]] = []
        self.partial = 0  # partial updates applied

    def apply(self, update: Any) -> None:
        """Apply a full (`LayoutUpdate`) or partial (`ChopsUpdate`) update."""
        if isinstance(update, LayoutUpdate):
            self.lines = [cells(strip) for strip in update.strips]
        elif isinstance(update, ChopsUpdate):
            self.partial += 1
            for y, x1, x2 in update.spans:  # as ChopsUpdate.render_segments writes them
                for end, (x, strip) in zip(update.chop_ends[y], update.chops[y].items(),
                                            strict=True):
                    if strip is None or x > x2 or end <= x1:
                        continue
                    if not (x2 > x >= x1 and end <= x2):
                        strip = strip.crop(0, min(end, x2) - x)
                    written = cells(strip)
                    self.lines[y][x:x + len(written)] = written


def flatten(strips: list[Any]) -> list[list[Cell]]:
    """Cells of each line of a list of strips."""
    return [cells(strip) for strip in strips]


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_partial_updates_add_up_to_the_screen(make_app, size):
    app = make_app()
    terminal = record_updates(app)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen._compositor, BandedCompositor)
        canvas = screen.query_one(Canvas)
        terminal.lines = flatten(screen._compositor.render_strips())
        # a stroke (the canvas, the status line, the prediction, the bars and the preview
        # change, some of them under the notification "Nothing to undo."), keys that move the
        # cursor, the eraser, the pen
        await pilot.press("u")
        await pilot.pause()
        await pilot.mouse_down(canvas, offset=canvas.offset_of(6, 6))
        for row, col in [(6, 12), (10, 18), (16, 18), (22, 12), (22, 8), (14, 10)]:
            await drag_to(pilot, canvas, canvas.offset_of(row, col))
            await pilot.pause()
        await pilot.mouse_up(canvas, offset=canvas.offset_of(14, 10))
        await pilot.pause()
        for key in ("left", "left", "e", "space", "p", "down", "down"):
            await pilot.press(key)
            await pilot.pause()
        assert terminal.partial >= 10
        assert terminal.lines == flatten(screen._compositor.render_strips())


def record_updates(app: Any) -> Terminal:
    """A Terminal that every update `app` writes from now on is applied to."""
    terminal = Terminal()
    display = app._display

    def recording_display(screen: Any, renderable: Any) -> None:
        if renderable is not None:
            if isinstance(renderable, LayoutUpdate):
                # a full update is written over the whole screen: start from a full render
                terminal.lines = flatten(screen._compositor.render_strips())
            else:
                terminal.apply(renderable)
        display(screen, renderable)

    app._display = recording_display
    return terminal


async def test_motion_queued_faster_than_frames_adds_up_to_the_screen(make_app, monkeypatch):
    """Motion events queued on the app all at once: the canvas and the status line change
    several times before a frame, and are put on the screen's list of widgets to draw once a
    frame (`tui.widgets.repaint`); every change still reaches the terminal."""
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        canvas = screen.query_one(Canvas)
        terminal = record_updates(app)
        terminal.lines = flatten(screen._compositor.render_strips())
        refreshes = []  # each time the canvas asked for a frame: a refresh, or put on the list
        refresh = canvas.refresh
        monkeypatch.setattr(canvas, "refresh",
                            lambda *regions, **kw: (refreshes.append(regions),
                                                    refresh(*regions, **kw))[1])

        class Listed(set):
            def add(self, widget):
                if widget is canvas and widget not in self:
                    refreshes.append(widget)
                super().add(widget)

        monkeypatch.setattr(screen, "_dirty_widgets", Listed(screen._dirty_widgets))
        points = [(4 + i % 20, 4 + (i * 7) % 20) for i in range(60)]
        where = [canvas.region.offset + canvas.offset_of(*point) for point in points]
        app._driver.process_message(mouse_event(events.MouseDown, *where[0]))
        for x, y in where[1:]:
            app._driver.process_message(mouse_event(events.MouseMove, x, y))
        app._driver.process_message(mouse_event(events.MouseUp, *where[-1]))
        for _ in range(100):  # until the app has handled the release
            await pilot.pause()
            if not canvas.stroking:
                break
        await pilot.pause()
        assert 0 < len(refreshes) < len(points) - 1  # fewer refreshes than changes
        assert terminal.lines == flatten(screen._compositor.render_strips())


async def test_garbage_collection_is_off_only_while_a_stroke_is_open(make_app):
    """No automatic collection in the middle of a stroke; back on however the stroke ends."""
    assert gc.isenabled()
    async with make_app().run_test(size=(120, 40)) as pilot:
        canvas = pilot.app.screen.query_one(Canvas)
        await pilot.mouse_down(canvas, offset=canvas.offset_of(6, 6))
        await drag_to(pilot, canvas, canvas.offset_of(12, 12))
        assert canvas.stroking and not gc.isenabled()
        await pilot.mouse_up(canvas, offset=canvas.offset_of(12, 12))
        await pilot.pause()
        assert gc.isenabled()
        await pilot.mouse_down(canvas, offset=canvas.offset_of(6, 6))
        assert not gc.isenabled()
        await pilot.press("f5")  # another screen: the Paint screen closes the stroke
        await pilot.pause()
        assert not canvas.stroking and gc.isenabled()


async def test_collection_resumes_only_after_the_strokes_final_result_is_drawn(
        make_app, monkeypatch):
    """The first automatic collection after a stroke goes through everything the stroke left
    (tens of ms): it comes after the frame that shows the stroke's final result."""
    import tui.widgets.canvas as canvas_module

    happened: list[str] = []

    class Collector:
        """`gc` as the canvas uses it, noting when collection is turned back on."""

        isenabled = staticmethod(gc.isenabled)
        disable = staticmethod(gc.disable)

        @staticmethod
        def enable() -> None:
            happened.append("collection")
            gc.enable()

    monkeypatch.setattr(canvas_module, "gc", Collector)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        display, show = app._display, screen._show_result
        monkeypatch.setattr(app, "_display", lambda *a: (happened.append("frame"), display(*a)))
        monkeypatch.setattr(screen, "_show_result",
                            lambda *a: (happened.append("result"), show(*a)))
        canvas = screen.query_one(Canvas)
        await pilot.mouse_down(canvas, offset=canvas.offset_of(6, 6))
        await drag_to(pilot, canvas, canvas.offset_of(20, 14))
        # released at a new place, as a terminal reports it (a MouseUp alone): new ink that
        # the stroke's end recognizes
        x, y = canvas.region.offset + canvas.offset_of(22, 14)
        app.post_message(mouse_event(events.MouseUp, x, y))
        for _ in range(50):
            await pilot.pause()
            if "collection" in happened:
                break
        assert not canvas.stroking and canvas.drawing.pixels[22, 14]
        assert gc.isenabled() and happened.count("collection") == 1
        final = len(happened) - 1 - happened[::-1].index("result")
        assert "frame" in happened[final:happened.index("collection")]
