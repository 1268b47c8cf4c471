"""The Paint screen's grid driven like a user would: mouse drags, keys, clear and undo."""

from __future__ import annotations

import numpy as np
import pytest
from pilot_helpers import drag_to, mouse_event
from textual import events

from mnist.drawing import Drawing, line_cells
from tui.screens.paint import PaintScreen
from tui.widgets.canvas import Canvas
from tui.widgets.preview import readable_on

SIZES = [(80, 24), (120, 40), (160, 50)]


async def drag(pilot, canvas: Canvas, points: list[tuple[int, int]], button: int = 1) -> None:
    """mouse_down on the first pixel, drag over the middle ones, mouse_up on the last."""
    await pilot.mouse_down(canvas, offset=canvas.offset_of(*points[0]), button=button)
    for point in points[1:-1]:
        await drag_to(pilot, canvas, canvas.offset_of(*point), button)
    await pilot.mouse_up(canvas, offset=canvas.offset_of(*points[-1]))
    await pilot.pause()


def paint_screen(app) -> tuple[PaintScreen, Canvas]:
    """The Paint screen and its grid."""
    screen = app.screen
    assert isinstance(screen, PaintScreen)
    return screen, screen.query_one(Canvas)


@pytest.mark.parametrize("size", SIZES)
async def test_drag_paints_cells_under_and_between(make_app, size):
    async with make_app().run_test(size=size) as pilot:
        screen, canvas = paint_screen(pilot.app)
        assert canvas.compact == (size == (80, 24))
        # Hover events 6 columns apart: the cells in between are filled by a line.
        await drag(pilot, canvas, [(6, 4), (6, 10), (6, 16), (6, 22)])
        pixels = canvas.drawing.pixels
        assert (pixels[6, 4:23] == 255).all()
        await drag(pilot, canvas, [(8, 20), (22, 8)])
        for row, col in line_cells((8, 20), (22, 8)):
            assert pixels[row, col] == 255, (row, col)
        assert pilot.app.mouse_captured is None
        assert screen.prediction != ""  # a guess is shown once there is ink
        # Two strokes, two undo steps.
        await pilot.press("u")
        await pilot.pause()
        assert (pixels[6, 4:23] == 255).all() and pixels[22, 8] == 0
        # The widget shows the ink: the painted row is drawn in the ink colour.
        palette = canvas._get_palette()
        y = 6 // 2 if canvas.compact else 6
        styles = [seg.style for seg in canvas.render_line(y) if seg.style is not None]
        ink = palette.colours[255]
        assert any(ink in (style.color, style.bgcolor) for style in styles)


async def test_right_drag_and_eraser_erase(make_app):
    async with make_app().run_test(size=(120, 40)) as pilot:
        screen, canvas = paint_screen(pilot.app)
        block = np.zeros((28, 28), np.uint8)
        block[4:24, 4:24] = 255
        canvas.load_image(block)
        await drag(pilot, canvas, [(14, 2), (14, 14), (14, 25)], button=3)
        pixels = canvas.drawing.pixels
        assert (pixels[13:16, 4:24] == 0).all()  # brush 1 erases a 3-pixel-wide path
        assert (pixels[4:12, 4:24] == 255).all()
        await pilot.press("e")  # eraser on: the left button erases too
        assert "eraser" in str(screen.query_one("#status").render())
        await drag(pilot, canvas, [(6, 10), (22, 10)])
        assert (pixels[6:23, 10] == 0).all()
        await pilot.press("e", "u", "u")
        await pilot.pause()
        assert np.array_equal(pixels, block)


