"""Line-API widgets whose finished lines are kept until their content changes.

Textual renders a widget's lines through its styles cache (`Widget.render_lines`): per call it
works out the widget's background colours (a walk up the DOM), its border title and the line
filters, and per line it adds the border and padding around `render_line`'s strip and applies
the filters. On the Paint screen a drag changes the bars, the preview and the confidence text
every few frames, and that pass cost 60-300 us a line.

`DirectLines` does the same job with less: it works the border and padding out once per style
or size (asking Textual's own styles cache for one line with blank content and keeping its left
and right edges), then for each content row joins the edges to `render_line`'s strip and
applies the filters, and keeps the finished line until `render_line` returns another strip for
that row (the widgets using it keep each row's strip until the row changes). The rows of the
top and bottom border and padding still come from Textual's styles cache. Where the styles ask
for what the join cannot do (tint, opacity, text opacity, hatch, outline), Textual's own path is
taken. What reaches the screen is the same: tests/tui/test_direct_lines.py compares both paths.
Not for widgets with links: Textual's hover styling of `@click` links is not applied here.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual._styles_cache import StylesCache
from textual.color import Color
from textual.filter import ANSIToTruecolor, LineFilter
from textual.geometry import Region, Size
from textual.strip import Strip

_STYLES = StylesCache()  # for its `get_inner_outer` (cached per colour pair)

_Plan = tuple[tuple[int, int], int, int, int, Strip, Strip, object, object, Size]
"""(outer size, top rows, bottom rows, content height, left edge, right edge, inner style,
background, content size)."""


_UNCHANGED_MOST = 4096  # styles remembered per widget, filter and background


def filtered(line_filter: LineFilter, segments: list[Segment], background: Color,
             unchanged: set[Style]) -> list[Segment]:
    """`line_filter.apply(segments, background)`, without the work when it changes nothing.

    Textual's ANSI-to-truecolor filter, always on, rebuilds every segment (2 us each); it
    changes a style only when a colour is not truecolour or the style is dim with a colour, so
    for the theme's truecolour styles of these widgets it gives the line back as it was. A line
    whose styles are all like that is its own result (`unchanged` remembers the styles seen to
    be, per widget, filter and background). Any other filter is applied as it is.
    """
    if type(line_filter) is not ANSIToTruecolor:
        return line_filter.apply(segments, background)
    if len(unchanged) > _UNCHANGED_MOST:  # styles made per line (a text's offsets): start over
        unchanged.clear()
    for _, style, control in segments:
        if control:
            return line_filter.apply(segments, background)
        if style is None or style in unchanged:
            continue
        color, bgcolor = style.color, style.bgcolor
        if ((color is not None and color.triplet is None)
                or (bgcolor is not None and bgcolor.triplet is None)
                or (style.dim and color is not None)):
            return line_filter.apply(segments, background)  # the filter changes this one
        unchanged.add(style)
    return segments


class DirectLines:
    """Mixin for a Line-API `Widget`: `render_lines` joins each content row with the border
    and padding edges and keeps the finished line while `render_line` returns the same strip."""

    _direct_plan: _Plan | None = None
    _direct_lines: dict[int, tuple[Strip, tuple[object, ...], Strip]] | None = None
    _unchanged_styles: dict[LineFilter, set[Style]] | None = None

    @property
    def line_size(self) -> Size:
        """The content area's size, as `Widget.size` gives it, without looking the widget's
        region up on the screen (25 us a call, and `render_line` wants it for every row)."""
        width, height = self.outer_size  # type: ignore[attr-defined]
        plan = self._direct_plan
        if plan is not None and plan[0] == (width, height):  # worked out with this size
            return plan[8]
        gutter = self.styles.gutter  # type: ignore[attr-defined]
        return Size(max(width - gutter.width, 0), max(height - gutter.height, 0))

    def _plan_lines(self) -> _Plan | None:
        """The edges for this size and these styles, or None to take Textual's path."""
        widget = self  # a Widget (the mixin's host)
        styles = widget.styles  # type: ignore[attr-defined]
        if (styles.tint.a or widget.opacity != 1 or styles.text_opacity != 1  # type: ignore
                or styles.has_rule("hatch") or styles.has_rule("outline")):
            return None
        size = widget.outer_size  # type: ignore[attr-defined]
        width, height = size
        gutter = styles.gutter
        content_size = self.line_size
        content_width = content_size.width
        if content_width <= 0 or height <= gutter.height:
            return None
        base_background, background = widget.background_colors  # type: ignore[attr-defined]
        inner = _STYLES.get_inner_outer(base_background, background)[0].rich_style
        app = widget.app  # type: ignore[attr-defined]
        # one content row with blank content, as Textual's styles cache draws it, for its edges
        line = StylesCache().render_line(
            styles, gutter.top, size, content_size, styles.padding, base_background,
            background, lambda y: Strip.blank(content_width, inner), None, None, 1.0,
            app.ansi_theme, app.native_ansi_color)
        left = line.crop(0, gutter.left)
        right = line.crop(width - gutter.right, width)
        return ((width, height), gutter.top, gutter.bottom, content_size.height, left, right,
                inner, background, content_size)

    def render_lines(self, crop: Region) -> list[Strip]:
        """The lines of `crop`: content rows joined here, border and padding rows from
        Textual's styles cache (all of them from there when the styles need it)."""
        widget = self
        plan = self._direct_plan
        size = widget.outer_size  # type: ignore[attr-defined]
        if plan is None or plan[0] != (size.width, size.height):
            plan = self._direct_plan = self._plan_lines()
            self._direct_lines = {}
            self._unchanged_styles = {}  # by filter, for this plan's background
        if plan is None:
            return super().render_lines(crop)  # type: ignore[misc]
        (width, height), top, bottom, content_height, left, right, inner, background, _ = plan
        content_width = width - left.cell_length - right.cell_length
        filters = tuple(widget.app.get_line_filters())  # type: ignore[attr-defined]
        finished = self._direct_lines
        unchanged = self._unchanged_styles
        assert finished is not None and unchanged is not None
        render_line = widget.render_line  # type: ignore[attr-defined]
        strips: list[Strip] = []
        y, end = crop.y, crop.bottom
        while y < end:
            if y < top or y >= height - bottom:  # border or padding rows: Textual's own
                run_end = y + 1
                while run_end < end and (run_end < top or run_end >= height - bottom):
                    run_end += 1
                strips.extend(super().render_lines(  # type: ignore[misc]
                    Region(0, y, width, run_end - y)))
                y = run_end
                continue
            content_y = y - top
            if content_y < content_height:
                content = render_line(content_y)
            else:
                content = Strip.blank(content_width, inner)
            kept = finished.get(y)
            if kept is not None and kept[0] is content and kept[1] == filters:
                strips.append(kept[2])
            else:
                segments = [*left, *content.adjust_cell_length(content_width, inner), *right]
                for line_filter in filters:
                    segments = filtered(line_filter, segments, background,  # type: ignore
                                        unchanged.setdefault(line_filter, set()))
                strip = Strip(segments, width)
                finished[y] = (content, filters, strip)
                strips.append(strip)
            y += 1
        x1, x2 = crop.column_span
        if (x1, x2) != (0, width):
            strips = [strip.crop(x1, x2) for strip in strips]
        return strips

    def refresh(self, *regions: Region, **kwargs: object) -> object:
        """Textual's refresh; a refresh of the whole widget (a style change) works the edges
        out again."""
        if not regions:
            self._restyled()
        return super().refresh(*regions, **kwargs)  # type: ignore[misc]

    def notify_style_update(self) -> None:
        """Styles changed: work the edges out again."""
        super().notify_style_update()  # type: ignore[misc]
        self._restyled()

    def _restyled(self) -> None:
        """The styles, the size or the whole content may have changed: forget the edges (a
        widget keeping rows of its own forgets them here too)."""
        self._direct_plan = None
