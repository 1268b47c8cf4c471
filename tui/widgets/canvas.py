"""The paint grid: one Line-API widget showing a `mnist.drawing.Drawing` and editing it.

Two scales, chosen by whoever lays the screen out (`Canvas.compact`):

* full: each pixel is two columns by one row (56x28 cells), the grid looks square;
* compact: each pixel is one column by half a row (28x14 cells): a cell shows two pixel rows as
  an upper half block "▀", foreground = top pixel, background = bottom pixel.

Mouse: left button paints (erases when the eraser is on), right button erases. A stroke captures
the mouse, so motion outside the grid still arrives; every point goes to `Drawing.line_to`, which
fills gaps between fast motion events and clips off-grid cells. The stroke ends on mouse up
anywhere, when the capture is lost, on blur, or when the screen is suspended (`end_stroke`). A
button released outside the terminal is never reported, so the stroke also ends at the first
motion reported with no button held (terminals report the buttons held with every motion) and,
failing that, at the next press, which starts a new stroke.
In compact mode a terminal row holds two pixel rows. With pixel-precise mouse reports
(`pointer_y` has a fraction) the half under the pointer is used; otherwise the half is chosen by
the direction of vertical motion: entering a row from above paints its top pixel, from below its
bottom pixel, a horizontal move keeps the half, and a stroke starts on the top pixel.

Keyboard: a cursor (always drawn, in the tool's colour) with `move_cursor`, `stamp`,
`toggle_pen` (pen down: moving draws a stroke) and `toggle_eraser`. Changes repaint only the
changed cells (`tui.widgets.repaint`, once a frame) and post `Canvas.Changed` to the screen;
tool changes post `ToolChanged`, once for all the changes made while handling the messages
already queued. A mouse stroke's motion events that the Paint screen hands to `drag` directly
post nothing: the screen updates itself from what `drag` returns.

Python's automatic garbage collection is off while a mouse stroke is open (and back on when it
ends, however it ends): its full collections took 30 ms, two of them in a 500-event drag, each
holding a frame for two; the objects a stroke leaves are freed by reference counting, and the
collector finds the rest after the stroke.

A burst of queued motion events (a fast drag on a slow or busy machine) is drawn segment by
segment, but the screen must not freeze meanwhile: once the ink has changed for `FRAME_EVERY`
seconds without a frame showing it, the canvas waits for the screen to refresh (which also lets
the screen recognize the drawing so far) before it handles the next event
(`let_frame_through`; the app does the waiting for the events the Paint screen draws directly).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import math
import time

import numpy as np
from rich.color import Color as RichColor
from textual import events
from textual.geometry import Offset, Region, Size
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from mnist import SIDE as SIZE
from mnist.drawing import Box, Drawing
from tui.dispatch import CachedDispatch
from tui.widgets.preview import GUIDE, GreyPalette, GreyPaletteMixin, image_strip
from tui.widgets.repaint import after_refresh, repaint

FRAME_EVERY = 0.015
"""Seconds of drawing without a frame after which the canvas lets the screen refresh: with
Textual forwarding the events meanwhile and the refresh itself, a burst shows a frame after at
most 50 ms of work (measured on a busy 2-core machine, 500 queued events: longest frame work
38-42 ms at 15 ms here, 40-56 ms at 20 ms, 50-70 ms at 30 ms)."""

REFRESH_WAIT = 0.25
"""The longest the canvas waits for that refresh (seconds)."""

COLLECTION_RESUMES_AFTER = 0.25
"""Seconds after a stroke ends by which automatic garbage collection is back on, whoever
handles the stroke's end (`Canvas.resume_collection`)."""

_GUIDE_MASK = np.zeros((SIZE, SIZE), dtype=bool)
_GUIDE_MASK[4:24, 4:24] = True  # the central 20x20 area where MNIST digits live


