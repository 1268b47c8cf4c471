"""Repainting a widget that changes several times a frame (the canvas, the status line, the
bars, the preview and the guess during a drag), without the messages of Textual's refresh.

Each `refresh` of a widget with nothing queued posts the widget a Prompt, on whose idle pass it
posts its screen an Update, on which the screen (with a Prompt of its own when its queue was
empty) resumes the timer that draws the next frame: two to three messages dispatched, each with
an idle pass, to put one widget on the screen's list of widgets to draw. Counted during a
120 events/s drag, that was 20 of the Paint screen's 33 messages a frame.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual import messages
from textual.geometry import Region
from textual.message_pump import MessagePump
from textual.screen import Screen
from textual.widget import Widget


def repaint(widget: Widget, *regions: Region) -> None:
    """`widget.refresh(*regions)` (none: the whole widget) for a widget whose size and styles
    did not change, done the way the screen's own handling of it ends.

    When a repaint of `widget` is already on its way to the screen's next frame (Textual's
    `_repaint_required`, or the widget is in the screen's `_dirty_widgets`), the regions are
    just added to it: the compositor takes the widget's dirty regions when it draws. When the
    widget is shown on the current screen, it goes straight into the screen's `_dirty_widgets`
    and the screen's frame timer is resumed, as the screen does on the Update message a
    refresh leads to. Otherwise (not shown, another screen, not mounted) it is Textual's
    `refresh`.
    """
    if widget.is_attached:
        screen = widget.screen
        dirty = screen._dirty_widgets
        if widget._repaint_required or widget in dirty:
            widget._set_dirty(*regions)
            return
        if (screen.is_current and widget.display
                and widget in screen._compositor.visible_widgets):
            widget._set_dirty(*regions)
            dirty.add(widget)
            screen._update_timer.resume()
            return
    widget.refresh(*regions)


def after_refresh(pump: MessagePump, callback: Callable[[], Any]) -> None:
    """`pump.call_after_refresh(callback)` for a bound method without arguments.

    Textual wraps the callback in a new `functools.partial`, and counts the parameters of each
    callback it invokes with `inspect.signature`, keeping the count on the callable: on a new
    partial every time, on a bound method's function once. For a screen, the callback goes
    straight onto the screen's list of callbacks to run after its next frame, as the screen's
    handling of the `InvokeLater` message that `call_after_refresh` posts ends: one message
    less to dispatch (about 0.15 ms of a painting frame, the screen's idle pass included).
    """
    if isinstance(pump, Screen) and pump.is_attached:
        pump._invoke_later(callback, pump)
    else:
        pump.post_message(messages.InvokeLater(callback))
