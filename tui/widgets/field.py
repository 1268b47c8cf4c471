"""A text field whose editing keys act in the order they were typed.

Textual's `Input` inserts a typed character in its own key handler, at once, but its editing
keys (backspace, delete, the arrows, home, end, ctrl+w...) are bindings: the key event first
goes up to the app, which then runs the field's action. When several keys arrive together (one
terminal read over a slow link, a paste of keys, a fast typist on a loaded machine), a
character typed after a backspace was inserted before the backspace ran, and the backspace then
deleted it: "ab", backspace and 7 in one read left "ab" instead of "a7" (seen in tmux in the
rename dialog; Textual 8.2.8, Textualize/textual#6605). `Field` runs its own (non-priority)
bindings for a key right in its key handler, as the app would have run them, so every key acts
in turn. Priority bindings (ctrl+q...) were already checked before the key reached the field.
Should Textual run an Input's bindings in order itself, `Field` still does the right thing (the
binding runs once, here), and can then go.
"""

from __future__ import annotations

from textual import events
from textual.widgets import Input


class Field(Input):
    """An `Input` whose own key bindings run in the order the keys came."""

    async def _on_key(self, event: events.Key) -> None:
        """Run the field's own binding for a key that has one, now; else Input's handling."""
        if not event.is_printable:
            for key in event.aliases:
                for binding in self._bindings.key_to_bindings.get(key, ()):
                    if not binding.priority and await self.app.run_action(binding.action, self):
                        self._restart_blink()
                        event.stop()
                        event.prevent_default()
                        return
        await super()._on_key(event)
