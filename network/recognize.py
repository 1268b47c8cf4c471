"""Recognize normalized digits: a model's probabilities averaged over each image and its
one-pixel shifts (test-time augmentation).

A digit drawn by another hand sits a little off where MNIST's digits sit; the network, trained
on MNIST (with small shifts), is most sure of a digit near its usual place. Averaging the
probabilities of the image moved by one pixel up, down, left and right with those of the image
itself evens out where it happens to land. All copies go through ONE `predict_proba` call, so
the cost is one bigger matrix product, not five calls.

`recognize_proba` takes the output of `mnist.normalize.normalize`. It is the one home for this
step: `digits predict`, `digits drawings add`, the Paint canvas and `benchmarks/robustness.py` all
call it; `digits eval` does not (it scores the model itself on the test images as they are).
`read_drawing` (the ink check, then `normalize`) and `recognize_drawings` (those two steps, then
`recognize_proba` on batches) are the one home of the whole sequence for images from outside:
`digits predict` and `benchmarks/robustness.py` call `recognize_drawings`, `digits drawings add`
calls `read_drawing` (it keeps or refuses each image as it reads it, and guesses later, only when
a model loads). The Paint canvas checks its drawings otherwise (a short stroke gets no guess).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

import numpy as np

from mnist.normalize import ink_problem, normalize

K = TypeVar("K")

#: Images `recognize_drawings` normalizes and recognizes together: memory stays flat however many
#: there are.
BATCH = 512

#: (rows, cols) each copy is moved by; (0, 0) is the image itself.
SHIFTS: tuple[tuple[int, int], ...] = ((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1))


@functools.lru_cache(maxsize=8)
def _moves(h: int, w: int) -> tuple[tuple[int, tuple[slice, slice], tuple[slice, slice]], ...]:
    """For (h, w) images: each copy's index in `SHIFTS`, the (rows, cols) it is written to and
    the (rows, cols) it is read from."""
    moves = []
    for k, (dr, dc) in enumerate(SHIFTS):
        rows_to, rows_from = slice(max(0, dr), h + min(0, dr)), slice(max(0, -dr), h + min(0, -dr))
        cols_to, cols_from = slice(max(0, dc), w + min(0, dc)), slice(max(0, -dc), w + min(0, -dc))
        moves.append((k, (rows_to, cols_to), (rows_from, cols_from)))
    return tuple(moves)


def shifted_copies(images: np.ndarray) -> np.ndarray:
    """(N, H, W) images -> (N, len(SHIFTS), H, W) copies of the same dtype, each moved by one
    of `SHIFTS` (whole pixels, zero filled; ink moved past an edge is dropped)."""
    x = np.asarray(images)
    n, h, w = x.shape
    out = np.zeros((n, len(SHIFTS), h, w), dtype=x.dtype)
    for k, (rows_to, cols_to), (rows_from, cols_from) in _moves(h, w):
        out[:, k, rows_to, cols_to] = x[:, rows_from, cols_from]
    return out


def recognize_proba(model: Any, images: np.ndarray) -> np.ndarray:
    """Class probabilities of normalized digits, averaged over `SHIFTS`.

    Args:
        model: anything with `predict_proba((M, 28, 28)) -> (M, K)`, e.g. an `MLP` or `ConvNet`.
        images: (N, 28, 28) 0..255 images, as `mnist.normalize.normalize` returns them.

    Returns:
        (N, K) float64 rows summing to 1 (up to the model's rounding): the mean over the copies.
    """
    x = np.asarray(images)
    copies = shifted_copies(x)
    n, k = copies.shape[:2]
    probabilities = np.asarray(model.predict_proba(copies.reshape(n * k, *x.shape[1:])),
                               dtype=np.float64)
    # the mean over the copies, as np.mean takes it (a sum, then a division) without its
    # Python-level overhead
    return np.add.reduce(probabilities.reshape(n, k, probabilities.shape[-1]), axis=1) / k


def read_drawing(image: np.ndarray) -> np.ndarray | str:
    """An (H, W) 0..255 ink image (higher = ink) -> its (28, 28) float32 normalized form
    (`mnist.normalize.normalize`), or, when it cannot be recognized (blank, all ink), the reason
    (`mnist.normalize.ink_problem`: "blank (no ink)", ...). NaN/inf or non-2-D input raises
    MnistError."""
    problem = ink_problem(image)
    return normalize(image) if problem is None else problem


def recognize_drawings(model: Any, images: Iterable[tuple[K, np.ndarray]], batch: int = BATCH,
                       shifts: bool = True) -> Iterator[tuple[K, np.ndarray | str]]:
    """Recognize (key, (H, W) 0..255 ink image) pairs: `read_drawing`, then `recognize_proba`.

    Yields (key, the reason it cannot be recognized) as soon as an image is read, and (key, its
    (K,) float64 probabilities) once `batch` images that can be are read, or the images end:
    the probabilities come in the images' order, and a refusal comes out ahead of the
    probabilities of the batch it was read in (at once, not held back). Only one
    batch of normalized images is held. `shifts=False` takes the model's own `predict_proba` of
    the normalized image alone instead of `recognize_proba` (the pipeline before the shifts).
    """
    pending: list[tuple[K, np.ndarray]] = []

    def results() -> Iterator[tuple[K, np.ndarray | str]]:
        stack = np.stack([normalized for _, normalized in pending])
        probabilities = (recognize_proba(model, stack) if shifts
                         else np.asarray(model.predict_proba(stack), dtype=np.float64))
        yield from zip([key for key, _ in pending], probabilities, strict=True)
        pending.clear()

    for key, image in images:
        read = read_drawing(image)
        if isinstance(read, str):
            yield key, read
            continue
        pending.append((key, read))
        if len(pending) >= batch:
            yield from results()
    if pending:
        yield from results()
