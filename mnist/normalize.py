"""Make any drawing look like an MNIST digit, the way MNIST itself was made.

MNIST's recipe: take the ink's bounding box, scale it (anti-aliased, aspect ratio kept) so its long
side is 20 px, then place it in the 28x28 field with its centre of mass on the centre. Measured on
the training set, the centre of mass (row, col) in pixel-index coordinates averages (13.99, 14.01)
with a spread of 0.29 px (MNIST shifted by whole pixels), so the target here is index (14, 14).

The centre of mass is `center_of_mass`, in NumPy (recognizing a drawing needs no SciPy). The
resampling is one separable pass, ``W_rows @ ink_box @ W_cols.T`` with (28, n) weight matrices
that also carry the sub-pixel shift, so there is a single interpolation (faster than
`ndimage.zoom` then `ndimage.shift`, which would interpolate twice and, when shrinking, alias
thin strokes instead of averaging):

* shrinking (long side > 20 px): exact area averaging (box filter), so thin strokes stay visible;
* enlarging: linear interpolation between pixel centres, which turns a hard 1-cell canvas stroke
  scaled x2.5 into a soft ~2.5 px stroke like MNIST's;
* enlarging a low-resolution source (an image of at most `SMALL_SOURCE` px a side, as an 8x8 or
  16x16 digit set): cubic B-spline interpolation instead, sharper, so a bold stroke sampled on a
  coarse grid is not widened into a blur (measured on held-out training digits made like such
  sets: see README, "Robustness");
* no scaling (long side exactly 20 px, e.g. an MNIST digit): a whole-pixel shift, as MNIST did,
  so already normalized digits come back bit-exact.

Large images are block-averaged first (in row chunks), so a 4000x4000 scan costs milliseconds.
"""

from __future__ import annotations

import functools

import numpy as np

from mnist import SIDE
from mnist.errors import MnistError
from mnist.paper import paper_level

BOX = 20
CENTRE = 14.0
#: Images at most this many pixels a side are low-resolution sources, enlarged by cubic B-spline
#: interpolation (`_spline_weights`) rather than linearly.
SMALL_SOURCE = 16
#: Zero samples added on each side before the B-spline prefilter: the interpolant of the
#: zero-extended image, to within (2 - sqrt 3) ** 8, about 3e-5 of the ink.
_SPLINE_PAD = 8
#: Images whose ink box is longer than this are block-averaged before the exact resample.
_BLOCK_ABOVE = 4 * BOX


def _check(image: object, what: str = "image") -> np.ndarray:
    """Validate a 2-D real, finite (H, W) array; return it as an ndarray, bool mapped to 0/255."""
    try:
        arr = np.asarray(image)
    except Exception as exc:  # ragged lists and the like
        raise MnistError(f"{what}: not an array ({exc})") from exc
    if arr.dtype.kind not in "biuf":
        raise MnistError(f"{what}: unsupported dtype {arr.dtype} (need bool, int or float)")
    if arr.ndim != 2:
        raise MnistError(f"{what}: expected a 2-D image, got shape {arr.shape}")
    if arr.size == 0:
        raise MnistError(f"{what}: image has no pixels (shape {arr.shape})")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise MnistError(f"{what}: image contains NaN or infinite values")
    if arr.dtype.kind == "b":  # True is full ink
        arr = arr.astype(np.uint8) * np.uint8(255)
    return arr


def _background(arr: np.ndarray) -> float:
    """Paper level of an (H, W) ink image, 0..255: `mnist.paper.paper_level` (Otsu's lower class,
    capped by the border's median), so a digit cropped tight to its ink still has paper."""
    return paper_level(arr)


def _contrast(arr: np.ndarray) -> tuple[float, float]:
    """(paper level, how far the inkiest pixel of an (H, W) image rises above it), both 0..255."""
    bg = _background(arr)
    return bg, max(0.0, min(float(arr.max()), 255.0) - bg)


def is_blank(image: np.ndarray, threshold: float = 32.0) -> bool:
    """True when no pixel of an (H, W) 0..255 ink image rises more than `threshold` grey levels
    above the paper level: no ink contrast anywhere, whatever the border holds.

    Callers show a hint instead of a guess for blank drawings. NaN/inf raise MnistError.
    """
    return _contrast(_check(image))[1] <= threshold


def ink_problem(image: np.ndarray, threshold: float = 32.0) -> str | None:
    """Why an (H, W) 0..255 ink image cannot be recognized, or None when it can.

    Without ink contrast (see `is_blank`) the image is "all ink (no background)" when its one
    level is at least half ink, else "blank (no ink)". An image with contrast is a digit, even
    when ink covers most of it or all of its border. NaN/inf or non-2-D input raises MnistError.
    """
    bg, contrast = _contrast(_check(image))
    if contrast > threshold:
        return None
    if bg >= 128.0:
        return "all ink (no background to tell a digit from)"
    return "blank (no ink)"


