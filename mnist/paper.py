"""Paper and ink: which pixels of an image are background, and at what level.

An image of a digit holds two populations of grey levels, paper and ink. Otsu's method splits a
histogram h(v) (v = 0..255, p(v) = h(v) / N) at the level t that maximizes the variance between
the two classes {v <= t} and {v > t}:

    w0(t) = sum_{v<=t} p(v),   mu0(t) = sum_{v<=t} v p(v) / w0(t),   mu1(t) likewise for v > t,
    sigma_b^2(t) = w0(t) (1 - w0(t)) (mu1(t) - mu0(t))^2.

For an ink image (higher = ink), the paper is the lower class wherever it lies in the image, so
a digit cropped tight to its ink (ink on all four edges, most of the border inked) still has a
paper level. The level is the median of that class, and also no more than the median of the
1-pixel border when the image is big enough to have one: the border is paper in any image with
a margin, and it catches the one case where the lower class is not pure paper, a small grey
image (an 8x8 downsample) whose lower class is mostly partly inked pixels. An image whose
levels all fall in one 1-level bin has no split; its one level is then the paper level (and the
image is blank, or all ink).

`light_is_paper` decides the polarity of a PGM (which class is paper) from the four corners and
the border together, since a tight crop's corners are nearly always paper.
"""

from __future__ import annotations

import numpy as np

#: The border is taken into account only for images at least this big on both sides.
MIN_BORDER_SIDE = 8
#: Images with more pixels than this are estimated from a regular grid of about this many.
_MAX_SAMPLES = 1 << 18


def _sample(image: np.ndarray) -> np.ndarray:
    """(H, W) any real dtype -> float64 values clipped to 0..255, every k-th row and column."""
    h, w = image.shape
    k = max(1, int(np.ceil(np.sqrt(h * w / _MAX_SAMPLES))))
    return np.clip(image[::k, ::k].astype(np.float64), 0.0, 255.0)


def _border(image: np.ndarray) -> np.ndarray:
    """The 1-pixel border of an (H, W) image as a 1-D float64 array (each pixel once)."""
    if min(image.shape) <= 2:
        return image.astype(np.float64).ravel()
    return np.concatenate(
        (image[0], image[-1], image[1:-1, 0], image[1:-1, -1])
    ).astype(np.float64)


def otsu_split(values: np.ndarray) -> float | None:
    """Otsu's two-class split of values in 0..255 (any shape) in 1-level bins.

    Returns the level t such that {v < t} and {v >= t} are the two classes (t is a whole
    number), or None when every value falls in a single bin (nothing to split).
    """
    counts = np.bincount(np.clip(values, 0, 255).astype(np.intp).ravel(), minlength=256)
    counts = counts.astype(np.float64)
    n0 = np.cumsum(counts)[:-1]  # class 0 = bins 0..t, for t = 0..254
    s0 = np.cumsum(counts * np.arange(256.0))[:-1]
    n, total = n0[-1] + counts[-1], s0[-1] + counts[-1] * 255.0
    # sigma_b^2 * n^2 = (total * n0 - n * s0)^2 / (n0 * n1); the numerator is 0 where a class
    # is empty, so the denominator's floor of 1 only avoids dividing 0 by 0.
    between = (total * n0 - n * s0) ** 2 / np.maximum(n0 * (n - n0), 1.0)
    best = int(np.argmax(between))
    return float(best + 1) if between[best] > 0.0 else None


def _median(values: np.ndarray) -> float:
    """The upper median of a non-empty 1-D array (an element of it, so levels stay exact)."""
    k = values.size // 2
    return float(np.partition(values, k)[k])


def paper_level(image: np.ndarray) -> float:
    """The paper level of an (H, W) ink image (higher = ink, 0..255): a float in 0..255.

    The median of Otsu's lower class (of all pixels, or a regular grid of them for big images),
    capped by the median of the 1-pixel border for images at least MIN_BORDER_SIDE on both
    sides. A 0 paper, as on the canvas and in MNIST, gives exactly 0.
    """
    border = np.inf
    if min(image.shape) >= MIN_BORDER_SIDE:
        edge, lowest = _border(image), image.min()
        if 0 <= lowest <= 255 and 2 * np.count_nonzero(edge == lowest) > edge.size:
            # more than half of the border at the image's lowest level (a 0 paper, as on the
            # canvas): that level is the border's median and nothing is lower; no need to sort
            return float(lowest)
        border = _median(np.clip(edge, 0.0, 255.0))
        if border <= lowest:  # nothing is lower: no need to split
            return border
    values = _sample(image).ravel()
    split = otsu_split(values)
    return min(border, _median(values if split is None else values[values < split]))


def light_is_paper(image: np.ndarray) -> bool:
    """True when the paper of an (H, W) grey image (0..255, any polarity) is light.

    The mean level of the four corner pixels and the mean level of the 1-pixel border, averaged,
    is at least mid-grey (127.5). The border alone misleads on a digit cropped tight to its ink,
    where ink touches all four edges and can cover most of the border; the corners of such a
    crop are nearly always paper. A uniform image reads as blank either way.
    """
    corners = image[[0, 0, -1, -1], [0, -1, 0, -1]].astype(np.float64)
    level = (float(corners.mean()) + float(_border(image).mean())) / 2.0
    return level >= 127.5