async def test_drag_leaving_the_grid_and_coming_back(make_app):
    async with make_app().run_test(size=(80, 24)) as pilot:
        screen, canvas = paint_screen(pilot.app)
        await pilot.mouse_down(canvas, offset=canvas.offset_of(10, 10))
        outside = canvas.offset_of(10, 0) + (canvas.region.width + 10, 0)  # over the bars
        await drag_to(pilot, canvas, outside)
        await drag_to(pilot, canvas, (canvas.region.width + 5, -1))  # over the header
        assert pilot.app.mouse_captured is canvas
        await drag_to(pilot, canvas, canvas.offset_of(20, 20))
        await pilot.mouse_up(canvas, offset=(3, canvas.region.height + 2))  # below the grid
        await pilot.pause()
        pixels = canvas.drawing.pixels
        assert (pixels[10, 10:28] == 255).all()
        assert pixels[20, 20] == 255
        assert pilot.app.mouse_captured is None
        await pilot.press("u")  # the whole excursion was one stroke
        await pilot.pause()
        assert not pixels.any()


async def test_stroke_closed_when_the_screen_is_left(make_app):
    async with make_app().run_test(size=(80, 24)) as pilot:
        screen, canvas = paint_screen(pilot.app)
        await pilot.mouse_down(canvas, offset=canvas.offset_of(6, 6))
        await drag_to(pilot, canvas, canvas.offset_of(6, 20))
        await pilot.press("f3")  # no mouse up: switch to the Train screen
        await pilot.pause()
        assert pilot.app.mouse_captured is None
        await pilot.press("f2")
        await pilot.pause()
        await pilot.hover(canvas, offset=canvas.offset_of(20, 20))  # must not paint any more
        await pilot.pause()
        assert canvas.drawing.pixels[20, 20] == 0
        await pilot.press("u")
        await pilot.pause()
        assert not canvas.drawing.pixels.any()


async def test_compact_rows_follow_pointer_or_direction(make_app):
    async with make_app().run_test(size=(80, 24)) as pilot:
        screen, canvas = paint_screen(pilot.app)
        assert canvas.compact
        # Cell-precise reports, moving up: rows are entered from below, so the lower pixels.
        await drag(pilot, canvas, [(20, 5), (16, 5), (10, 5), (6, 5)])
        pixels = canvas.drawing.pixels
        assert (pixels[7:21, 5] == 255).all() and pixels[6, 5] < 255
        # Pixel-precise reports: the half under the pointer (0.75 of a cell = the lower pixel).
        x, y = canvas.offset_of(0, 15)
        for event_type in (events.MouseDown, events.MouseUp):
            canvas.post_message(event_type(canvas, x, y + 4.75, 0, 0, 1, False, False, False))
        await pilot.pause()
        assert pixels[9, 15] == 255 and pixels[8, 15] < 255


async def test_clear_and_several_undos(make_app):
    async with make_app().run_test(size=(80, 24)) as pilot:
        screen, canvas = paint_screen(pilot.app)
        await drag(pilot, canvas, [(5, 5), (5, 20)])
        first = canvas.drawing.pixels.copy()
        await drag(pilot, canvas, [(10, 5), (20, 20)])
        second = canvas.drawing.pixels.copy()
        await pilot.press("c")
        await pilot.pause()
        assert not canvas.drawing.pixels.any()
        assert screen.prediction == ""
        assert "Draw a digit" in str(screen.query_one("#confidence").render())
        for expected in (second, first, np.zeros((28, 28), np.uint8)):
            await pilot.press("u")
            await pilot.pause()
            assert np.array_equal(canvas.drawing.pixels, expected)
        await pilot.press("u")  # nothing left: says so, no crash
        await pilot.pause()
        assert any("Nothing to undo" in n.message for n in pilot.app._notifications)