def _scale(long_side: int) -> float:
    """Output px per input px for an ink box whose longer side is `long_side` input px."""
    # Very small drawings (a dot, a dash) would otherwise become a cone wider than the field.
    return min(BOX / long_side, (BOX + 5.0) / (long_side + 1.0))


def _cubic_bspline(d: np.ndarray) -> np.ndarray:
    """The cubic B-spline at distances `d` (any shape, in samples): support (-2, 2), peak 2/3."""
    d = np.abs(d)
    return np.where(d < 1.0, 2.0 / 3.0 - d**2 + 0.5 * d**3,
                    np.where(d < 2.0, (2.0 - np.minimum(d, 2.0)) ** 3 / 6.0, 0.0))


def _spline_weights(u: np.ndarray, length: int) -> np.ndarray:
    """(M, length) float64 matrix: cubic B-spline interpolation of `length` samples (centres at
    i + 0.5, zero beyond them), evaluated at the M source coordinates `u`.

    The interpolant passes through every sample: its coefficients solve the tridiagonal system
    (1/6, 2/3, 1/6) on the samples padded with `_SPLINE_PAD` zeros a side.
    """
    coefficients = _spline_prefilter(length)  # (m, length)
    k = np.arange(coefficients.shape[0], dtype=np.float64) - _SPLINE_PAD + 0.5
    return _cubic_bspline(u[:, None] - k[None, :]) @ coefficients


@functools.lru_cache(maxsize=SMALL_SOURCE)
def _spline_prefilter(length: int) -> np.ndarray:
    """(length + 2 `_SPLINE_PAD`, length) read-only float64 matrix taking `length` samples to
    their cubic B-spline coefficients: the inverse of the tridiagonal system (1/6, 2/3, 1/6) on
    the zero-padded samples. The same for every image of that length, so made once."""
    p = _SPLINE_PAD
    m = length + 2 * p
    system = (np.diag(np.full(m, 2.0 / 3.0)) + np.diag(np.full(m - 1, 1.0 / 6.0), 1)
              + np.diag(np.full(m - 1, 1.0 / 6.0), -1))
    coefficients = np.linalg.inv(system)[:, p : p + length].copy()
    coefficients.flags.writeable = False
    return coefficients


def _weights(length: int, s: float, com: float, spline: bool = False) -> np.ndarray:
    """(28, length) float64 matrix resampling one axis of the ink box onto the 28-px field.

    Input pixel i covers [i, i+1); it maps to [t + s*i, t + s*(i+1)) in output coordinates, where
    t puts the input centre of mass `com` (pixel-index coordinates) at output index 14. Shrinking
    (s < 1) area-averages; enlarging interpolates linearly between pixel centres, or, with
    `spline` (a low-resolution source), by cubic B-spline. At s == 1 the shift is rounded to
    whole pixels, so an already normalized digit comes back bit-exact.
    """
    i, centres = _grid(length)
    j, field_centres = _grid(SIDE)
    j, field_centres = j[:, None], field_centres[:, None]
    t = CENTRE + 0.5 - s * (com + 0.5)
    if s == 1.0:
        t = float(np.floor(t + 0.5))
    tail = 0.0 if s < 1.0 else 0.5 * s  # how far linear interpolation spreads past the box
    lo, hi = t - tail, t + s * length + tail
    if hi - lo <= SIDE:  # keep every bit of ink inside the field, even for lopsided shapes
        t += max(0.0, -lo) - max(0.0, hi - SIDE)
    if s < 1.0:
        w = np.minimum(j + 1.0, t + s * (i + 1.0)) - np.maximum(j, t + s * i)
        return np.maximum(w, 0.0, out=w)
    u = (field_centres - t) / s
    if spline and s > 1.0:
        return _spline_weights(u[:, 0], length)
    w = u - centres
    np.abs(w, out=w)
    np.subtract(1.0, w, out=w)
    return np.maximum(w, 0.0, out=w)


@functools.lru_cache(maxsize=64)
def _grid(length: int) -> tuple[np.ndarray, np.ndarray]:
    """Read-only float64 (length,) pixel indices 0, 1, ... and their centres 0.5, 1.5, ...:
    made once per length (each small NumPy call costs microseconds next to 28-element work)."""
    index = np.arange(length, dtype=np.float64)
    centres = index + 0.5
    index.flags.writeable = centres.flags.writeable = False
    return index, centres


