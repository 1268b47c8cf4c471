"""A one-line status bar that draws its text from ready-made segments.

The Paint screen's status line changes with every motion event of a drag (the cursor follows
the pointer). As a `Static` each change parsed markup and laid the text out again: about 0.5 ms
a frame to render its one line. `StatusLine.show` takes the text as parts, each plain (outside
text is never read as markup) with an optional component class for its style, and `render_line`
joins ready-made segments. The finished line goes to the screen through `DirectLines` rather
than Textual's styles cache, which took 0.4-0.5 ms a frame for this one line.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.content import Content
from textual.strip import Strip
from textual.widgets import Static

from tui.widgets.lines import DirectLines
from tui.widgets.repaint import repaint

Part = tuple[str, "str | None"]
"""(text, component class styling it, or None for the line's own style)."""


class StatusLine(DirectLines, Static):
    """One line of text in parts; `show(*parts)` changes it, repainting only when it differs."""

    DEFAULT_CSS = """
    StatusLine {
        height: 1;
    }
    StatusLine > .status-line--alert {
        color: $text-error;
        text-style: bold;
    }
    StatusLine > .status-line--on {
        color: $text-success;
        text-style: bold;
    }
    """
    COMPONENT_CLASSES = {"status-line--alert", "status-line--on"}

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        """An empty status line."""
        super().__init__("", id=id, classes=classes, markup=False)
        self._parts: tuple[Part, ...] = ()
        self._strip: Strip | None = None
        self._styles: dict[str | None, Style] = {}  # by component class (None: the line's)

    @property
    def text(self) -> str:
        """The text shown."""
        return "".join(text for text, _ in self._parts)

    def show(self, *parts: Part) -> None:
        """Show these parts, side by side."""
        if parts != self._parts:
            self._parts = parts
            self._strip = None
            repaint(self)  # a drag changes the cursor shown 2-4 times a frame

    def render(self) -> Content:
        """The text shown, plain (what a Static's `render` gives)."""
        return Content(self.text)

    def notify_style_update(self) -> None:
        """Theme or CSS changed: draw the line again."""
        super().notify_style_update()
        self._strip = None
        self._styles.clear()

    def _style(self, name: str | None) -> Style:
        """The rich style of a part styled by component class `name` (None: the line's own),
        worked out once per style update: the line's own walks the DOM for the background."""
        style = self._styles.get(name)
        if style is None:
            base = self.rich_style
            style = base + self.get_component_rich_style(name, partial=True) if name else base
            self._styles[name] = style
        return style

    def render_line(self, y: int) -> Strip:
        """The line, from the parts' segments (blank below it)."""
        width = self.line_size.width
        base = self._style(None)
        if y:
            return Strip.blank(width, base)
        if self._strip is None or self._strip.cell_length != width:
            segments = [Segment(text, self._style(name)) for text, name in self._parts]
            self._strip = Strip(segments).adjust_cell_length(width, Style(bgcolor=base.bgcolor))
        return self._strip