async def test_keyboard_paints_a_known_shape(make_app):
    async with make_app().run_test(size=(80, 24)) as pilot:
        screen, canvas = paint_screen(pilot.app)
        assert canvas.cursor == (14, 14)
        await pilot.press(*"kkkk", "left", "h", "h", "h", "p")  # to (10, 10), pen down
        await pilot.press(*"llllllll", *["down"] * 8, "p")  # right 8, down 8, pen up
        await pilot.press("j", "space")  # one dab below the corner
        await pilot.pause()
        expected = Drawing()
        expected.begin_stroke()
        expected.line_to(10, 10)
        expected.line_to(10, 18)
        expected.line_to(18, 18)
        expected.end_stroke()
        expected.paint(19, 18)
        assert np.array_equal(canvas.drawing.pixels, expected.pixels)
        assert canvas.cursor == (19, 18)
        status = str(screen.query_one("#status").render())
        assert "cursor 19,18" in status and "pen up" in status
        # Pen down with the eraser erases along the path; x erases at the cursor.
        await pilot.press("e", "k", "p", *"hhhhhhhh", "p", "e")
        await pilot.pause()
        assert (canvas.drawing.pixels[17:20, 11:19] == 0).all()
        await pilot.press("u")  # undo the erased path
        await pilot.pause()
        assert np.array_equal(canvas.drawing.pixels, expected.pixels)
        await pilot.press("x")
        await pilot.pause()
        assert canvas.drawing.pixels[18, 10] == 0


async def test_brush_sizes_and_cursor_drawing(make_app):
    async with make_app().run_test(size=(120, 40)) as pilot:
        screen, canvas = paint_screen(pilot.app)
        status = screen.query_one("#status")
        for key, size in (("3", 3), ("left_square_bracket", 2), ("1", 1), ("2", 2)):
            await pilot.press(key)
            await pilot.pause()
            assert canvas.drawing.brush_size == size
            assert f"brush {size}" in str(status.render())
        await pilot.press("space")
        await pilot.pause()
        assert canvas.drawing.pixels[14, 14] == 255 and canvas.drawing.pixels[14, 16] > 0
        # The cursor is drawn: "[]" in full scale, a coloured half block in compact scale.
        assert "[]" in canvas.render_line(14).text
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert canvas.compact
        colour = canvas._cursor_colour()  # made readable over the ink it is on
        cells = [seg for seg in canvas.render_line(7) if seg.text in ("▀", "▄")]
        assert any(seg.style.color == readable_on(colour, seg.style.bgcolor) for seg in cells)


async def test_coalesces_a_burst_of_motion(make_app):
    async with make_app().run_test(size=(120, 40)) as pilot:
        screen, canvas = paint_screen(pilot.app)
        await pilot.mouse_down(canvas, offset=canvas.offset_of(4, 4))
        await pilot.pause()
        before = len(screen.compute_times)
        for i in range(200):  # a burst: 200 motion events queued at once
            x, y = canvas.offset_of(4 + i % 20, 4 + (i * 7) % 20)
            canvas.post_message(events.MouseMove(canvas, x, y, 0, 0, 1, False, False, False))
        await pilot.mouse_up(canvas, offset=canvas.offset_of(20, 20))
        await pilot.pause()
        recognitions = len(screen.compute_times) - before
        assert 1 <= recognitions <= 20, recognitions


def send_mouse(pilot, canvas: Canvas, kind: type[events.MouseEvent], pixel: tuple[int, int],
               button: int, dx: int = 0) -> None:
    """A mouse event over `pixel` (shifted `dx` columns), sent the way the terminal driver does."""
    offset = canvas.offset_of(*pixel)
    x, y = canvas.region.x + offset.x + dx, canvas.region.y + offset.y
    pilot.app._driver.process_message(mouse_event(kind, x, y, button))


async def until_stroke_ends(pilot, canvas: Canvas) -> None:
    """Pause until the app has handled the stroke's release (a burst can keep the app waiting
    for frames after Pilot's pause sees it idle)."""
    for _ in range(100):
        await pilot.pause()
        if not canvas.stroking:
            return