class _CanvasMessage(Message, bubble=False):
    """A message about `canvas`, for the screen only (posted to it directly, see `Canvas._post`;
    not bubbled on to the app, which has no use for it: each message the app dispatches costs
    it a walk of its class hierarchy, and a drag posts one or two per motion event). Each
    subclass says `bubble=False` again: Textual sets `bubble` anew for every subclass (True
    unless told), so it is not inherited."""

    def __init__(self, canvas: Canvas) -> None:
        """Record the canvas."""
        super().__init__()
        self.canvas = canvas

    @property
    def control(self) -> Canvas:
        """The canvas (for `@on(..., selector)`)."""
        return self.canvas


class Canvas(CachedDispatch, GreyPaletteMixin, Widget, can_focus=True):
    """A 28x28 paint grid wrapping a `Drawing`, for the mouse and the keyboard."""

    ALLOW_SELECT = False
    DEFAULT_CSS = """
    Canvas {
        width: auto;
        height: auto;
        border: round $primary;
        border-title-align: center;
        border-title-color: $text-muted;
    }
    Canvas:focus { border: round $accent; }
    Canvas > .canvas--paper { background: $surface; color: $foreground; }
    Canvas > .canvas--cursor { color: $accent; }
    Canvas > .canvas--cursor-pen { color: $success; }
    Canvas > .canvas--cursor-erase { color: $error; }
    """
    COMPONENT_CLASSES = {"canvas--paper", "canvas--cursor", "canvas--cursor-pen",
                         "canvas--cursor-erase"}

    class ToolChanged(_CanvasMessage, bubble=False):
        """The cursor, pen, eraser or brush size of `canvas` changed."""

    class StrokeEnded(_CanvasMessage, bubble=False):
        """A mouse stroke of `canvas` ended (released, lost, or closed)."""

    class Changed(_CanvasMessage, bubble=False):
        """The ink changed: `box` bounds the changed pixels; `when` is its perf_counter time."""

        def __init__(self, canvas: Canvas, box: Box, when: float) -> None:
            """Record the canvas, the changed box and the time of the change."""
            super().__init__(canvas)
            self.box = box
            self.when = when

    def __init__(self, drawing: Drawing | None = None, *, id: str | None = None) -> None:
        """A grid showing `drawing` (a new blank one by default), in compact scale at first."""
        super().__init__(id=id)
        self.drawing = drawing if drawing is not None else Drawing()
        self.compact = True
        self.cursor = (SIZE // 2, SIZE // 2)
        self.pen_down = False
        self.eraser = False
        self._stroking = False  # a mouse stroke is open
        self._gc_held = False  # automatic garbage collection is off for this stroke
        self._stroke_erase = False
        self._cell_y: int | None = None  # compact mode: last terminal row of the stroke
        self._half = 0
        self._palette: GreyPalette | None = None  # the one the cached lines were drawn with
        self._lines: dict[int, Strip] = {}
        self._tool_pending = False  # a ToolChanged is scheduled
        self._unshown_since: float | None = None  # first change no frame has shown yet
        self.border_title = "28×28"

    @property
    def stroking(self) -> bool:
        """A mouse stroke is open (the canvas holds the mouse)."""
        return self._stroking

    # -- geometry --------------------------------------------------------------------------------
    def set_compact(self, compact: bool) -> None:
        """Switch between compact (28x14 cells) and full (56x28 cells) scale."""
        if compact != self.compact:
            self.compact = compact
            self._lines.clear()
            self.refresh(layout=True)

    def get_content_width(self, container: Size, viewport: Size) -> int:
        """28 columns compact, 56 full."""
        return SIZE if self.compact else 2 * SIZE

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        """14 rows compact, 28 full."""
        return SIZE // 2 if self.compact else SIZE

    def offset_of(self, row: int, col: int) -> Offset:
        """Where pixel (row, col) is, relative to the widget's top-left (border included)."""
        gutter = self.gutter
        if self.compact:
            return Offset(gutter.left + col, gutter.top + row // 2)
        return Offset(gutter.left + 2 * col, gutter.top + row)

    def _region(self, box: Box) -> Region:
        """The content region (cells) showing the pixels of `box`."""
        if self.compact:
            top, bottom = box.top // 2, (box.bottom + 1) // 2
            return Region(box.left, top, box.right - box.left, bottom - top)
        return Region(2 * box.left, box.top, 2 * (box.right - box.left), box.bottom - box.top)

    # -- changes ---------------------------------------------------------------------------------
    def _repaint(self, box: Box) -> None:
        """Forget the cached lines of `box` and repaint just its cells."""
        region = self._region(box)
        for y in range(region.y, region.bottom):
            self._lines.pop(y, None)
        repaint(self, region)

    def _post(self, message: Message) -> None:
        """Post to the screen directly rather than bubbling through the containers.

        Measured with Pilot: bubbling through four containers took ~3 ms per message before the
        screen saw it (stroke to prediction 6 ms median); straight to the screen, 0.3 ms.
        """
        if self.is_attached:
            self.screen.post_message(message)

    def _changed(self, box: Box | None, repaint: bool = True) -> None:
        """After a Drawing call: repaint the changed cells (unless the caller did) and tell the
        screen."""
        if box is not None:
            now = time.perf_counter()
            if repaint:
                self._repaint(box)
            self._post(self.Changed(self, box, now))
            self._unshown(now)

    def _unshown(self, now: float) -> None:
        """The ink changed at `now`: note it until a frame has shown it (see `frame_overdue`)."""
        if self._unshown_since is None and self.is_attached:
            self._unshown_since = now
            after_refresh(self.screen, self._shown)

    def _shown(self) -> None:
        """A frame has shown the changes made so far."""
        self._unshown_since = None

    def _set_cursor(self, row: int, col: int) -> None:
        """Move the cursor (clamped to the grid), repainting the old and new cells."""
        row, col = min(max(row, 0), SIZE - 1), min(max(col, 0), SIZE - 1)
        if (row, col) == self.cursor:
            return
        self._repaint_cursor()  # the old cell
        self.cursor = (row, col)
        self._tool_changed()

    def _repaint_cursor(self) -> None:
        """Repaint the cursor's cell (its colour shows the tool)."""
        row, col = self.cursor
        self._repaint(Box(row, col, row + 1, col + 1))

    def _tool_changed(self, repaint: bool = True) -> None:
        """Repaint the cursor (unless the caller did) and announce the change, once for the
        messages already queued."""
        if repaint:
            self._repaint_cursor()
        if not self._tool_pending:
            self._tool_pending = True
            self.call_later(self._announce_tool)

    def _announce_tool(self) -> None:
        """Post the `ToolChanged` that `_tool_changed` scheduled."""
        self._tool_pending = False
        self._post(self.ToolChanged(self))

    def _settle(self) -> None:
        """Close any open stroke, mouse or pen, before a whole-canvas change."""
        self.end_stroke()
        self.lift_pen()

    # -- keyboard --------------------------------------------------------------------------------
    def move_cursor(self, d_row: int, d_col: int) -> None:
        """Move the cursor; with the pen down, draw (or erase) a line to the new place."""
        row, col = self.cursor
        self._set_cursor(row + d_row, col + d_col)
        if self.pen_down:
            self._changed(self.drawing.line_to(*self.cursor, erase=self.eraser))

    def stamp(self, erase: bool | None = None) -> None:
        """Apply the brush at the cursor: the current tool, or erase when `erase` is True."""
        erase = self.eraser if erase is None else erase
        act = self.drawing.erase if erase else self.drawing.paint
        self._changed(act(*self.cursor))

    def toggle_pen(self) -> None:
        """Pen down (start a stroke at the cursor) or up (end it)."""
        if self.pen_down:
            self.lift_pen()
            return
        self.end_stroke()
        self.pen_down = True
        self.drawing.begin_stroke()
        self._changed(self.drawing.line_to(*self.cursor, erase=self.eraser))
        self._tool_changed()

    def lift_pen(self) -> None:
        """End a keyboard stroke (no-op when the pen is up)."""
        if self.pen_down:
            self.pen_down = False
            self.drawing.end_stroke()
            self._tool_changed()

    def toggle_eraser(self) -> None:
        """Switch the tool between paint and erase (left button, space and the pen use it)."""
        self.eraser = not self.eraser
        self._tool_changed()

    def set_brush(self, size: int) -> None:
        """Set the brush size (1..3)."""
        if size != self.drawing.brush_size:
            self.drawing.brush_size = size
            self._tool_changed()

    def clear(self) -> None:
        """Erase everything (one undo step)."""
        self._settle()
        self._changed(self.drawing.clear())

    def undo(self) -> bool:
        """Undo the last stroke; False when there was nothing to undo."""
        self._settle()
        if not self.drawing.can_undo:
            return False
        self._changed(self.drawing.undo())
        return True

    def load_image(self, image: np.ndarray) -> None:
        """Put a 28x28 image (0..255) on the canvas as one undoable change."""
        self._settle()
        self._changed(self.drawing.load(image))

    # -- mouse -----------------------------------------------------------------------------------
    def _pixel_at(self, event: events.MouseEvent) -> tuple[int, int]:
        """Pixel (row, col) under the pointer; may lie off the grid (Drawing clips)."""
        x = event.pointer_x - self.gutter.left
        y = event.pointer_y - self.gutter.top
        if not self.compact:
            return math.floor(y), math.floor(x) // 2
        cell = math.floor(y)
        fraction = y - cell
        if fraction > 0:  # pixel-precise report: the half under the pointer
            half = 1 if fraction >= 0.5 else 0
        elif self._cell_y is not None and cell != self._cell_y:
            half = 0 if cell > self._cell_y else 1  # entered from above: top; from below: bottom
        else:
            half = self._half
        self._cell_y, self._half = cell, half
        return 2 * cell + half, math.floor(x)

    def drag(self, event: events.MouseEvent) -> tuple[Box | None, bool]:
        """A motion of the open mouse stroke: extend it to the pointer (the cursor follows on
        the grid) and repaint what changed, or, with no button held, end it (the button was
        released where we could not see it). Returns the changed ink's Box (None when none)
        and whether the cursor moved.

        Tells no one: `on_mouse_move` posts the messages for the motion events that reach the
        canvas, and the Paint screen hands its strokes' motion events here directly and
        updates itself (a message per change and per cursor move, with their dispatching,
        cost more of a drag's frame than drawing the segment).
        One repaint for the new ink and the cursor's old and new cells together (they touch):
        each region repainted is one more for the screen's next frame to go through.
        """
        if not self._stroking:
            return None, False
        if event.button == 0:
            self.end_stroke()
            return None, False
        return self._stroke_to(event)

    def _stroke_to(self, event: events.MouseEvent) -> tuple[Box | None, bool]:
        """`drag` to the pointer of `event`, whatever its buttons (a release's own position)."""
        row, col = self._pixel_at(event)
        box = self.drawing.line_to(row, col, erase=self._stroke_erase)
        old = self.cursor
        moved = 0 <= row < SIZE and 0 <= col < SIZE and (row, col) != old
        if moved:
            cells = Box(min(old[0], row), min(old[1], col), max(old[0], row) + 1,
                        max(old[1], col) + 1)
            self.cursor = (row, col)
            self._repaint(cells.union(box))
        elif box is not None:
            self._repaint(box)
        if box is not None:
            self._unshown(time.perf_counter())
        return box, moved

    def _tell(self, box: Box | None, moved: bool) -> None:
        """Tell the screen what a stroke's step changed (`Changed`, `ToolChanged`): `box` and
        `moved` as `drag` returns them, the cells repainted already."""
        self._changed(box, repaint=False)
        if moved:
            self._tool_changed(repaint=False)

    @property
    def frame_overdue(self) -> bool:
        """The ink has changed for `FRAME_EVERY` seconds or more without a frame showing it."""
        since = self._unshown_since
        return since is not None and time.perf_counter() - since >= FRAME_EVERY

    async def let_frame_through(self) -> None:
        """If a frame is overdue (`frame_overdue`), wait for the screen to refresh (at most
        `REFRESH_WAIT`: a screen that is closing never refreshes again)."""
        if self.frame_overdue and self.is_attached:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.screen.wait_for_refresh(), REFRESH_WAIT)

    def on_mouse_down(self, event: events.MouseDown) -> None:
        """Left button paints (or erases with the eraser on), right button erases."""
        if event.button not in (1, 3):
            return
        event.stop()
        self.end_stroke()  # its release was lost (outside the terminal): it ends here
        self._settle()
        self._stroking = True
        # no automatic collection until the stroke ends (still off if the last stroke's
        # result is not on screen yet: `resume_collection`)
        self._gc_held = gc.isenabled() or self._gc_held
        gc.disable()
        self._stroke_erase = event.button == 3 or self.eraser
        self._cell_y, self._half = None, 0
        self.capture_mouse()
        self.drawing.begin_stroke()
        self._tell(*self._stroke_to(event))

    async def on_mouse_move(self, event: events.MouseMove) -> None:
        """While a stroke is open, draw a line to the pointer (anywhere: the mouse is captured);
        a motion with no button held means the button was released where we could not see it.

        After `FRAME_EVERY` seconds of changes no frame has shown (a burst of queued events),
        wait for the screen to refresh before handling the next event."""
        if self._stroking:
            event.stop()
            self._tell(*self.drag(event))
            if self._stroking:
                await self.let_frame_through()

    def on_mouse_up(self, event: events.MouseUp) -> None:
        """End the stroke, wherever the button is released."""
        if self._stroking:
            event.stop()
            self._tell(*self._stroke_to(event))
            self.end_stroke()

    def on_mouse_release(self, event: events.MouseRelease) -> None:
        """Lost the mouse capture: close the stroke."""
        self.end_stroke()

    def on_blur(self, event: events.Blur) -> None:
        """Lost focus: close the mouse stroke so it cannot stay open."""
        self.end_stroke()

    def end_stroke(self) -> None:
        """Close an open mouse stroke (one undo step) and release the mouse."""
        if self._stroking:
            self._stroking = False
            self.drawing.end_stroke()
            self.release_mouse()
            self._post(self.StrokeEnded(self))
            if self._gc_held and self.is_attached:
                self.set_timer(COLLECTION_RESUMES_AFTER, self.resume_collection)
            else:
                self.resume_collection()

    def resume_collection(self) -> None:
        """Turn automatic garbage collection back on after a stroke (unless another one is
        open). Its first collection goes through every object the stroke left (about 100,000
        in a 500-event drag: 60-80 ms), so the screen calls this once the frame showing the
        stroke's final result is drawn; at the latest, `COLLECTION_RESUMES_AFTER` seconds
        after the stroke ended. Turned back on at once, it held the final result back by that
        long (release to its frame about 80 ms)."""
        if self._gc_held and not self._stroking:
            gc.enable()
            self._gc_held = False

    def on_unmount(self) -> None:
        """Never leave automatic garbage collection off."""
        self._stroking = False
        self.resume_collection()

    # -- rendering -------------------------------------------------------------------------------
    def notify_style_update(self) -> None:
        """Theme or CSS changed: rebuild every line (and the palette if the colours changed)."""
        super().notify_style_update()
        self._lines.clear()

    def _get_palette(self) -> GreyPalette:
        """The grey palette of the current theme; a new one invalidates the cached lines."""
        palette = self.grey_palette("canvas--paper")
        if palette is not self._palette:
            self._palette = palette
            self._lines.clear()
        return palette

    def _cursor_colour(self) -> RichColor:
        """The cursor's colour: eraser, pen down, or idle."""
        if self.eraser:
            name = "canvas--cursor-erase"
        elif self.pen_down:
            name = "canvas--cursor-pen"
        else:
            name = "canvas--cursor"
        return self.get_component_styles(name).color.rich_color

    def render_line(self, y: int) -> Strip:
        """Terminal row `y` of the grid (cached until its pixels or the cursor change)."""
        palette = self._get_palette()
        strip = self._lines.get(y)
        if strip is None:
            if not 0 <= y < (SIZE // 2 if self.compact else SIZE):
                return Strip.blank(self.size.width)
            indices = self.drawing.pixels.astype(np.int16)
            indices[(indices == 0) & _GUIDE_MASK] = GUIDE  # blank pixels of the 20x20 guide
            strip = image_strip(
                palette, indices, y, self.compact, self.cursor, self._cursor_colour()
            )
            self._lines[y] = strip
        return strip
