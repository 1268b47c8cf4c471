"""A small grey image widget, and the grey palette it shares with the paint grid.

`Preview` draws any 28x28 image (uint8 or float, 0..255 ink) in 28 columns by 14 rows: each
terminal cell holds two pixels, the upper half block "▀" coloured with the top pixel and its
background with the bottom one. The Paint screen uses it for "what the network sees" (the
normalized drawing); the Evaluate screen can use it for misclassified test digits.

`GreyPalette` maps grey levels to Rich styles for the current theme: level 0 is the paper colour,
255 the ink colour, in between a linear blend. Index 256 is "guide paper", a faint tint used by
the grid for the central 20x20 area. Styles are built once per (paper, ink) pair; half-block
pair styles are made on first use and cached.

ANSI themes (ansi-dark, ansi-light) give paper and ink as the terminal's own colours, which
cannot be blended: Textual's blend of two ANSI colours is the second one, so every level came out
as the terminal's default colour and the drawing, the guide and the preview were invisible. With
an ANSI paper or ink the palette uses the terminal's four greys instead (`ANSI_GREYS`): paper,
guide, light ink and full ink, from dark to light in a dark theme and the other way in a light one.
"""

from __future__ import annotations

from itertools import groupby

import numpy as np
from rich.color import Color as RichColor
from rich.segment import Segment
from rich.style import Style
from textual.color import Color
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget

from mnist import SIDE
from tui.widgets.lines import DirectLines
from tui.widgets.repaint import repaint

GUIDE = 256
"""Palette index of the faint guide tint (blank pixels inside the central 20x20 area)."""
_GUIDE_MIX = 0.09
_PAIRS = GUIDE + 1  # palette indices: a (top, bottom) pair is top * _PAIRS + bottom
UPPER_HALF = "▀"
LOWER_HALF = "▄"
_RUNS_KEPT = 1 << 16  # run segments a palette keeps (a few hundred are in use)
ANSI_GREYS = tuple(Color.parse(name) for name in
                   ("ansi_black", "ansi_bright_black", "ansi_white", "ansi_bright_white"))
"""The terminal's greys, darkest first: in a dark ANSI theme paper, guide, light ink, ink."""
ANSI_LIGHT_INK_FROM = 43
"""With ANSI greys, levels from here to `ANSI_INK_FROM` show as light ink, lower ones as paper."""
ANSI_INK_FROM = 171
"""With ANSI greys, levels from here up show as ink."""
READABLE_CONTRAST = 3.0
"""The least contrast of a mark over a grey cell (`readable_on`): WCAG's for graphical objects."""
BLACK, WHITE = RichColor.from_rgb(0, 0, 0), RichColor.from_rgb(255, 255, 255)

Runs = tuple[tuple[int, int], ...]
"""A row as runs of equal cells: (palette code, cells) from left to right."""


def runs_of(codes: list[int]) -> Runs:
    """The runs of equal codes in a row, left to right."""
    return tuple((code, sum(1 for _ in group)) for code, group in groupby(codes))


