"""Textual's Footer (the current screen's keys), doing its start-up work once instead of thrice.

While a screen starts, its bindings change several times (mounting, focus); Textual's Footer
rebuilds all its keys after each change, and each new key bound to the footer's `compact` is
first styled compact and then restyled not compact. On the Paint screen that was three rebuilds
of 10 keys, about 60 ms each, right after the first frame, when the app should already
answer the first key or click. This footer rebuilds once for the changes made before the next
refresh, and gives each key the footer's `compact` before it is styled.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.widgets import Footer
from textual.widgets._footer import FooterKey

if TYPE_CHECKING:
    from textual.app import ComposeResult
    from textual.screen import Screen


class KeysFooter(Footer):
    """A Footer that rebuilds its keys once per batch of binding changes."""

    _rebuild_pending = False

    def compose(self) -> ComposeResult:
        """Footer's keys, those bound to the footer's `compact` already as compact as it is (the
        command palette's key is not bound: it stays compact)."""
        for widget in super().compose():
            if isinstance(widget, FooterKey) and "compact" in (widget._reactive_connect or {}):
                widget.set_reactive(FooterKey.compact, self.compact)
            yield widget

    def bindings_changed(self, screen: Screen) -> None:
        """The screen's bindings changed: rebuild after the next refresh, once for all changes
        made until then (Footer's own rebuilds once per change)."""
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen and not self._rebuild_pending:
            self._rebuild_pending = True
            self.call_after_refresh(self._rebuild)

    async def _rebuild(self) -> None:
        """Compose the keys again for the bindings as they are now."""
        self._rebuild_pending = False
        await self.recompose()
