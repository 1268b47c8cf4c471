"""MNIST digits remade the way other sources make digits, to measure how recognition generalizes.

Each function takes one (28, 28) MNIST digit (uint8 or float, 0..255, higher = ink) and returns
a new image in 0..255; none of them is ever used for training. `benchmarks/robustness.py` and
the tight-crop tests share them, so both measure the same sets.

* `crop_to_ink`: the digit cut to the box of its visible ink (pixels of at least half ink), as a
  scan cut to the digit: ink touches all four edges.
* `stretch_binarize`: that crop stretched (aspect not kept) to fill 16x16 and thresholded at
  half ink, like binary 16x16 digit sets.
* `downsample`: that crop area-averaged to fit 8x8 (aspect kept, centred), like an 8x8 set.
* `optdigits_like`: that crop made the way UCI optdigits (scikit-learn's `load_digits`) made
  its digits: fitted into a 32x32 box, binarized, ink counted in 4x4 blocks (8x8, 0..16).
* `shrink_to_corner`: the whole digit at 40% of its size in the top-left corner of 28x28.
* `thicken` / `thin`: grey-level dilation / erosion with a 2x2 square (scipy.ndimage).
* `rotate`: turned by a given angle in degrees (linear interpolation).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

#: Pixels at least this inked count as visible ink for `crop_to_ink`.
VISIBLE = 128


def _area_weights(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) float64 area-averaging matrix mapping n_in pixels onto n_out (rows sum 1)."""
    s = n_out / n_in
    i = np.arange(n_in, dtype=np.float64)[None, :]
    j = np.arange(n_out, dtype=np.float64)[:, None]
    w = np.clip(np.minimum(j + 1.0, (i + 1.0) * s) - np.maximum(j, i * s), 0.0, None)
    return w / w.sum(axis=1, keepdims=True)


def resize_area(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """(H, W) 0..255 -> (height, width) float64 0..255 by area averaging (each output pixel the
    mean of what it covers; clipped, so rounding never leaves 0..255)."""
    x = np.asarray(image, dtype=np.float64)
    out = _area_weights(x.shape[0], height) @ x @ _area_weights(x.shape[1], width).T
    return np.clip(out, 0.0, 255.0)


def crop_to_ink(digit: np.ndarray) -> np.ndarray:
    """(28, 28) -> (h, w) uint8: the box of pixels >= VISIBLE (the whole digit if none is)."""
    d = np.asarray(digit)
    mask = d >= VISIBLE
    if not mask.any():
        mask = d > 0
    if not mask.any():
        return d.astype(np.uint8)
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return d[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].astype(np.uint8)


def stretch_binarize(digit: np.ndarray, side: int = 16) -> np.ndarray:
    """(28, 28) -> (side, side) bool: `crop_to_ink` stretched to fill the square, >= half ink."""
    crop = crop_to_ink(digit).astype(np.float64)
    zoom = (side / crop.shape[0], side / crop.shape[1])
    big = ndimage.zoom(crop, zoom, order=1, grid_mode=True, mode="nearest")
    return big[:side, :side] >= VISIBLE


def downsample(digit: np.ndarray, side: int = 8) -> np.ndarray:
    """(28, 28) -> (side, side) float64 0..255: `crop_to_ink` area-averaged to fit, centred."""
    crop = crop_to_ink(digit)
    h, w = crop.shape
    long_side = max(h, w)
    hh, ww = max(1, round(side * h / long_side)), max(1, round(side * w / long_side))
    out = np.zeros((side, side))
    r0, c0 = (side - hh) // 2, (side - ww) // 2
    out[r0 : r0 + hh, c0 : c0 + ww] = resize_area(crop, hh, ww)
    return out


def optdigits_like(digit: np.ndarray, grow: int = 0) -> np.ndarray:
    """(28, 28) -> (8, 8) float64 0..255: the optdigits recipe applied to `crop_to_ink`.

    The crop is scaled (linear, aspect kept) so its long side is 32 px, centred in a 32x32 box
    and thresholded at half ink; `grow` dilates that bitmap by so many pixels, for pens
    bolder than MNIST's. Each 4x4 block's count of ink pixels (0..16) is the 8x8 image, scaled
    to 0..255 as `benchmarks/robustness.py` scales `load_digits`.
    """
    crop = crop_to_ink(digit).astype(np.float64)
    h, w = crop.shape
    long_side = max(h, w)
    hh, ww = max(1, round(32 * h / long_side)), max(1, round(32 * w / long_side))
    big = ndimage.zoom(crop, (hh / h, ww / w), order=1, grid_mode=True, mode="nearest")
    box = np.zeros((32, 32), dtype=bool)
    r0, c0 = (32 - hh) // 2, (32 - ww) // 2
    box[r0 : r0 + hh, c0 : c0 + ww] = big[:hh, :ww] >= VISIBLE
    if grow:
        box = ndimage.binary_dilation(box, iterations=grow)  # plus-shaped: 1 px each way
    return box.reshape(8, 4, 8, 4).sum(axis=(1, 3)) * (255.0 / 16.0)


def shrink_to_corner(digit: np.ndarray, scale: float = 0.4) -> np.ndarray:
    """(28, 28) -> (28, 28) float64: the digit area-averaged to `scale` of its size, top left."""
    n = max(1, round(28 * scale))
    out = np.zeros((28, 28))
    out[:n, :n] = resize_area(digit, n, n)
    return out


def thicken(digit: np.ndarray) -> np.ndarray:
    """(28, 28) -> (28, 28) float64: grey dilation with a 2x2 square (strokes about 1 px wider)."""
    return ndimage.grey_dilation(np.asarray(digit, dtype=np.float64), size=(2, 2))


def thin(digit: np.ndarray) -> np.ndarray:
    """(28, 28) -> (28, 28) float64: grey erosion with a 2x2 square (strokes about 1 px thinner)."""
    return ndimage.grey_erosion(np.asarray(digit, dtype=np.float64), size=(2, 2))


def rotate(digit: np.ndarray, degrees: float) -> np.ndarray:
    """(28, 28) -> (28, 28) float64 0..255: turned by `degrees` (counter-clockwise), linear."""
    x = ndimage.rotate(np.asarray(digit, dtype=np.float64), degrees, reshape=False, order=1)
    return np.clip(x, 0.0, 255.0)
