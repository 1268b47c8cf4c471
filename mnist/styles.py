"""A handwriting style made from MNIST digits by a fixed transformation, to test teaching.

`engineers_hand(images, labels)` writes four digits the way many engineers and programmers do,
so that no two can be mixed up: a slash through the 0 (Ø, never an O or an 8), a bar across
the 7 and across the 2 (a Z-like 2 is not a 7), and a 1 with a flag and a base. The other six
digits are left as they are. MNIST has few or none of these, and the shipped model misreads
many of them: most of all the slashed 0s, about half of which it reads as an 8 (the figures are
in tests/network/test_teach_style.py). None of the four looks like another digit, so a model
can learn them without unlearning MNIST. Being one fixed transformation, "other examples of the
same style" are simply other MNIST digits written over the same way.
"""

from __future__ import annotations

import numpy as np

__all__ = ["STYLED_DIGITS", "stroke", "engineers_hand"]

SIDE = 28
STYLED_DIGITS = (0, 1, 2, 7)  #: the digits the style changes
_INK = 96  #: grey level above which a pixel counts as ink when finding the digit's extent


def stroke(image: np.ndarray, start: tuple[float, float], end: tuple[float, float],
           radius: float = 1.0) -> None:
    """Draw an anti-aliased straight stroke into a (28, 28) float image, in place.

    start, end: (row, col) pixel coordinates; a pixel within `radius` of the segment gets full
    ink (255), fading to none one pixel further out; ink only ever increases (max).
    """
    rows, cols = np.mgrid[0:SIDE, 0:SIDE].astype(np.float64)
    (r0, c0), (r1, c1) = start, end
    dr, dc = r1 - r0, c1 - c0
    length2 = dr * dr + dc * dc or 1.0
    t = np.clip(((rows - r0) * dr + (cols - c0) * dc) / length2, 0.0, 1.0)
    distance = np.hypot(rows - (r0 + t * dr), cols - (c0 + t * dc))
    ink = np.clip(radius + 0.5 - distance, 0.0, 1.0) * 255.0
    np.maximum(image, ink, out=image)


def _restyle(x: np.ndarray, digit: int) -> None:
    """Add the style's strokes for `digit` to one (28, 28) float image, in place."""
    ink = x > _INK
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    if rows.size == 0:
        return
    top, bottom, left, right = rows[0], rows[-1], cols[0], cols[-1]

    def centre(row: float) -> float:
        """Mean ink column on a row (the middle of the box if that row has none)."""
        found = np.flatnonzero(ink[int(round(row))])
        return float(found.mean()) if found.size else (left + right) / 2.0

    if digit == 0:  # a slash from below the bottom left to above the top right
        stroke(x, (bottom + 3, left - 3), (top - 3, right + 3))
    elif digit in (2, 7):  # a bar across the middle of the stroke
        row = (top + bottom) / 2.0 + (1 if digit == 7 else 0)
        col = centre(row)
        half = 6 if digit == 7 else 5
        stroke(x, (row, col - half), (row, col + half))
    elif digit == 1:  # a flag at the top and a base at the bottom
        height = bottom - top
        col = centre(top)
        stroke(x, (top, col), (top + 0.35 * height, col - 0.35 * height))
        col = centre(bottom)
        stroke(x, (bottom, col - 6), (bottom, col + 6))


def engineers_hand(images: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(N, 28, 28) uint8 digits with the 0s, 1s, 2s and 7s (by `labels`, (N,)) written over in
    the style; the others copied unchanged. Returns a new uint8 array."""
    images = np.asarray(images)
    out = np.array(images, dtype=np.uint8, copy=True)
    for i, digit in enumerate(np.asarray(labels)):
        if int(digit) in STYLED_DIGITS:
            x = images[i].astype(np.float64)
            _restyle(x, int(digit))
            out[i] = np.clip(np.rint(x), 0, 255).astype(np.uint8)
    return out
