"""tui.dispatch: the cached handler lookup finds what Textual's finds, in the same order."""

from __future__ import annotations

from pathlib import Path

from textual import events, messages, on
from textual.message import Message
from textual.message_pump import MessagePump
from textual.widget import Widget
from textual.widgets import Button

from tui.app import DigitsApp
from tui.dispatch import CachedDispatch, dispatch_plan
from tui.screens.paint import PaintScreen
from tui.widgets.canvas import Canvas


class Parent(CachedDispatch, Widget):
    """Handlers by name, by @on without a selector, and by @on with one."""

    def on_key(self, event: events.Key) -> None:
        """A named handler."""

    @on(events.Key)
    def key_too(self, event: events.Key) -> None:
        """A decorated one for the same event."""

    @on(Button.Pressed, "#ok")
    def ok(self, message: Button.Pressed) -> None:
        """Depends on the message's widget."""


class Child(Parent):
    """Overrides one handler, adds a decorated one for a message base class."""

    def on_key(self, event: events.Key) -> None:
        """Overridden."""

    @on(Message)
    def anything(self, message: Message) -> None:
        """Every message."""


def textual_order(pump: MessagePump, name: str, message: Message) -> list:
    """What Textual's own lookup yields."""
    return [(cls, method.__func__) for cls, method in
            MessagePump._get_dispatch_methods(pump, name, message)]


def cached_order(pump: CachedDispatch, name: str, message: Message) -> list:
    """What the cached lookup yields (twice: the second from the cache)."""
    first = [(cls, method.__func__) for cls, method in pump._get_dispatch_methods(name, message)]
    again = [(cls, method.__func__) for cls, method in pump._get_dispatch_methods(name, message)]
    assert first == again
    return first


def test_the_cached_lookup_yields_textuals_handlers_in_textuals_order() -> None:
    widget = Widget()
    cases = [events.Key("a", "a"), events.Idle(), events.Mount(), messages.Prompt(),
             messages.Update(widget), events.Blur(), Canvas.Changed(Canvas(), None, 0.0)]
    app = DigitsApp(None, Path("model.npz"))  # type: ignore[arg-type]
    for pump in (Child(), Parent(), PaintScreen(), Canvas(), app):
        for message in cases:
            name = message.handler_name
            for handler in (name, "on_idle"):
                assert cached_order(pump, handler, message) == textual_order(pump, handler,
                                                                             message)
    found = [(cls, method.__name__) for cls, method in
             cached_order(Child(), "on_key", events.Key("a", "a"))]
    assert found[:4] == [(Child, "anything"), (Child, "on_key"), (Parent, "key_too"),
                         (Parent, "on_key")]  # then Textual's own (Widget._on_key)


def test_prevent_default_stops_the_classes_above() -> None:
    key = events.Key("a", "a")
    lookup = Child()._get_dispatch_methods("on_key", key)
    assert next(lookup)[0] is Child
    key.prevent_default()
    assert [cls for cls, _ in lookup] == [Child]  # Child's on_key yet; not Parent's


def test_a_handler_with_a_selector_is_looked_up_as_textual_does() -> None:
    assert dispatch_plan(Parent, "on_button_pressed", Button.Pressed) is None
    pressed = Button.Pressed(Button("ok", id="ok"))
    assert cached_order(Parent(), "on_button_pressed", pressed) == textual_order(
        Parent(), "on_button_pressed", pressed)