def pair_codes(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    """Palette indices of the pixels shown in the upper and lower halves of cells (same shape)
    -> each cell's half-block pair code, top * 257 + bottom (int32)."""
    return top.astype(np.int32) * _PAIRS + bottom


def half_block_runs(indices: np.ndarray) -> list[Runs]:
    """A (2H, W) image of palette indices (uint8 levels, or up to GUIDE) -> the H rows of
    half-block cells it is shown in, as runs of pair codes."""
    return [runs_of(row) for row in pair_codes(indices[0::2], indices[1::2]).tolist()]


class GreyPalette:
    """257 theme colours (256 grey levels plus the guide tint) as cached Rich styles."""

    def __init__(self, paper: Color, ink: Color, dark: bool = True) -> None:
        """Blend `paper` (level 0) to `ink` (level 255); index 256 is paper tinted a little.
        If either is an ANSI colour, the terminal's greys instead (`ansi_greys`), ordered for a
        `dark` theme or a light one."""
        self.key = (paper, ink, dark)
        if paper.ansi is not None or ink.ansi is not None:
            colours = ansi_greys(dark)
        else:
            colours = [paper.blend(ink, level / 255.0) for level in range(256)]
            colours.append(paper.blend(ink, _GUIDE_MIX))
        self.colours: list[RichColor] = [c.rich_color for c in colours]
        self.textual_colours = colours
        self.full: list[Style] = [Style(bgcolor=c) for c in self.colours]
        self.pairs: dict[int, Style] = {}  # half-block styles by top * 257 + bottom
        self._cache: dict[tuple[object, ...], Style] = {}
        self._runs: dict[tuple[int, int, bool], Segment] = {}  # see `run_segments`

    def pair(self, top: int, bottom: int) -> Style:
        """Style for an upper-half block: foreground = `top` level, background = `bottom`."""
        return self.pairs.get(top * _PAIRS + bottom) or self.pair_of(top * _PAIRS + bottom)

    def pair_of(self, code: int) -> Style:
        """`pair(top, bottom)` for `code` = top * 257 + bottom, made and kept in `pairs`."""
        top, bottom = divmod(code, _PAIRS)
        style = self.pairs[code] = Style(color=self.colours[top], bgcolor=self.colours[bottom])
        return style

    def run_segments(self, runs: Runs, half_blocks: bool) -> list[Segment]:
        """The segments of a row given as runs of equal cells: half blocks for pair codes
        (`half_block_runs`), or two blank columns a pixel in its grey for levels. Each run's
        segment is made once and kept (a row of a digit has about 7 runs, mostly the same
        ones from row to row and drawing to drawing)."""
        kept = self._runs
        segments = []
        for code, count in runs:
            segment = kept.get((code, count, half_blocks))
            if segment is None:
                if half_blocks:
                    style = self.pairs.get(code) or self.pair_of(code)
                    segment = Segment(UPPER_HALF * count, style)
                else:
                    segment = Segment("  " * count, self.full[code])
                if len(kept) > _RUNS_KEPT:
                    kept.clear()
                kept[(code, count, half_blocks)] = segment
            segments.append(segment)
        return segments

    def over(self, level: int, colour: RichColor, bold: bool = False) -> Style:
        """Style drawing `colour` in front of a cell whose background is grey `level`, made
        readable there (`readable_on`): the grid's cursor, in the tool's colour, over ink of
        about its own lightness (tokyo-night's accent on its ink: contrast 1.03) vanished."""
        key = ("over", level, colour, bold)
        style = self._cache.get(key)
        if style is None:
            background = self.colours[level]
            style = Style(color=readable_on(colour, background), bgcolor=background, bold=bold)
            self._cache[key] = style
        return style


def contrast(first: RichColor, second: RichColor) -> float:
    """The WCAG contrast ratio of two colours with RGB values, 1 (none) to 21."""

    def luminance(colour: RichColor) -> float:
        channels = [c / 255 for c in colour.get_truecolor()]
        r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def readable_on(colour: RichColor, background: RichColor) -> RichColor:
    """`colour`, or if its contrast with `background` is under `READABLE_CONTRAST`, the least
    blend of it towards black (on a light background) or white (on a dark one) that has it.
    ANSI colours are left as they are: their shades are the terminal's."""
    if colour.triplet is None or background.triplet is None:
        return colour
    if contrast(colour, background) >= READABLE_CONTRAST:
        return colour
    towards = BLACK if contrast(background, BLACK) > contrast(background, WHITE) else WHITE
    start, end = colour.get_truecolor(), towards.get_truecolor()
    for mix in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
        blended = RichColor.from_rgb(*(a + (b - a) * mix for a, b in zip(start, end, strict=True)))
        if contrast(blended, background) >= READABLE_CONTRAST:
            return blended
    return towards  # its contrast with the background is 4.6 or more


def ansi_greys(dark: bool) -> list[Color]:
    """The 257 palette colours (levels 0..255, then the guide) in the terminal's four ANSI greys:
    paper, guide, light ink (levels `ANSI_LIGHT_INK_FROM`..`ANSI_INK_FROM` - 1) and ink, from
    black up in a `dark` theme, from bright white down in a light one."""
    paper, guide, light, ink = ANSI_GREYS if dark else ANSI_GREYS[::-1]
    levels = [paper] * ANSI_LIGHT_INK_FROM + [light] * (ANSI_INK_FROM - ANSI_LIGHT_INK_FROM)
    return [*levels, *[ink] * (256 - ANSI_INK_FROM), guide]


class GreyPaletteMixin(DirectLines):
    """For widgets drawing grey pixels: `grey_palette(component)` follows the theme.

    The component class gives the colours: `background` is the paper, `color` the ink. Such a
    widget (the preview, the paint grid) keeps each row's strip until its pixels change, so it
    also draws its finished lines itself (`DirectLines`).
    """

    _grey_palette: GreyPalette | None = None
    _grey_component: str | None = None  # whose colours `_grey_palette` has, until restyled

    def grey_palette(self, component: str) -> GreyPalette:
        """The palette for the component's current colours (the same object until they change).

        Looked up again only after a style change (`_restyled`): asked for every row drawn,
        the component's styles took about 10 us each time."""
        if component == self._grey_component and self._grey_palette is not None:
            return self._grey_palette
        styles = self.get_component_styles(component)  # type: ignore[attr-defined]
        key = (styles.background, styles.color, self.app.current_theme.dark)  # type: ignore
        if self._grey_palette is None or self._grey_palette.key != key:
            self._grey_palette = GreyPalette(*key)
        self._grey_component = component
        return self._grey_palette

    def _restyled(self) -> None:
        """Styles may have changed: look the component's colours up again."""
        super()._restyled()
        self._grey_component = None


def as_levels(image: np.ndarray | None) -> np.ndarray:
    """A (28, 28) image of any real dtype, 0..255 (or None for blank) -> (28, 28) uint8 levels."""
    if image is None:
        return np.zeros((SIDE, SIDE), dtype=np.uint8)
    arr = np.asarray(image)
    if arr.shape != (SIDE, SIDE) or arr.dtype.kind not in "biuf":
        raise ValueError(f"a preview needs a 28x28 real image, got {arr.dtype} {arr.shape}")
    if arr.dtype == np.uint8:
        return arr.copy()
    values = np.nan_to_num(arr.astype(np.float64), nan=0.0, posinf=255.0, neginf=0.0)
    if arr.dtype.kind == "b":
        values *= 255.0
    return np.rint(np.clip(values, 0.0, 255.0)).astype(np.uint8)


def preview_rows(image: np.ndarray | None) -> tuple[np.ndarray, list[Runs]]:
    """What a `Preview` shows for a 28x28 image (any real dtype, 0..255; None for blank): its
    (28, 28) uint8 levels and their 14 rows of half-block runs. Touches no widget: a thread
    may make them (`Preview.show_levels` shows them)."""
    levels = as_levels(image)
    return levels, half_block_runs(levels)


def half_block_strip(palette: GreyPalette, top: np.ndarray, bottom: np.ndarray) -> Strip:
    """One terminal row showing two pixel rows (int arrays of palette indices) as "▀" cells."""
    codes = pair_codes(top, bottom).tolist()
    return Strip(palette.run_segments(runs_of(codes), True), len(codes))


def pixel_strip(palette: GreyPalette, levels: np.ndarray) -> Strip:
    """One terminal row showing a pixel row (int palette indices), two blank columns per pixel."""
    codes = levels.tolist()
    return Strip(palette.run_segments(runs_of(codes), False), 2 * len(codes))


def image_strip(
    palette: GreyPalette,
    indices: np.ndarray,
    y: int,
    compact: bool,
    cursor: tuple[int, int] | None = None,
    cursor_colour: RichColor | None = None,
) -> Strip:
    """Terminal row `y` of an (H, W) image of palette indices, with an optional cursor over it.

    Compact: pixel rows 2y and 2y+1 as half blocks, the cursor's half of its cell a half block in
    `cursor_colour`. Full: pixel row y, two columns per pixel, the cursor a bold "[]".
    """
    if compact:
        top, bottom = indices[2 * y], indices[2 * y + 1]
        strip = half_block_strip(palette, top, bottom)
    else:
        strip = pixel_strip(palette, indices[y])
    if cursor is None or cursor_colour is None or cursor[0] // (2 if compact else 1) != y:
        return strip
    row, col = cursor
    if not compact:
        style = palette.over(int(indices[row, col]), cursor_colour, bold=True)
        cell, cut, width = Segment("[]", style), 2 * col, 2
    else:  # the cursor's half in its colour, the other half keeps its grey
        glyph, other = (UPPER_HALF, bottom) if row % 2 == 0 else (LOWER_HALF, top)
        cell = Segment(glyph, palette.over(int(other[col]), cursor_colour))
        cut, width = col, 1
    left, _, right = strip.divide([cut, cut + width, strip.cell_length])
    return Strip.join([left, Strip([cell], width), right])


class Preview(GreyPaletteMixin, Widget):
    """A 28x28 grey image in 28x14 cells (half blocks), theme coloured; `set_image` to change."""

    DEFAULT_CSS = """
    Preview {
        width: auto;
        height: auto;
        border: round $primary-muted;
        border-title-color: $text-muted;
        border-title-align: center;
    }
    Preview > .preview--paper {
        background: $surface;
        color: $foreground;
    }
    """
    COMPONENT_CLASSES = {"preview--paper"}

    def __init__(
        self,
        image: np.ndarray | None = None,
        title: str = "",
        *,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """A preview of `image` (28x28, 0..255; None = blank) with an optional border title."""
        super().__init__(id=id, classes=classes)
        self._levels, self._runs = preview_rows(image)  # the runs: the rows' cells
        self._palette: GreyPalette | None = None  # the one the cached rows were drawn with
        self._rows: dict[int, Strip] = {}
        if title:
            self.border_title = title

    @property
    def levels(self) -> np.ndarray:
        """The (28, 28) uint8 levels shown (a copy)."""
        return self._levels.copy()

    def set_image(self, image: np.ndarray | None) -> None:
        """Show another 28x28 image (any real dtype, 0..255; None clears it).

        Only the terminal rows whose pixels changed are drawn again.
        """
        self.show_levels(*preview_rows(image))

    def show_levels(self, levels: np.ndarray, runs: list[Runs]) -> None:
        """Show (28, 28) uint8 `levels` (kept as they are: not to be changed after), whose
        rows are `runs`: the two as `preview_rows` makes them (a caller may in a thread).

        Only the terminal rows whose cells changed are drawn again.
        """
        before = self._runs
        changed = [y for y in range(SIDE // 2) if runs[y] != before[y]]
        self._levels, self._runs = levels, runs
        if changed:
            width = max(self.line_size.width, SIDE)
            for y in changed:
                self._rows.pop(y, None)
            repaint(self, *(Region(0, y, width, 1) for y in changed))

    def notify_style_update(self) -> None:
        """Theme or CSS changed: draw every row again."""
        super().notify_style_update()
        self._rows.clear()

    def get_content_width(self, container: Size, viewport: Size) -> int:
        """28 columns, one per pixel."""
        return SIDE

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        """14 rows, two pixels per row."""
        return SIDE // 2

    def render_line(self, y: int) -> Strip:
        """Row `y` of 14: pixel rows 2y (top halves) and 2y+1 (bottom halves)."""
        width = self.line_size.width
        if not 0 <= y < SIDE // 2:
            return Strip.blank(width)
        palette = self.grey_palette("preview--paper")
        if palette is not self._palette:
            self._palette = palette
            self._rows.clear()
        strip = self._rows.get(y)
        if strip is None or strip.cell_length != width:
            strip = Strip(palette.run_segments(self._runs[y], True), SIDE)
            strip = self._rows[y] = strip.adjust_cell_length(width)
        return strip