def _block_sum(crop: np.ndarray, k: int, bg: float, gain: float) -> np.ndarray:
    """Block-average an (H, W) crop by k x k (zero padded) -> (ceil(H/k), ceil(W/k)) float64.

    Converts to float in row chunks so a huge integer image never exists as float64 in memory.
    """
    h, w = crop.shape
    hb, wb = -(-h // k), -(-w // k)
    out = np.zeros((hb, wb), dtype=np.float64)
    step = max(1, (1 << 20) // max(w, 1) // k) * k
    for r in range(0, h, step):
        part = _ink(crop[r : r + step], bg, gain)
        rows = part.shape[0]
        padded = np.zeros((-(-rows // k) * k, wb * k), dtype=np.float64)
        padded[:rows, :w] = part
        blocks = padded.reshape(-1, k, wb, k).sum(axis=(1, 3))
        out[r // k : r // k + blocks.shape[0]] = blocks
    return out / (k * k)


def _levels(part: np.ndarray) -> np.ndarray:
    """(h, w) any real dtype -> a new float64 array clipped to 0..255 (uint8 is already)."""
    x = part.astype(np.float64)
    if part.dtype != np.uint8:
        np.minimum(np.maximum(x, 0.0, out=x), 255.0, out=x)
    return x


def _ink(part: np.ndarray, bg: float, gain: float) -> np.ndarray:
    """(h, w) any dtype -> float64 ink in 0..255 with the paper level `bg` removed."""
    x = _levels(part)
    if bg > 0.0:
        x -= bg
        x *= gain
        np.maximum(x, 0.0, out=x)
    return x


def center_of_mass(image: np.ndarray) -> tuple[float, float]:
    """(row, col) centre of mass of an (H, W) non-negative image, pixel-index coordinates.

    Returns the geometric centre for an all-zero image. The same sums, in the same order, as
    `scipy.ndimage.center_of_mass`, so the result is bit for bit the same.
    """
    x = np.asarray(image, dtype=np.float64)
    total = x.sum()
    if total <= 0:
        return ((x.shape[0] - 1) / 2.0, (x.shape[1] - 1) / 2.0)
    rows = (x * _grid(x.shape[0])[0][:, None]).sum() / total
    cols = (x * _grid(x.shape[1])[0]).sum() / total
    return (float(rows), float(cols))


def normalize(image: np.ndarray) -> np.ndarray:
    """Turn an (H, W) ink image (any real dtype, 0..255, higher = ink) into an MNIST-style digit.

    Returns a (28, 28) float32 array in [0, 255]: the ink's bounding box scaled to a 20 px long
    side (aspect kept; a source of at most `SMALL_SOURCE` px a side enlarged by cubic B-spline,
    any other linearly) and whole-pixel translated so its centre of mass is at index (14, 14)
    (clamped so no ink leaves the field). Values outside 0..255 are clipped; the paper level
    (`mnist.paper.paper_level`: 0 on the canvas and in MNIST) is removed and the rest stretched
    back to 0..255. An image without ink returns all zeros. Non-2-D, empty, non-real or NaN/inf
    input raises MnistError.
    """
    arr = _check(image)
    out = np.zeros((SIDE, SIDE), dtype=np.float32)
    bg = _background(arr)
    if bg >= 255.0:
        return out
    gain = 255.0 / (255.0 - bg)
    mask = arr > bg
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return out
    cols = np.flatnonzero(mask.any(axis=0))
    crop = arr[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    long_side = max(crop.shape)
    if long_side > _BLOCK_ABOVE:
        x = _block_sum(crop, long_side // (2 * BOX), bg, gain)
        long_side = max(x.shape)
    else:
        x = _ink(crop, bg, gain)
    if x.sum() <= 0.0:
        return out
    com_r, com_c = center_of_mass(x)
    s = _scale(long_side)
    spline = max(arr.shape) <= SMALL_SOURCE
    out = _weights(x.shape[0], s, com_r, spline) @ x @ _weights(x.shape[1], s, com_c, spline).T
    return np.minimum(np.maximum(out, 0.0, out=out), 255.0, out=out).astype(np.float32)


MIN_INK_SPAN = 7
"""Fewest pixels the ink must reach across (`ink_span`) before a drawing is taken for a digit.

A dab of the Paint canvas's brushes spans 3 (size 1) to 5 pixels (size 3), a short tick a pixel
or two more. The smallest digits the app is meant to recognize are MNIST's drawn at half size
(2x2 means, 14x14 at most, as the tests draw them in a corner): of the 10,000 test digits so
shrunk, the narrowest spans 7 pixels, and all but 4 span 10 or more.
"""


def ink_span(image: np.ndarray, threshold: float = 32.0) -> int:
    """How far the ink of an (H, W) 0..255 image reaches: the longer side, in pixels, of the
    bounding box of the pixels more than `threshold` above the paper level (0 when blank).

    The paper level and the scale are those of `normalize` (`mnist.paper.paper_level`).
    NaN/inf or non-2-D input raises MnistError.
    """
    arr = _check(image)
    bg = _background(arr)
    if bg >= 255.0:
        return 0
    ink = _levels(arr)
    ink -= bg
    ink *= 255.0 / (255.0 - bg)
    mask = ink > threshold
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return 0
    return int(max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1))
