"""Textual's Footer (the current screen's keys), doing its start-up work once instead of thrice.

While a screen starts, its bindings change several times (mounting, focus); Textual's Footer
rebuilds all its keys after each change, and each new key bound to the footer's `compact` is
first styled compact and then restyled not compact. On the Paint screen that was three rebuilds
of 10 keys, about 60 ms each, right after the first frame, when the app should already
answer the first key or click. This footer rebuilds once for the changes made before the next
refresh, and gives each key the footer's `compact` before it is styled.

It also fits the keys to the terminal's width. Textual's footer lays them out in one row and docks
the command palette's key on the right, over whatever is under it: at 80 columns the Paint
screen's `t` lost its "Keep as…" and the Evaluate screen's ^q its "Quit". When the keys do not
fit beside the palette's key, that key goes (ctrl+p still opens the palette; the help screen
says so), and when they still do not fit, the footer is compact (one column between a key and
its description, one between keys). The widths are worked out from the keys' text as Textual 8's
footer styles lay them out (`key_width`), so fitting costs no extra layout; a resize rebuilds
the footer only when the fit changes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.cells import cell_len
from textual import events
from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

if TYPE_CHECKING:
    from textual.app import ComposeResult
    from textual.screen import Screen

Fit = tuple[bool, bool]
"""How the footer fits its keys: (compact, with the command palette's key)."""
FITS = ((False, True), (False, False), (True, False))
"""The fits tried, roomiest first; the last is used when none fits."""


def key_width(key: FooterKey, compact: bool) -> int:
    """Columns a key takes in Textual 8's footer: " key description " (a key without a
    description: just the key), or compact "key description" and a margin; the palette's key is
    always compact, with a border on its left and a blank (roomy) or a margin (compact) after."""
    text = cell_len(key.key_display) + (cell_len(key.description) + 1 if key.description else 0)
    if key.has_class("-command-palette"):
        return text + 2  # the border, and a margin (compact) or a blank (roomy) after it
    if compact:
        return text + 1
    return text + 2 if key.description else text


def choose_fit(keys: list[FooterKey], width: int) -> Fit:
    """The roomiest of `FITS` in which the screen's `keys` (the palette's key among them, if it
    is offered) fit in `width` columns."""
    palette = [key for key in keys if key.has_class("-command-palette")]
    others = [key for key in keys if not key.has_class("-command-palette")]
    for compact, with_palette in FITS:
        used = sum(key_width(key, compact) for key in others)
        if with_palette:
            if not palette:
                continue
            used += key_width(palette[0], compact)
        if used <= width:
            return compact, with_palette
    return FITS[-1]


class KeysFooter(Footer):
    """A Footer that rebuilds its keys once per batch of binding changes."""

    _rebuild_pending = False
    _fit: Fit | None = None  # how the keys were last fitted (None: as Textual lays them out)
    _keys: list[FooterKey] = []  # the keys last composed, for fitting them again on a resize

    def compose(self) -> ComposeResult:
        """Footer's keys fitted to the width (`choose_fit`), those bound to the footer's
        `compact` already as compact as it is (the command palette's key is not bound: it stays
        compact)."""
        widgets: list[Widget] = list(super().compose())
        self._keys = keys = [w for w in widgets if isinstance(w, FooterKey)]
        self._fit = None
        if len(keys) == len(widgets):  # no key groups, whose labels this does not measure
            self._fit = compact, with_palette = choose_fit(keys, self.app.size.width)
            if compact != self.compact:
                self.compact = compact
            if not with_palette:
                widgets = [w for w in widgets if not w.has_class("-command-palette")]
        for widget in widgets:
            if isinstance(widget, FooterKey) and "compact" in (widget._reactive_connect or {}):
                widget.set_reactive(FooterKey.compact, self.compact)
            yield widget

    def on_resize(self, event: events.Resize) -> None:
        """Fit the keys again if the width changes how they fit."""
        if self._fit is not None and choose_fit(self._keys, self.app.size.width) != self._fit:
            self.bindings_changed(self.screen)

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