async def test_a_burst_queued_on_the_app_reaches_the_canvas_in_slices(make_app, monkeypatch):
    """Motion events queued on the app all at once (as a terminal's driver queues a fast drag):
    the canvas draws the first before the app has forwarded the last, and draws every
    segment of the stroke."""
    import tui.app

    monkeypatch.setattr(tui.app, "FORWARD_SLICE", 0.0)  # yield after every event
    points = [(4 + i % 20, 4 + (i * 7) % 20) for i in range(40)]
    async with make_app().run_test(size=(120, 40)) as pilot:
        screen, canvas = paint_screen(pilot.app)
        send_mouse(pilot, canvas, events.MouseDown, points[0], 1)
        await pilot.pause()
        order: list[str] = []
        stroke_to, forward = canvas._stroke_to, screen._forward_event
        monkeypatch.setattr(canvas, "_stroke_to",
                            lambda event: (order.append("canvas"), stroke_to(event))[1])
        monkeypatch.setattr(screen, "_forward_event",
                            lambda event: (order.append("app"), forward(event)))
        for point in points[1:]:
            send_mouse(pilot, canvas, events.MouseMove, point, 1)
        send_mouse(pilot, canvas, events.MouseUp, points[-1], 1)
        await until_stroke_ends(pilot, canvas)
        last_forward = len(order) - 1 - order[::-1].index("app")
        assert order.index("canvas") < last_forward, order
        expected = Drawing()
        expected.begin_stroke()
        for point in points:
            expected.line_to(*point)
        assert np.array_equal(canvas.drawing.pixels, expected.pixels)


@pytest.mark.parametrize("dragged", [True, False], ids=["after-a-drag", "flicked-out"])
async def test_a_release_outside_the_terminal_ends_the_stroke_at_the_next_buttonless_move(
        make_app, dragged):
    """The button is let go outside the terminal (no release is reported); the pointer comes
    back with no button held: the stroke is closed there, and the move draws nothing. After a
    drag, Textual's driver makes up a release at the last motion; when the pointer left before
    any motion was reported (a flick), only the canvas's own check closes the stroke."""
    async with make_app().run_test(size=(120, 40)) as pilot:
        screen, canvas = paint_screen(pilot.app)
        send_mouse(pilot, canvas, events.MouseDown, (6, 4), 1)
        if dragged:
            send_mouse(pilot, canvas, events.MouseMove, (6, 10), 1)
            send_mouse(pilot, canvas, events.MouseMove, (6, 27), 1, dx=200)  # off the terminal
        await pilot.pause()
        assert (canvas.drawing.pixels[6, 4:11 if dragged else 5] == 255).all()
        send_mouse(pilot, canvas, events.MouseMove, (20, 20), 0)  # back, no button held
        send_mouse(pilot, canvas, events.MouseMove, (22, 8), 0)
        await pilot.pause()
        pixels = canvas.drawing.pixels
        assert not pixels[12:].any()  # no line to where the pointer came back
        assert pilot.app.mouse_captured is None
        await pilot.press("u")  # the stroke was one undo step, closed
        await pilot.pause()
        assert not canvas.drawing.pixels.any()


async def test_a_release_outside_the_terminal_ends_the_stroke_at_the_next_press(make_app):
    """No motion came back before the next press: that press closes the lost stroke and
    starts a new one, not joined to it by a line; each is its own undo step."""
    async with make_app().run_test(size=(120, 40)) as pilot:
        screen, canvas = paint_screen(pilot.app)
        send_mouse(pilot, canvas, events.MouseDown, (6, 4), 1)
        send_mouse(pilot, canvas, events.MouseMove, (6, 10), 1)
        send_mouse(pilot, canvas, events.MouseMove, (6, 27), 1, dx=200)  # off the terminal
        send_mouse(pilot, canvas, events.MouseDown, (20, 10), 1)
        send_mouse(pilot, canvas, events.MouseMove, (20, 20), 1)
        send_mouse(pilot, canvas, events.MouseUp, (20, 20), 1)
        await pilot.pause()
        pixels = canvas.drawing.pixels
        assert (pixels[20, 10:21] == 255).all() and not pixels[8:19].any()
        assert pilot.app.mouse_captured is None
        await pilot.press("u")
        await pilot.pause()
        assert (canvas.drawing.pixels[6, 4:11] == 255).all()
        assert not canvas.drawing.pixels[12:].any()
        await pilot.press("u")
        await pilot.pause()
        assert not canvas.drawing.pixels.any()
