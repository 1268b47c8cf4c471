"""The Paint screen's canvas model: a 28x28 grid of ink, a soft brush, strokes and undo.

No Textual here; the widget wraps a `Drawing`. Conventions:

* Pixels are a (28, 28) uint8 array, 0 = paper, 255 = full ink (MNIST's convention);
  `Drawing.pixels` is a read-only view.
* Every mutating method returns the `Box` (half-open ``top, left, bottom, right``) that bounds the
  cells whose value actually changed, or None if nothing changed, so the widget can refresh only
  that region.
* The widget calls ``begin_stroke(); paint(r, c)`` on mouse-down, ``line_to(r, c)`` on drag and
  ``end_stroke()`` on mouse-up; one stroke is one undo step. A paint/erase/line_to outside a
  stroke is its own undo step. Cells off the grid are clipped, never an error.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from mnist import SIDE
from mnist.errors import MnistError

UNDO_LEVELS = 64
BRUSH_SIZES = (1, 2, 3)
# Per brush size: (radius of full ink, radius where ink reaches 0). Size 1 gives a 255 centre,
# 157 on the four neighbours and 76 on the diagonals: a soft ~2 px stroke like MNIST's.
_BRUSH_RADII = {1: (0.5, 1.8), 2: (1.0, 2.3), 3: (1.5, 2.8)}


class Box(NamedTuple):
    """Half-open cell rectangle: rows top..bottom-1, columns left..right-1."""

    top: int
    left: int
    bottom: int
    right: int

    def union(self, other: Box | None) -> Box:
        """Smallest Box holding both (`other` may be None)."""
        if other is None:
            return self
        return Box(
            min(self.top, other.top),
            min(self.left, other.left),
            max(self.bottom, other.bottom),
            max(self.right, other.right),
        )


FULL = Box(0, 0, SIDE, SIDE)


def _union(a: Box | None, b: Box | None) -> Box | None:
    """Union of two optional boxes."""
    return b if a is None else a.union(b)


def brush_kernel(size: int) -> np.ndarray:
    """(2r+1, 2r+1) uint8 soft-brush footprint for brush `size` 1..3: 255 at the centre.

    Ink falls off linearly with distance between the full-ink radius and the outer radius.
    """
    if size not in _BRUSH_RADII:
        raise MnistError(f"brush size must be one of {BRUSH_SIZES}, got {size!r}")
    full, outer = _BRUSH_RADII[size]
    r = int(np.ceil(outer)) - 1
    d = np.hypot(*np.mgrid[-r : r + 1, -r : r + 1])
    ink = np.clip((outer - d) / (outer - full), 0.0, 1.0)
    return np.rint(ink * 255.0).astype(np.uint8)


_KERNELS = {size: brush_kernel(size) for size in BRUSH_SIZES}


def _changed_box(before: np.ndarray, after: np.ndarray, top: int, left: int) -> Box | None:
    """Box (in grid coordinates) of cells that differ between two same-shape patches."""
    rows, cols = np.nonzero(before != after)
    if rows.size == 0:
        return None
    return Box(
        top + int(rows.min()),
        left + int(cols.min()),
        top + int(rows.max()) + 1,
        left + int(cols.max()) + 1,
    )


class Drawing:
    """A 28x28 uint8 canvas with a soft brush, Bresenham strokes and (64-level) undo."""

    def __init__(self, brush_size: int = 1) -> None:
        """Start with a blank canvas and the given brush size (1..3)."""
        self._px = np.zeros((SIDE, SIDE), dtype=np.uint8)
        self._undo: deque[np.ndarray] = deque(maxlen=UNDO_LEVELS)
        self._snapshot: np.ndarray | None = None  # canvas at begin_stroke, while a stroke is open
        self._last: tuple[int, int] | None = None  # last stamped point of the current stroke
        # (point, erase, brush size) of the stamp that ended the last line_to, while no other
        # change has been made since: stamping there again would change nothing
        self._line_end: tuple[tuple[int, int], bool, int] | None = None
        self.brush_size = brush_size

    # -- state ---------------------------------------------------------------------------------
    @property
    def pixels(self) -> np.ndarray:
        """(28, 28) uint8 read-only view of the canvas (0 = paper, 255 = ink)."""
        view = self._px.view()
        view.flags.writeable = False
        return view

    @property
    def brush_size(self) -> int:
        """Brush size 1..3 (footprints 3x3, 5x5, 5x5 with a larger full-ink core)."""
        return self._brush_size

    @brush_size.setter
    def brush_size(self, size: int) -> None:
        """Set the brush size; anything but 1, 2 or 3 raises MnistError."""
        if size not in _KERNELS:
            raise MnistError(f"brush size must be one of {BRUSH_SIZES}, got {size!r}")
        self._brush_size = int(size)

    @property
    def is_empty(self) -> bool:
        """True when no cell holds any ink."""
        return not self._px.any()

    @property
    def can_undo(self) -> bool:
        """True when `undo` would restore something (an open stroke counts if it changed ink)."""
        if self._snapshot is not None and not np.array_equal(self._snapshot, self._px):
            return True
        return bool(self._undo)

    # -- strokes and undo ----------------------------------------------------------------------
    def begin_stroke(self) -> None:
        """Open a stroke: later changes up to `end_stroke` form one undo step."""
        self.end_stroke()
        self._snapshot = self._px.copy()
        self._last = None

    def end_stroke(self) -> None:
        """Close the open stroke (if any); it becomes an undo step if it changed the canvas."""
        if self._snapshot is not None and not np.array_equal(self._snapshot, self._px):
            self._undo.append(self._snapshot)
        self._snapshot = None

    def undo(self) -> Box | None:
        """Restore the canvas as it was before the last stroke; returns the changed Box."""
        self.end_stroke()
        if not self._undo:
            return None
        before = self._px.copy()
        self._px[...] = self._undo.pop()
        self._last = self._line_end = None
        return _changed_box(before, self._px, 0, 0)

    def _edit(self, action: Callable[..., Box | None], *args: object) -> Box | None:
        """Run `action(*args)` inside the open stroke, or as a one-call stroke of its own."""
        if self._snapshot is not None:
            return action(*args)
        self._snapshot = self._px.copy()
        try:
            return action(*args)
        finally:
            self.end_stroke()

    # -- painting ------------------------------------------------------------------------------
    def _stamp(self, row: int, col: int, erase: bool) -> Box | None:
        """Apply the brush at (row, col), clipped to the grid; returns the changed Box."""
        kernel = _KERNELS[self._brush_size]
        r = kernel.shape[0] // 2
        top, left = max(row - r, 0), max(col - r, 0)
        bottom, right = min(row + r + 1, SIDE), min(col + r + 1, SIDE)
        if top >= bottom or left >= right:
            return None
        k = kernel[top - row + r : bottom - row + r, left - col + r : right - col + r]
        patch = self._px[top:bottom, left:right]
        before = patch.copy()
        if erase:
            patch[k > 0] = 0
        else:
            np.maximum(patch, k, out=patch)
        return _changed_box(before, patch, top, left)

    def paint(self, row: int, col: int) -> Box | None:
        """Stamp ink at (row, col) (max with existing ink); returns the changed Box."""
        self._last, self._line_end = (int(row), int(col)), None
        return self._edit(self._stamp, int(row), int(col), False)

    def erase(self, row: int, col: int) -> Box | None:
        """Set the brush footprint at (row, col) to 0 (hard edge); returns the changed Box."""
        self._last, self._line_end = (int(row), int(col)), None
        return self._edit(self._stamp, int(row), int(col), True)

    def line_to(self, row: int, col: int, erase: bool = False) -> Box | None:
        """Stamp every cell on the Bresenham line from the last point to (row, col).

        With no last point this is a single stamp. Points off the grid are fine: only the part
        of the line within reach of the grid is walked. Returns the changed Box.
        The first cell is not stamped again when the last `line_to` ended there with the same
        tool and brush and nothing else changed since (painting takes the maximum and erasing
        sets zeros, so it would change nothing): a drag's step of one cell stamps once, not
        twice.
        """
        end = (int(row), int(col))
        start = self._last if self._last is not None else end
        self._last = end
        cells = line_cells(start, end, margin=2)
        reaches_end = bool(cells) and cells[-1] == end
        if cells and cells[0] == start and self._line_end == (start, erase, self._brush_size):
            cells = cells[1:]
        self._line_end = (end, erase, self._brush_size) if reaches_end else None

        def walk() -> Box | None:
            """Stamp along the clipped line; union of the changed boxes."""
            box = None
            for r, c in cells:
                box = _union(box, self._stamp(r, c, erase))
            return box

        return self._edit(walk)

    def clear(self) -> Box | None:
        """Erase everything (one undo step); returns the changed Box or None if already empty."""
        if self.is_empty:
            return None
        return self.load(np.zeros((SIDE, SIDE), dtype=np.uint8))

    def load(self, image: np.ndarray) -> Box | None:
        """Put a (28, 28) image (any real dtype, 0..255 ink, clipped and rounded) on the canvas.

        One undo step. NaN/inf or a wrong shape raise MnistError. Returns the changed Box.
        """
        arr = np.asarray(image)
        if arr.shape != (SIDE, SIDE) or arr.dtype.kind not in "biuf":
            raise MnistError(
                f"can only load a {SIDE}x{SIDE} real image, got {arr.dtype} {arr.shape}"
            )
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            raise MnistError("cannot load an image containing NaN or infinite values")
        if arr.dtype.kind == "b":
            arr = arr.astype(np.uint8) * 255
        new = np.rint(np.clip(arr.astype(np.float64), 0.0, 255.0)).astype(np.uint8)
        self.begin_stroke()
        before = self._px.copy()
        self._px[...] = new
        self.end_stroke()
        self._last = self._line_end = None
        return _changed_box(before, self._px, 0, 0)


def line_cells(
    start: tuple[int, int], end: tuple[int, int], margin: int = 0
) -> list[tuple[int, int]]:
    """Cells (row, col) of the Bresenham line start..end (both included), in order from start.

    Only cells within `margin` of the 28x28 grid are returned, and only that part of the line
    is walked, so a far-away end point costs nothing.
    """
    (r0, c0), (r1, c1) = start, end
    dr, dc = r1 - r0, c1 - c0
    n = max(abs(dr), abs(dc))
    if n == 0:
        lo, hi = -margin, SIDE - 1 + margin
        return [(r0, c0)] if lo <= r0 <= hi and lo <= c0 <= hi else []
    k_lo, k_hi = 0, n
    lo, hi = -margin - 1, SIDE + margin  # one cell of slack for rounding
    for p0, d in ((r0, dr), (c0, dc)):
        # p0 + k*d/n must stay within [lo, hi]: intersect the k ranges.
        if d == 0:
            if not lo <= p0 <= hi:
                return []
            continue
        a, b = (lo - p0) * n, (hi - p0) * n  # k*d in [a, b]
        if d < 0:
            a, b, d = -b, -a, -d
        k_lo, k_hi = max(k_lo, -(-a // d)), min(k_hi, b // d)
    cells = []
    lo, hi = -margin, SIDE - 1 + margin
    for k in range(k_lo, k_hi + 1):
        r = r0 + (2 * k * dr + n) // (2 * n)
        c = c0 + (2 * k * dc + n) // (2 * n)
        if lo <= r <= hi and lo <= c <= hi:
            cells.append((r, c))
    return cells
