"""Input scaling and image shapes: from 0..255 pixels to the float32 rows a network reads.

Every scaling is an affine map x -> x * scale + offset of the 0..255 grey levels:

    original   x / 255 * 0.99 + 0.01        the original app's (no input is exactly 0)
    unit       x / 255                      0..1
    standard   (x / 255 - mean) / std       zero mean, unit variance over MNIST's training set

Images stay uint8 everywhere (47 MB for MNIST's training set instead of 188 MB as float32) and
are converted one batch at a time into a preallocated float32 buffer: a cast, a multiply and an
add, about 20 us for 128 images.
"""

from __future__ import annotations

import math

import numpy as np

from mnist import SIDE
from network.errors import ModelError

__all__ = [
    "MNIST_MEAN",
    "MNIST_STD",
    "SCALINGS",
    "get_scaling",
    "as_rows",
    "scale_into",
]

#: Mean and standard deviation of MNIST's training pixels / 255.
MNIST_MEAN = 0.1306604762738429
MNIST_STD = 0.3081078038564622

#: (scale, offset) of each input scaling, applied to 0..255 grey levels.
SCALINGS: dict[str, tuple[float, float]] = {
    "original": (0.99 / 255.0, 0.01),
    "unit": (1.0 / 255.0, 0.0),
    "standard": (1.0 / (255.0 * MNIST_STD), -MNIST_MEAN / MNIST_STD),
}


def get_scaling(name: str) -> tuple[float, float]:
    """(scale, offset) of the input scaling called `name`; ModelError if unknown."""
    try:
        return SCALINGS[name]
    except (KeyError, TypeError):
        valid = ", ".join(sorted(SCALINGS))
        raise ModelError(f"unknown input scaling {name!r}: choose one of {valid}") from None


def as_rows(images: np.ndarray, n_inputs: int = 784) -> np.ndarray:
    """View images as rows of pixels, without copying when possible.

    Args:
        images: (N, 28, 28), (N, 784), (28, 28) or (784,) pixels (more generally
            (N, ..., ) with n_inputs values per image, or one image of n_inputs values),
            uint8 or any real dtype.
        n_inputs: values per image.

    Returns:
        (N, n_inputs) array of the same dtype; (1, n_inputs) for a single image.

    Raises:
        ModelError: for any other shape or a non-numeric dtype.
    """
    x = np.asarray(images)
    if x.dtype.kind not in "uif" or x.dtype == np.float16:
        raise ModelError(f"images must be uint8 or float pixels, got dtype {x.dtype}")
    single = (x.ndim == 1 and x.size == n_inputs) or (
        x.shape == (SIDE, SIDE) and n_inputs == SIDE * SIDE)
    if single:
        return x.reshape(1, n_inputs)
    if x.ndim >= 2 and math.prod(x.shape[1:]) == n_inputs:
        return x.reshape(x.shape[0], n_inputs)
    raise ModelError(
        f"images must have shape (N, 28, 28), (N, 784), (28, 28) or (784,), got {x.shape}"
    )


def scale_into(rows: np.ndarray, scaling: tuple[float, float], out: np.ndarray) -> np.ndarray:
    """Scale 0..255 pixel rows into a float buffer: out = rows * scale + offset.

    Args:
        rows: (N, D) uint8 or float pixels in 0..255.
        scaling: (scale, offset), see `SCALINGS`.
        out: (N, D) float32 (or float64) buffer, written in place; may be `rows` itself when
            rows is already that float dtype.

    Returns:
        `out`.
    """
    scale, offset = scaling
    dtype = out.dtype.type
    if rows is not out:
        np.copyto(out, rows, casting="unsafe")
    np.multiply(out, dtype(scale), out=out)
    if offset:
        np.add(out, dtype(offset), out=out)
    return out
