"""What every screen of the app shares: header, footer, and the too-small-terminal message.

A screen subclasses `DigitsScreen` and implements `compose_body()`. The app sets breakpoint
classes on each screen (`-narrow`/`-short` below 80x24); app.tcss then hides the body and shows
`TooSmall`, which says what size is needed, and the layout comes back when the terminal grows.
While the body is hidden nothing inside it holds the focus, so keys cannot reach a widget the user
cannot see (a hidden, zero-sized dropdown crashed on page-down); once the terminal is large enough
again the focus goes back to the widget that lost it (or was to get it) meanwhile: it stayed
nowhere, and a table's arrows, say, did nothing until tab.
Nor do the screen's own keys act while the body is hidden (the footer drops them): `c` cleared
and enter kept a drawing on the Paint screen that the user could not see. The app's keys (the
screens' function keys, help, quit) still work.

A screen also ignores a resize to a size that is no longer the terminal's. Textual 8.2 answers a
screen's Resize by laying the screen out at that size and posting the screen a Resize of its new
size; when a stale one is still queued (a resize while a help screen is open over this one, then
another), the two echo each other for ever, the screen's message loop never yields, and the app
freezes. Dropping stale ones ends that; the screen is laid out at the terminal's real size.
(Found by tests/tui/test_fuzz.py.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import events
from textual.app import ComposeResult
from textual.containers import Container
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Static

from tui.widgets.footer import KeysFooter
from tui.widgets.modebar import ModeBar

if TYPE_CHECKING:
    from tui.app import DigitsApp

MIN_WIDTH = 80
MIN_HEIGHT = 24


class TooSmall(Static):
    """Shown instead of a screen's body when the terminal is below the minimum size."""

    def on_mount(self) -> None:
        """Fill in the message for the current size."""
        self._update_message()

    def on_resize(self) -> None:
        """Keep the message in step with the terminal's size."""
        self._update_message()

    def _update_message(self) -> None:
        width, height = self.app.size
        self.update(
            f"Terminal too small: {width}x{height}.\n"
            f"digits needs at least {MIN_WIDTH}x{MIN_HEIGHT}; please enlarge the window."
        )


class DigitsScreen(Screen[None]):
    """Base screen: the mode bar, the screen's body (`compose_body`), a footer with the keys."""

    MODE = ""
    """The app mode this screen is the base of ("paint", "train", ...), highlighted in the bar."""
    _resumed = False  # a ScreenResume was handled
    _keys_hidden = False  # the footer was last told the screen's keys are off (too small)
    _focus_when_shown: Widget | None = None  # to focus once the too-small message goes
    if TYPE_CHECKING:
        app: DigitsApp  # typed access to the app's model, dataset and cross-screen actions

    def compose(self) -> ComposeResult:
        """Mode bar, body, too-small message, footer."""
        self._set_breakpoint_classes()
        yield ModeBar(self.MODE or self.app.current_mode)
        with Container(id="body"):
            yield from self.compose_body()
        yield TooSmall(id="too-small")
        yield KeysFooter()

    def _set_breakpoint_classes(self) -> None:
        """Give the screen the app's breakpoint classes for the terminal's size now, before
        anything is styled.

        Textual adds them when the screen gets its first Resize, after the widgets are styled
        and laid out once, and then restyles every widget of the screen (measured 15-20 ms of
        the Paint screen's 200-300 ms to its first frame); set here, the Resize changes nothing.
        """
        width, height = self.app.size
        for breakpoints, size in ((self.app.HORIZONTAL_BREAKPOINTS, width),
                                  (self.app.VERTICAL_BREAKPOINTS, height)):
            chosen = self._get_breakpoint_classes(size, breakpoints or [])
            for _, name in breakpoints or []:
                self.set_class(name in chosen, name, update=False)

    def compose_body(self) -> ComposeResult:
        """The screen's own widgets (override)."""
        yield from ()

    @property
    def body(self) -> Widget:
        """The container holding this screen's own widgets."""
        return self.query_one("#body")

    @property
    def too_small(self) -> bool:
        """True while the terminal is below MIN_WIDTH x MIN_HEIGHT (the body is hidden)."""
        width, height = self.app.size
        return width < MIN_WIDTH or height < MIN_HEIGHT

    def _hidden(self, widget: Widget | None) -> bool:
        """True when `widget` is inside the body while the body is hidden."""
        if widget is None or not self.too_small:
            return False
        body = self.query("#body").first() if self.is_mounted else None
        return body is not None and body in widget.ancestors_with_self

    def set_focus(
        self, widget: Widget | None, scroll_visible: bool = True, from_app_focus: bool = False
    ) -> None:
        """Focus `widget`, unless it is hidden because the terminal is too small (then it gets
        the focus when the terminal is large enough again)."""
        if self._hidden(widget):
            self._focus_when_shown, widget = widget, None
        super().set_focus(widget, scroll_visible, from_app_focus)

    def _drop_hidden_focus(self) -> None:
        """Blur a focused widget that the too-small message hides (until it shows again), or,
        the body shown again, focus the widget that lost the focus to it."""
        if self._hidden(self.focused):
            self.set_focus(self.focused)  # refused: kept for later
            return
        widget, self._focus_when_shown = self._focus_when_shown, None
        if widget is not None and not self.too_small and self.focused is None:
            if widget.is_attached and widget.screen is self and widget.focusable:
                self.set_focus(widget)

    async def on_event(self, event: events.Event) -> None:
        """Handle an event, but drop a Resize to a size the terminal no longer has (see above).

        The first ScreenResume, which comes right after the screen is mounted, does not restyle
        the screen: every widget was styled as it mounted, moments before (the restyle measured
        10-20 ms of the Paint screen's 200-300 ms to its first frame).
        """
        if isinstance(event, events.ScreenResume) and not self._resumed:
            self._resumed = True
            if self.is_mounted:
                event.refresh_styles = False
        if isinstance(event, events.Resize):
            if event.size != self.app.size:
                return
            await super().on_event(event)
            self._drop_hidden_focus()  # the focus may now be hidden, or may come back
            if self.too_small != self._keys_hidden:  # the screen's keys go or come back
                self._keys_hidden = self.too_small
                self.refresh_bindings()
            return
        await super().on_event(event)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """No key of the screen's own acts before its widgets are mounted (on a busy machine a
        key pressed right after switching screens can arrive while the screen is still being
        composed, and its action would look for widgets that do not exist yet), nor while the
        terminal is too small to show them. Otherwise `allows` decides."""
        if not self.is_mounted or self.too_small:  # nor while the body is hidden (see above)
            return False
        return self.allows(action, parameters)

    def allows(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Whether the screen's key for `action` can act now (override): True shown and
        enabled, False hidden, None shown but disabled (Textual's `check_action` values)."""
        return True

    def on_screen_resume(self) -> None:
        """Shown again (maybe at a size that hides the body, or no longer): the old focus may
        be hidden, or may come back."""
        self._drop_hidden_focus()
