"""`optdigits_like` remakes a digit the way UCI optdigits (load_digits) made its 8x8 digits."""

from __future__ import annotations

import numpy as np

from mnist.variants import optdigits_like


def _bar(height: int, width: int) -> np.ndarray:
    """A (28, 28) uint8 image holding one solid height x width block of full ink."""
    image = np.zeros((28, 28), np.uint8)
    image[4 : 4 + height, 4 : 4 + width] = 255
    return image


def test_block_counts_of_the_32x32_bitmap():
    out = optdigits_like(_bar(20, 20))  # fills the 32x32 box: every 4x4 block all ink
    assert out.shape == (8, 8) and np.array_equal(out, np.full((8, 8), 255.0))
    counts = optdigits_like(_bar(20, 5)) * (16.0 / 255.0)  # 32 tall, 8 wide, centred
    assert np.array_equal(counts, np.rint(counts)) and counts.max() == 16.0
    assert np.array_equal(counts.sum(axis=0), [0, 0, 0, 128, 128, 0, 0, 0])


def test_grow_thickens_the_strokes():
    thin, bold = optdigits_like(_bar(20, 5)), optdigits_like(_bar(20, 5), grow=1)
    # one pixel each side of the 8-px-wide bar: 10 columns of 32 rows, in 4-px blocks
    assert bold.sum() * (16.0 / 255.0) == 10 * 32 and thin.sum() * (16.0 / 255.0) == 8 * 32
    assert np.all(bold >= thin)
