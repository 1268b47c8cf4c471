"""Repainting a widget that changes several times a frame (the canvas and the status line
during a drag)."""

from __future__ import annotations

from textual.geometry import Region
from textual.widget import Widget


def repaint(widget: Widget, *regions: Region) -> None:
    """`widget.refresh(*regions)`, or, when a repaint of `widget` is already on its way to the
    screen's next frame, just add `regions` (none: the whole widget) to it.

    Each `refresh` of a widget with nothing queued posts the widget a Prompt, on which it posts
    its screen an Update, on which the screen asks for a frame: two messages dispatched, each
    with an idle pass, for a frame that a drag's previous motion event has already asked for.
    A repaint is on its way while the widget has yet to post its Update (Textual's
    `_repaint_required`) or the screen has it and has not drawn the frame yet (the widget is in
    `_dirty_widgets`): the compositor takes the widget's dirty regions when it draws, so the
    regions added meanwhile are drawn in that frame.
    """
    if widget.is_attached and (widget._repaint_required
                               or widget in widget.screen._dirty_widgets):
        widget._set_dirty(*regions)
    else:
        widget.refresh(*regions)
