"""Finding a message's handlers once per kind of message, not once per message.

Textual finds the handlers of every message it dispatches, and of the idle pass after it, by
walking the receiver's class hierarchy and, in each class, the message's (`MessagePump.
_get_dispatch_methods`): on the Paint screen 15-16 us a lookup in a quiet moment (best of 5 x
2,000; 1.5-2 us cached), 33 us on average during a drag on the busy machine, twice per
message. During a drag the Paint screen dispatches 20-30 messages a frame (the widgets' repaint
requests, the recognition thread's results, callbacks after the frame), the app one per motion
event. `CachedDispatch` works the walk out once per
(receiver class, handler name, message class) and replays it; where a class has an
`@on(..., selector)` handler for the message, which depends on the message's own widgets, it
walks as Textual does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from textual.message import Message
from textual.message_pump import MessagePump

Plan = tuple[tuple[type, tuple[Callable[..., Any], ...]], ...]
"""Per class of the receiver's hierarchy that handles the message: (class, its handlers)."""

_plans: dict[tuple[type, str, type], Plan | None] = {}


def dispatch_plan(receiver: type, method_name: str, message: type[Message]) -> Plan | None:
    """The handlers `MessagePump._get_dispatch_methods` finds for a `message` sent to a
    `receiver`, class by class in its order; None when a handler depends on the message's
    widgets (`@on` with a selector)."""
    message_mro = [kind for kind in message.__mro__ if issubclass(kind, Message)]
    seen: set[Callable[..., Any]] = set()
    plan = []
    for cls in receiver.__mro__:
        found = []
        decorated = cls.__dict__.get("_decorated_handlers")
        if decorated:
            for message_class in message_mro:
                for method, selectors in decorated.get(message_class, []):
                    if selectors:
                        return None
                    if method not in seen:
                        seen.add(method)
                        found.append(method)
        method = cls.__dict__.get(f"_{method_name}") or cls.__dict__.get(method_name)
        if method is not None and not getattr(method, "_textual_on", None):
            found.append(method)
        if found:
            plan.append((cls, tuple(found)))
    return tuple(plan)


class CachedDispatch(MessagePump):
    """A message pump that finds each kind of message's handlers once (see the module)."""

    def _get_dispatch_methods(
        self, method_name: str, message: Message
    ) -> Iterator[tuple[type, Callable[..., Any]]]:
        """Textual's handlers for `message`, in Textual's order, from the cached plan."""
        key = (type(self), method_name, type(message))
        try:
            plan = _plans[key]
        except KeyError:
            plan = _plans[key] = dispatch_plan(*key)
        if plan is None:
            yield from super()._get_dispatch_methods(method_name, message)
            return
        for cls, methods in plan:
            if message._no_default_action:  # prevent_default() stops the classes above
                break
            for method in methods:
                yield cls, method.__get__(self, cls)
